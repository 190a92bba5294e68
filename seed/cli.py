"""``flask seed regions``, ``flask seed demo`` and ``flask seed activity``."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from models import clock
from web.cli import cli_session

from .demo import DEMO_PASSWORD, TOWNSHIPS_VILLAGES, load_all_regions, load_demo

seed_cli = AppGroup("seed", help="载入行政区划和演示数据。")


@seed_cli.command("regions")
@click.option(
    "--file",
    "townships",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=TOWNSHIPS_VILLAGES,
    help="乡镇、村级区划代码的新版本（CSV，列 code,name,level,parent）",
)
def seed_regions(townships: Path) -> None:
    """Load Guangdong's province, cities, counties, townships and villages (idempotent; a
    file with a bad row loads nothing)."""
    with cli_session() as db, click.progressbar(length=1, label="载入行政区划") as bar:

        def progress(done: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(done - bar.pos)

        inserted, updated = load_all_regions(db, townships, progress=progress)
    click.echo(f"行政区划：新增 {inserted} 条，更新 {updated} 条。")


@seed_cli.command("demo")
@click.option(
    "--password",
    default=DEMO_PASSWORD,
    show_default=True,
    help="演示账号的密码（仅新建账号时使用）",
)
def seed_demo(password: str) -> None:
    """Load the demo charities, projects, stations, households and users (idempotent)."""
    with cli_session() as db:
        load_all_regions(db)
        counts = load_demo(db, password=password)
    if counts.created:
        summary = "，".join(f"{kind} {n}" for kind, n in counts.created.items())
        click.echo(f"演示数据已载入：{summary}。")
    else:
        click.echo("演示数据已存在，未做改动。")


@seed_cli.command("activity")
def seed_activity() -> None:
    """Walk a few demo referrals through the workflow (idempotent: skipped once any exist)."""

    from .activity import load_activity

    with cli_session() as db:
        made = load_activity(db, clock.today())
    click.echo(f"演示转介：新建 {made} 件。" if made else "已有转介，未做改动。")
