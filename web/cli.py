"""``flask db ...`` and ``flask users ...``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from models import migrate
from models.enums import MonitoringSource, Role
from web.services.errors import ServiceError
from web.services.users import create_user, list_users, set_user_active

db_cli = AppGroup("db", help="数据库结构迁移。")
users_cli = AppGroup("users", help="管理用户账号。")


@contextlib.contextmanager
def cli_session() -> Iterator[Session]:
    """A session committed when the block succeeds; service errors exit with their message."""
    db = current_app.extensions["sessionmaker"]()
    try:
        yield db
        db.commit()
    except ServiceError as error:
        db.rollback()
        details = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in error.fields.items())
        raise click.ClickException(error.message + (f" ({details})" if details else "")) from None
    finally:
        db.close()


@db_cli.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION."""
    config = current_app.config
    migrate.upgrade(config["DATABASE_URL"], rev=revision, data_key=config["DATA_KEY"])
    click.echo("数据库已升级到最新结构。")


@db_cli.command("downgrade")
@click.option("--revision", required=True)
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (``base`` empties the database)."""
    migrate.downgrade(
        current_app.config["DATABASE_URL"], rev=revision, data_key=current_app.config["DATA_KEY"]
    )
    click.echo(f"数据库已回退到 {revision}。")


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(Role.codes()), required=True)
@click.option("--region", "region_code", required=True, help="12 位行政区划代码")
@click.option("--name", "display_name", required=True, help="显示名")
@click.option("--station-id", type=int)
@click.option("--organization-id", type=int)
@click.option("--source", "feed_source", type=click.Choice(MonitoringSource.codes()),
              help="部门数据报送账号（data_provider）报送哪个部门的数据")  # fmt: skip
@click.password_option(help="至少 8 个字符；不给则提示输入")
def users_create(
    username: str,
    role: str,
    region_code: str,
    display_name: str,
    station_id: int | None,
    organization_id: int | None,
    feed_source: str | None,
    password: str,
) -> None:
    """Create an account (a department's, ``--role data_provider``, with ``--source``)."""
    with cli_session() as db:
        user = create_user(
            db,
            None,
            username=username,
            password=password,
            display_name=display_name,
            role=Role(role),
            region_code=region_code,
            station_id=station_id,
            organization_id=organization_id,
            feed_source=MonitoringSource(feed_source) if feed_source else None,
        )
        click.echo(f"已创建用户 {user.username}（{user.role.label}，{user.region_code}）。")


@users_cli.command("list")
def users_list() -> None:
    """List accounts."""
    with cli_session() as db:
        rows = list_users(db, None)
        click.echo(f"{'用户名':<16}{'角色':<14}{'区划':<14}{'状态':<6}显示名")
        for user in rows:
            state = "启用" if user.is_active else "停用"
            click.echo(
                f"{user.username:<19}{user.role.value:<16}{user.region_code:<14}"
                f"{state:<6}{user.display_name}"
            )


@users_cli.command("disable")
@click.argument("username")
def users_disable(username: str) -> None:
    """Disable an account; its sessions and tokens stop working at once."""
    with cli_session() as db:
        set_user_active(db, None, username, False)
        click.echo(f"已停用用户 {username}，其登录会话和令牌已失效。")


@users_cli.command("enable")
@click.argument("username")
def users_enable(username: str) -> None:
    """Re-enable a disabled account."""
    with cli_session() as db:
        set_user_active(db, None, username, True)
        click.echo(f"已启用用户 {username}。")


referrals_cli = AppGroup("referrals", help="转介的日常处理。")


@referrals_cli.command("sweep")
def referrals_sweep() -> None:
    """Expire referrals left unanswered past their deadline (the place goes back to the
    project, the need back to the station) and flag to the approving office those silent
    longer than REFERRAL_OVERDUE_DAYS; remind stations of follow-ups (回访) past their day;
    raise each month a pairing (结对帮扶) saw fewer visits than planned."""
    from models import clock, utcnow
    from web.services.referrals.followups import raise_overdue_follow_ups
    from web.services.referrals.pairings import raise_missed_visits
    from web.services.referrals.workflow import expire_unanswered, flag_overdue

    days = current_app.config["REFERRAL_OVERDUE_DAYS"]
    with cli_session() as db:
        now = utcnow()
        expired = expire_unanswered(db, now)
        flagged = flag_overdue(db, now, days)
        follow_ups = raise_overdue_follow_ups(db, clock.local_date(now), now)
        missed = raise_missed_visits(db, clock.local_date(now), now)
    click.echo(
        f"超时退回 {expired} 件；提醒民政部门（超过 {days} 天未答复）{flagged} 件；"
        f"提醒服务站回访逾期 {follow_ups} 件；结对探访不足提醒 {missed} 件。"
    )


report_cli = AppGroup("report", help="统计报告。")


@report_cli.command("half-year")
@click.option("--region", "region_code", required=True, help="区划代码（12 位）")
@click.option("--period", required=True, help="半年度，如 2026H2")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="输出文件（默认 半年度报告-区划-期次.xlsx）")  # fmt: skip
def report_half_year(region_code: str, period: str, output: str | None) -> None:
    """Write the half-year report (.xlsx) of a region and its children."""
    from pathlib import Path

    from models import Region, clock
    from web.services.ledgers import check_period
    from web.services.stats import StatsScope, half_year_report

    with cli_session() as db:
        region = db.get(Region, region_code)
        if region is None:
            raise click.BadParameter(f"没有区划 {region_code}", param_hint="--region")
        try:
            check_period(period)
        except ServiceError as error:
            detail = " ".join(str(m) for messages in error.fields.values() for m in messages)
            raise click.BadParameter(detail or error.message, param_hint="--period") from None
        data = half_year_report(db, None, StatsScope(region, clock.today(), period))
        path = Path(output or f"半年度报告-{region_code}-{period}.xlsx")
        path.write_bytes(data)
    click.echo(f"已生成 {region.name} {period} 半年度报告：{path}（{len(data):,} 字节）")
