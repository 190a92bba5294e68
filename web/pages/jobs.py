"""定时任务: each job's schedule and recent runs; administrators can queue a run."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.wrappers import Response

from models import clock, utcnow
from models.enums import Role
from web import timing
from web.auth import actor
from web.db import get_db
from web.forms import EmptyForm
from web.services.errors import ServiceError
from web.services.jobs import (
    COUNT_LABELS,
    JOBS,
    TRIGGER_LABELS,
    job_overview,
    queue_run,
    scheduler_reported_at,
)

from .blueprint import pages
from .filters import half_year
from .refusals import refuse


@pages.route("/jobs")
@login_required
def jobs_page() -> str:
    user = actor()
    overview = job_overview(get_db(), user, current_app.config["JOB_SCHEDULES"], limit=100)
    this_half = clock.period_of(timing.today())
    return render_template(
        "jobs/list.html", overview=overview, form=EmptyForm(), can_run=user.role == Role.ADMIN,
        job_labels={job.name: job.label for job in JOBS.values()}, count_labels=COUNT_LABELS,
        trigger_labels=TRIGGER_LABELS,
        periods=[(p, half_year(p)) for p in (this_half, clock.next_period(this_half))],
    )  # fmt: skip


@pages.route("/jobs/<string:name>/run", methods=["POST"])
@login_required
def job_queue(name: str) -> Response:
    db = get_db()
    if EmptyForm().validate_on_submit():
        period = (request.form.get("period") or "").strip() or None
        try:
            queue_run(db, actor(), name, {"period": period} if period else None)
            if scheduler_reported_at(db, utcnow()) is None:
                flash(_("已提交，但最近两分钟没有调度进程报到：启动调度进程后才会执行。"),
                      "warning")  # fmt: skip
            else:
                flash(_("已提交，调度进程将在几秒内执行。"), "success")
        except ServiceError as error:
            refuse(error)
    return redirect(url_for("pages.jobs_page"))
