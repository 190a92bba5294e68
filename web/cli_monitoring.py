"""``flask monitoring ...``: deliver a department's batch from a file, write its template."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from models import User, clock, utcnow
from models.enums import MonitoringSource, Role
from web.services.errors import ValidationFailed
from web.services.monitoring import batch_template, check_may_deliver, deliver_batch
from web.services.monitoring_files import read_file_batch

from .cli import cli_session

monitoring_cli = AppGroup("monitoring", help="监测数据报送（医保、残联、教育、民政、人社、应急）。")

_SOURCE_HELP = "报送部门：" + "、".join(f"{s.value}（{s.label}）" for s in MonitoringSource)


def _deliverer(db: Session, username: str | None) -> User:
    if username is not None:
        user = db.scalar(sa.select(User).where(User.username == username))
        if user is None:
            raise click.BadParameter(f"没有用户 {username}", param_hint="--as")
        return user
    admin = db.scalar(
        sa.select(User).where(User.role == Role.ADMIN, User.is_active).order_by(User.id).limit(1)
    )
    if admin is None:
        raise click.ClickException("没有可用的管理员账号，请用 --as 指定报送账号。")
    return admin


@monitoring_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", type=click.Choice(MonitoringSource.codes()), required=True,
              help=_SOURCE_HELP)  # fmt: skip
@click.option("--delivered-on", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="报送日期（默认今天）")  # fmt: skip
@click.option("--as", "username", default=None,
              help="以该账号报送（部门数据报送账号或民政部门；默认第一个管理员）")  # fmt: skip
def import_batch(
    path: Path, source: str, delivered_on: dt.datetime | None, username: str | None
) -> None:
    """Deliver a batch from an .xlsx or .csv made from the source's template; any bad row
    and nothing is kept (every bad row is listed)."""
    kind = MonitoringSource(source)
    day = delivered_on.date() if delivered_on is not None else clock.today()
    with cli_session() as db:
        user = _deliverer(db, username)
        check_may_deliver(user, kind)
        with click.progressbar(length=2, label=f"{kind.label} {path.name}", file=None) as bar:
            try:
                batch = read_file_batch(kind, path.name, path.read_bytes())
                bar.update(1)
                result = deliver_batch(
                    db, user, kind, day, batch.records, utcnow(),
                    row_numbers=batch.row_numbers, row_problems=batch.problems,
                )  # fmt: skip
                bar.update(1)
            except ValidationFailed as error:
                _report(error)
                raise click.ClickException(error.message) from None
    if result.is_repeat:
        click.echo(
            f"该批次此前已报送（批次 {result.batch.id}），未作任何改动："
            f"{result.record_count} 条记录。"
        )
        return
    click.echo(
        f"已接收批次 {result.batch.id}：{result.record_count} 条记录，"
        f"其中 {result.matched_count} 条与需求台账中的人员匹配，"
        f"新产生预警 {result.warnings_raised} 条。"
    )


def _report(error: ValidationFailed) -> None:
    for row, messages in sorted(error.fields.get("rows", {}).items(), key=lambda i: int(i[0])):
        click.echo(f"第 {row} 行：{'；'.join(messages)}", err=True)
    for key in ("file", "records"):
        for message in error.fields.get(key, []):
            click.echo(message, err=True)


@monitoring_cli.command("template")
@click.option("--source", type=click.Choice(MonitoringSource.codes()), required=True,
              help=_SOURCE_HELP)  # fmt: skip
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
def write_template(source: str, output: Path) -> None:
    """Write the source's .xlsx template (Chinese headers, an instructions sheet)."""
    kind = MonitoringSource(source)
    output.write_bytes(batch_template(kind))
    click.echo(f"已生成{kind.label}监测数据模板：{output}")
