"""``flask jobs list | run | scheduler``."""

from __future__ import annotations

import logging
import signal
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from models import utcnow
from models.clock import TZ, InvalidPeriod, latest_slot, next_slot, period_slot
from web.services.jobs import JOBS, last_runs, scheduler_reported_at

from .runs import mark_abandoned, run_slot

jobs_cli = AppGroup("jobs", help="定时任务：查看、手动运行、启动调度进程。")


def job_config() -> dict[str, Any]:
    config = current_app.config
    keys = ("REFERRAL_OVERDUE_DAYS", "STALE_NEED_DAYS", "CASE_RETENTION_DAYS", "STATS_SNAPSHOTS")
    return {key: config[key] for key in keys}


def _local(value: Any) -> str:
    return value.astimezone(TZ).strftime("%Y-%m-%d %H:%M") if value else "—"


@jobs_cli.command("list")
def jobs_list() -> None:
    """Each job, its schedule, its next slot and its last run."""
    factory = current_app.extensions["sessionmaker"]
    overrides = current_app.config["JOB_SCHEDULES"]
    now = utcnow()
    with factory() as db:
        last = last_runs(db)
    for job in JOBS.values():
        run = last.get(job.name)
        done = (
            f"{run.status.label} {_local(run.scheduled_at)}"
            + (f" {run.counts}" if run.counts else "")
            + (f" 错误：{run.error}" if run.error else "")
            if run else "从未运行"
        )  # fmt: skip
        nxt = _local(next_slot(job.trigger(overrides), now))
        click.echo(f"{job.name:<18} {job.label}（{job.schedule}）下次 {nxt}；上次 {done}")


@jobs_cli.command("run")
@click.argument("name", type=click.Choice(sorted(JOBS)))
@click.option("--period", default=None, help="ledger_refresh 的期次，如 2027H1（默认当前半年）")
@click.option("--now", "fresh", is_flag=True, help="作为一次新的手动运行，而不是最近一个计划时刻")
@click.option("--retry", is_flag=True, help="重试该时刻失败（或中断）的运行")
def jobs_run(name: str, period: str | None, fresh: bool, retry: bool) -> None:
    """Run a job now for its latest scheduled slot (or the period's slot), with a progress
    bar. A slot already run by the scheduler, or by another process, is left alone."""
    factory = current_app.extensions["sessionmaker"]
    overrides = current_app.config["JOB_SCHEDULES"]
    now = utcnow()
    job = JOBS[name]
    options: dict[str, Any] = {}
    if period:
        if name != "ledger_refresh":
            raise click.UsageError("--period 只适用于 ledger_refresh。")
        try:
            slot = period_slot(job.trigger(overrides), period)
        except InvalidPeriod as error:
            raise click.UsageError(f"期次无效：{period}") from error
        options["period"] = period
    elif fresh:
        slot = now.replace(microsecond=0)
    else:
        slot = latest_slot(job.trigger(overrides), now) or now.replace(microsecond=0)
    if retry:
        mark_abandoned(factory, now)
    with click.progressbar(length=1, label=f"{job.label} {_local(slot)}") as bar:
        state = {"done": 0}

        def progress(done: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(done - state["done"])
            state["done"] = done

        run = run_slot(
            factory, name, slot, trigger="manual", options=options, retry=retry,
            config=job_config(), progress=progress,
        )  # fmt: skip
    if run is None:
        click.echo(
            f"{_local(slot)} 这一时刻已有运行记录（或正在运行），未重复执行；失败的可加 --retry。"
        )
        return
    seconds = run.duration.total_seconds() if run.duration else 0.0
    click.echo(f"{run.status.label}，用时 {seconds:.1f} 秒：{run.counts or run.error}")
    if run.error:
        raise SystemExit(1)
    if (run.counts or {}).get("rematch_queued"):
        with factory() as db:
            alive = scheduler_reported_at(db, utcnow()) is not None
        click.echo(
            "待办需求的重新匹配已排队，由调度进程随即执行（定时任务页面可见其进度）。"
            if alive else
            "待办需求的重新匹配已排队，但调度进程未在运行：请启动调度进程（flask jobs scheduler）。"
        )  # fmt: skip


@jobs_cli.command("scheduler")
@click.option("--poll", default=5.0, show_default=True, help="秒：备用进程争取主调度地位的间隔")
@click.option(
    "--lease", default=60.0, show_default=True,
    help="秒：SQLite 上主调度租约的有效期（PostgreSQL 用咨询锁，不受此影响）",
)  # fmt: skip
def jobs_scheduler(poll: float, lease: float) -> None:
    """Run the scheduler process (leader or standby) until SIGTERM or Ctrl-C."""
    from .scheduler import Scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    scheduler = Scheduler(
        current_app.extensions["engine"], current_app.extensions["sessionmaker"], poll=poll,
        lease=lease, overrides=current_app.config["JOB_SCHEDULES"], config=job_config(),
    )  # fmt: skip

    def stop(signum: int, _frame: Any) -> None:
        if scheduler.stop.is_set():
            raise SystemExit(1)  # a second signal: stop now, a running job is left to retry
        logging.getLogger(__name__).info("收到信号 %s，正在停止（再次发送则立即退出）", signum)
        scheduler.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    scheduler.serve()
