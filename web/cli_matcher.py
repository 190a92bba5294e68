"""``flask match NEED_ID`` and ``flask matcher evaluate|train``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from flask.cli import AppGroup, with_appcontext

from matcher import LOW_MATCH_THRESHOLD
from matcher.calibration import fit_low_match_threshold, labelled_pairs
from matcher.evaluation import evaluate, load_cases
from models import Region, User, clock
from models.enums import Role
from web.services.matching import active_model, match_need, train_matcher
from web.services.regions import region_label
from web.services.rematch import rematch_open_needs

from .cli import cli_session

CASES = Path(__file__).resolve().parent.parent / "seed" / "eval" / "cases.json"
DEV_CASES = CASES.with_name("dev_cases.json")
matcher_cli = AppGroup("matcher", help="匹配模型：评测与训练。")


def _admin(db: sa.orm.Session) -> User:
    admin = db.scalar(sa.select(User).where(User.role == Role.ADMIN).order_by(User.id).limit(1))
    if admin is None:
        raise click.ClickException("没有管理员账号；请先 flask users create 一个 admin。")
    return admin


@click.command("match")
@with_appcontext
@click.argument("need_id", type=int, required=False)
@click.option("--limit", default=10, show_default=True)
@click.option("--explain", is_flag=True, help="同时列出被排除的项目及原因")
@click.option("--all", "every", is_flag=True, help="重新匹配所有待办需求（可用 --region 限定）")
@click.option("--region", "region_code", default=None, help="与 --all 同用：12 位区划代码")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
def match_command(
    need_id: int | None,
    limit: int,
    explain: bool,
    every: bool,
    region_code: str | None,
    as_json: bool,
) -> None:
    """Rank the ledger projects for one need (NEED_ID), or with ``--all`` re-match every
    waiting need (of ``--region``) and tell the stations whose needs gained projects."""
    if every:
        if need_id is not None:
            raise click.UsageError("--all 与需求编号不能同时使用。")
        _rematch_all(region_code, as_json)
        return
    if need_id is None:
        raise click.UsageError("请给出需求编号，或用 --all 重新匹配所有待办需求。")
    if region_code is not None:
        raise click.UsageError("--region 只与 --all 同用。")
    with cli_session() as db:
        result = match_need(db, _admin(db), need_id, limit=limit, explain=explain)
        ranking = result.ranking
        if as_json:
            payload = {
                "need_id": need_id,
                "model_version": ranking.model,
                "nothing_suitable": ranking.nothing_suitable,
                "items": [
                    {"project_id": m.project.id, "name": m.project.name,
                     "organization": m.project.organization_name,
                     "ledger_level": m.project.ledger_level, "score": round(m.score, 4),
                     "low_match": m.low_match, "reasons": m.reasons}
                    for m in ranking.items
                ],
                "excluded": [
                    {"project_id": e.project.id, "name": e.project.name, "reason": e.reason}
                    for e in ranking.excluded
                ],
            }  # fmt: skip
            click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
            return
        click.echo(f"需求 {need_id}：{result.need.text}")
        click.echo(
            f"候选 {ranking.candidates} 个，排除 {ranking.excluded_count} 个；模型 {ranking.model}"
        )
        for rank_no, m in enumerate(ranking.items, start=1):
            flag = " 低匹配度" if m.low_match else ""
            click.echo(
                f"{rank_no:>2}. {m.score:.3f}{flag}  {m.project.name}"
                f"（{m.project.organization_name}）  {'；'.join(m.reasons)}"
            )
        if ranking.nothing_suitable:
            click.echo("暂无合适的慈善帮扶项目：建议申请临时救助或转报县（区）民政部门。")
        for e in ranking.excluded:
            click.echo(f"    排除  {e.project.name}：{e.reason}")


def _rematch_all(region_code: str | None, as_json: bool) -> None:
    with cli_session() as db:
        label = region_label(db, region_code) if region_code else "全省"
        if region_code is not None and db.get(Region, region_code) is None:
            raise click.BadParameter(f"区划 {region_code} 不存在。", param_hint="--region")
        # The bar goes to stderr so that --json output stays a single document.
        with click.progressbar(length=1, label=f"重新匹配 {label}", file=sys.stderr) as bar:
            state = {"done": 0}

            def progress(done: int, total: int) -> None:
                bar.length = max(total, 1)
                bar.update(done - state["done"])
                state["done"] = done

            result = rematch_open_needs(db, None, region_code=region_code, progress=progress)
    if as_json:
        payload = {"region_code": region_code, **result.counts(),
                   "projects": result.projects,
                   "needs_per_second": round(result.needs_per_second, 1),
                   "stations": [{"station_id": s, "needs": c.needs, "gained_needs": c.gained_needs}
                                for s, c in result.by_station.items()]}  # fmt: skip
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    click.echo(
        f"{label}：重新匹配待办需求 {result.needs} 项（台账项目 {result.projects} 个），"
        f"用时 {result.seconds:.2f} 秒（每秒 {result.needs_per_second:.0f} 项）。"
    )
    if result.baseline:
        click.echo(f"  其中 {result.baseline} 项为首次记录，不作提醒。")
    click.echo(
        f"  有新的合适项目的需求 {result.gained_needs} 项（新出现 {result.gained_projects} 个），"
        f"已通知 {result.stations_notified} 个服务站（{result.users_notified} 人）。"
    )


@matcher_cli.command("evaluate")
@click.option(
    "--cases",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=CASES,
    show_default=True,
    help="评测集文件（格式见 seed/eval/README.md）",
)
@click.option("--active", is_flag=True, help="同时评测数据库中当前启用的模型")
@click.option("--json", "as_json", is_flag=True)
def matcher_evaluate(cases: Path, active: bool, as_json: bool) -> None:
    """NDCG@5, recall@10 and violations@10 of the model and two BM25 baselines; with
    ``--active``, of the model in use (the database's active version) beside them."""
    case_set = load_cases(cases)
    results: dict[str, dict[str, Any]] = dict(evaluate(case_set))
    if active:
        with cli_session() as db:
            in_use = active_model(db)
        results = {
            "model": results["model"],
            "active": {**evaluate(case_set, in_use)["model"], "name": in_use.name},
            **{k: v for k, v in results.items() if k != "model"},
        }
    if as_json:
        click.echo(json.dumps(results, ensure_ascii=False))
        return
    click.echo(f"{'':<16}{'ndcg@5':>10}{'recall@10':>12}{'violations@10':>16}")
    for name, metrics in results.items():
        click.echo(
            f"{name:<16}{metrics['ndcg@5']:>10.3f}{metrics['recall@10']:>12.3f}"
            f"{metrics['violations@10']:>16.3f}"
            + (f"  {metrics['name']}" if "name" in metrics else "")
        )
    for name in ("model", "active"):
        if name in results:
            metrics = results[name]
            click.echo(
                f"{name}：无合适项目的需求中提示“暂无合适”的占 "
                f"{metrics['told_nothing_suitable']:.0%}；最合适（3 分）项目被标为低匹配度的占 "
                f"{metrics['best_shown_low']:.0%}"
            )


@matcher_cli.command("calibrate")
@click.option(
    "--cases",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=DEV_CASES,
    show_default=True,
    help="拟合用的评测集（其余评测集只用于检验）",
)
def matcher_calibrate(cases: Path) -> None:
    """Fit the 低匹配度 threshold on a case file's labelled pairs and print it beside the one
    in use (``matcher.scoring.LOW_MATCH_THRESHOLD``)."""
    fitted = fit_low_match_threshold(labelled_pairs(load_cases(cases)))
    click.echo(f"拟合的低匹配度阈值 {fitted:.3f}；当前使用 {LOW_MATCH_THRESHOLD:.3f}")


@matcher_cli.command("train")
def matcher_train() -> None:
    """Fit a model on referral outcomes; promote it only if it predicts acceptance better than
    the active one and ranks no shipped case file more than 0.01 (NDCG@5) worse."""
    with cli_session() as db:
        result = train_matcher(db, None, clock.today())
    if result.model is None:
        click.echo(result.message)
        return
    click.echo(f"新模型 {result.model.name}，转介结果 {result.outcomes} 条")
    click.echo(
        f"预测接收（留出集 AUC）：新模型 {result.candidate_auc:.3f}，"
        f"当前模型 {result.active_auc:.3f}"
    )
    click.echo(f"{'NDCG@5':<24}{'新模型':>8}{'当前模型':>8}")
    for check in result.case_files:
        click.echo(f"{check.case_file:<24}{check.candidate:>11.3f}{check.active:>12.3f}")
    if result.promoted:
        click.echo("已启用新模型。")
    else:
        click.echo("未启用：" + "；".join(result.refusals) + "。")
