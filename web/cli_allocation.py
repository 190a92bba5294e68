"""``flask allocation plan``: a joint allocation plan of a county's or township's open needs,
saved as a draft for the office to edit and approve on its page."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from models import User
from models.enums import Role
from web.services.allocation import create_plan
from web.services.allocation_views import plan_document
from web.services.regions import region_label

from .cli import cli_session

allocation_cli = AppGroup("allocation", help="联合分配：为辖区内待办需求统筹分配稀缺名额。")


def _json_default(value: Any) -> str:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


@allocation_cli.command("plan")
@click.option(
    "--region", "region_code", required=True, help="县（区）或乡镇（街道）的 12 位区划代码"
)
@click.option(
    "--weights", default=None,
    help='优先权重（JSON），如 \'{"urgent": 2, "priority_group": 1}\'；未给出的取默认值',
)  # fmt: skip
@click.option("--user", "username", default=None, help="以这位民政部门工作人员的名义制定")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
def allocation_plan(
    region_code: str, weights: str | None, username: str | None, as_json: bool
) -> None:
    """Solve a plan for the open needs of REGION and save it as a draft (待审批), printing
    it beside first come first served."""
    try:
        chosen = json.loads(weights) if weights else None
    except json.JSONDecodeError as error:
        raise click.BadParameter(f"不是有效的 JSON：{error.msg}", param_hint="--weights") from None
    if chosen is not None and not isinstance(chosen, dict):
        raise click.BadParameter("应为 JSON 对象。", param_hint="--weights")
    with cli_session() as db:
        actor = None
        if username is not None:
            actor = db.scalar(sa.select(User).where(User.username == username))
            if actor is None or actor.role != Role.CIVIL_AFFAIRS:
                raise click.BadParameter(f"{username} 不是民政部门工作人员。", param_hint="--user")
        plan = create_plan(db, actor, region_code, chosen)
        document = plan_document(db, plan)
        label = region_label(db, region_code)
    if as_json:
        click.echo(json.dumps(document, ensure_ascii=False, indent=2, default=_json_default))
        return
    urgent, grouped = document["urgent"], document["priority_group"]
    gain = document["objective"] - document["fcfs_objective"]
    click.echo(
        f"{label} 联合分配方案 {document['id']}（待审批），依据 {document['as_of']} 的台账与名额："
    )
    click.echo(
        f"  待分配需求 {document['needs']} 项；方案满足 {document['line_count']} 项，"
        f"先到先得满足 {document['fcfs_line_count']} 项。"
    )
    click.echo(
        f"  加权总效益 {document['objective']:.2f}，先到先得 {document['fcfs_objective']:.2f}"
        f"（{'+' if gain >= 0 else ''}{gain:.2f}）。"
    )
    click.echo(
        f"  急难需求满足 {urgent.get('plan', 0)}/{urgent.get('needs', 0)}（先到先得 "
        f"{urgent.get('fcfs', 0)}）；重点群体满足 {grouped.get('plan', 0)}/"
        f"{grouped.get('needs', 0)}（先到先得 {grouped.get('fcfs', 0)}）。"
    )
    for town in document["townships"]:
        click.echo(
            f"  {town['name']}：需求 {town['needs']}，方案 {town['plan']}，先到先得 {town['fcfs']}"
        )
    for used in document["places_used"]:
        click.echo(f"  {used['project_name']}：分出 {used['places']}/{used['places_left']} 个名额")
    click.echo("请在“联合分配”页面核对、修改后批准。")
