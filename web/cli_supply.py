"""``flask ledger ...`` and ``flask import ...``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from models import LedgerEdition, User, clock
from models.base import utcnow
from web import timing
from web.services.errors import ValidationFailed
from web.services.excel import export_edition, import_projects
from web.services.hsds import FILES, export_hsds, hsds_files, hsds_problems
from web.services.ledgers import build_edition, current_editions, get_edition, list_editions
from web.services.regions import region_label
from web.services.rematch import rematch_after_publication

from .cli import cli_session

ledger_cli = AppGroup("ledger", help="慈善帮扶资源台账：编制、查看、导出。")
import_cli = AppGroup("import", help="从 Excel 导入。")


def _user(db: sa.orm.Session, username: str) -> User:
    user = db.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"用户 {username} 不存在。")
    return user


def _admin(db: sa.orm.Session) -> User:
    """An administrator to read as: the commands list and export every edition."""
    admin = db.scalar(sa.select(User).where(User.role == "admin").limit(1))
    if admin is None:
        raise click.ClickException("没有管理员账号。")
    return admin


@ledger_cli.command("build")
@click.option(
    "--region", "region_codes", required=True, multiple=True, help="部门的 12 位区划代码（可重复）"
)
@click.option("--period", default=None, help="期次，如 2026H2（默认当前半年）")
@click.option("--if-missing", is_flag=True, help="该部门本期已有台账时跳过")
def ledger_build(region_codes: tuple[str, ...], period: str | None, if_missing: bool) -> None:
    """Publish a new edition of each department's ledger."""
    now = utcnow()
    period = period or clock.period_of(clock.local_date(now))
    for region_code in region_codes:
        _build_one(region_code, period, if_missing, now)


def _build_one(region_code: str, period: str, if_missing: bool, now: dt.datetime) -> None:
    with cli_session() as db:
        exists = db.scalar(
            sa.select(LedgerEdition.id).where(
                LedgerEdition.region_code == region_code, LedgerEdition.period == period
            )
        )
        if if_missing and exists is not None:
            click.echo(f"{region_label(db, region_code)} {period} 已有台账，跳过。")
            return
        result = build_edition(db, None, region_code, period, now)
        edition = result.edition
        click.echo(
            f"已发布 {region_label(db, region_code)} {edition.period} 第 {edition.revision} 版："
            f"{edition.project_count} 个项目（新增 {edition.added_count}，变更 "
            f"{edition.changed_count}，移除 {edition.removed_count}），编号 {edition.id}。"
        )
        if edition.effective_from > clock.local_date(now):
            click.echo(f"  {edition.effective_from} 起生效，此前仍使用当前台账。")
        for project in result.stale:
            click.echo(f"  未列入（超过半年未确认）：{project.name}")
        rematched = rematch_after_publication(db, None, edition, now)
        if rematched is not None:
            click.echo(
                f"  已重新匹配待办需求 {rematched.needs} 项，其中 {rematched.gained_needs} 项"
                f"有新的合适项目，已通知 {rematched.stations_notified} 个服务站。"
            )


@ledger_cli.command("list")
@click.option("--region", "region_code", default=None)
def ledger_list(region_code: str | None) -> None:
    """List published editions, newest first."""
    with cli_session() as db:
        today = clock.today()
        for edition in list_editions(db, _admin(db), region_code):
            click.echo(
                f"{edition.id:>5}  {edition.region_code}  {edition.period} 第{edition.revision}版  "
                f"{edition.project_count:>4} 个项目  {edition.effective_from} 起  "
                f"{edition.state_on(today).label}"
            )


@ledger_cli.command("export")
@click.argument("edition_id", type=int)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def ledger_export(edition_id: int, output: Path) -> None:
    """Write an edition to an .xlsx in the import template."""
    with cli_session() as db:
        edition = get_edition(db, _admin(db), edition_id)
        output.write_bytes(export_edition(edition))
        click.echo(f"已导出 {len(edition.entries)} 个项目到 {output}。")


@ledger_cli.command("export-hsds")
@click.option(
    "--region", "region_code", default=None, help="部门的 12 位区划代码：导出其今天生效的台账"
)
@click.option(
    "--edition", "edition_id", type=int, default=None, help="台账版本编号（代替 --region）"
)
@click.option(
    "-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True,
    help="输出目录（不存在则创建）",
)  # fmt: skip
@click.option("--validate", is_flag=True, help="先按 HSDS 3.0 JSON Schema 校验，不通过则不写出")
def ledger_export_hsds(
    region_code: str | None, edition_id: int | None, output: Path, validate: bool
) -> None:
    """Write an edition in Open Referral HSDS 3.0 JSON to a directory: edition.json,
    organizations.json and services.json. Works offline."""
    if (region_code is None) == (edition_id is None):
        raise click.UsageError("请给出 --region 或 --edition 之一。")
    today = timing.today()
    with cli_session() as db:
        if edition_id is not None:
            edition = get_edition(db, _admin(db), edition_id)
        else:
            assert region_code is not None
            found = [e for e in current_editions(db, region_code, today)
                     if e.region_code == region_code]  # fmt: skip
            if not found:
                label = region_label(db, region_code) or region_code
                raise click.ClickException(f"{label} 今天（{today}）没有生效的台账。")
            edition = found[0]
        export = export_hsds(db, edition, today)
        if validate:
            problems = hsds_problems(export)
            for problem in problems:
                click.echo(problem, err=True)
            if problems:
                raise click.ClickException(f"有 {len(problems)} 处不符合 HSDS 3.0，未写出文件。")
        output.mkdir(parents=True, exist_ok=True)
        for name, data in hsds_files(export).items():
            (output / name).write_bytes(data)
        label = region_label(db, edition.region_code)
        click.echo(
            f"已导出 {label} {edition.period} 第 {edition.revision} 版（编号 {edition.id}）："
            f"{len(export.organizations)} 个组织、{len(export.services)} 项服务，"
            f"写入 {output}/（{'、'.join(FILES)}）。"
            + ("已通过 HSDS 3.0 校验。" if validate else "")
        )


@import_cli.command("projects")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--user", "username", required=True, help="以该用户身份导入（慈善组织或民政部门）")
def import_projects_command(path: Path, username: str) -> None:
    """Import projects from an .xlsx; any bad row and nothing is imported."""
    with cli_session() as db, path.open("rb") as stream:
        try:
            result = import_projects(db, _user(db, username), stream)
        except ValidationFailed as error:
            for row, messages in sorted(
                error.fields.get("rows", {}).items(), key=lambda item: int(item[0])
            ):
                click.echo(f"第 {row} 行：{'；'.join(messages)}", err=True)
            for message in error.fields.get("file", []):
                click.echo(message, err=True)
            raise click.ClickException(error.message) from None
        click.echo(f"已导入 {len(result.created)} 个项目（草稿）。")
