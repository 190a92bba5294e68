"""``/api/v1/jobs``: the scheduled jobs and their recent runs; administrators queue a run."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_login import login_required
from flask_smorest import Blueprint

from models import JobRun
from web.auth import actor
from web.db import get_db
from web.schemas.base import ErrorSchema
from web.schemas.jobs import JobListSchema, JobQuerySchema, JobRunRequestSchema, JobRunSchema
from web.services.jobs import job_overview, queue_run

PREFIX = "/jobs"
blp = Blueprint("jobs", __name__, description="定时任务")


@blp.route("")
class Jobs(MethodView):
    @login_required
    @blp.arguments(JobQuerySchema, location="query")
    @blp.response(200, JobListSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="只有民政部门和管理员可以查看")
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Each job with its schedule, next slot and last run; recent runs with durations,
        counts and errors."""
        return job_overview(
            get_db(), actor(), current_app.config["JOB_SCHEDULES"], job_name=args["job_name"],
            limit=args["limit"],
        )  # fmt: skip


@blp.route("/<string:name>/runs")
class JobRuns(MethodView):
    @login_required
    @blp.arguments(JobRunRequestSchema)
    @blp.response(202, JobRunSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="只有系统管理员可以手动运行")
    @blp.alt_response(404, schema=ErrorSchema, description="没有这个任务")
    @blp.alt_response(409, schema=ErrorSchema, description="已在等待执行")
    def post(self, body: dict[str, Any], name: str) -> JobRun:
        """Queue a run now; the scheduler process picks it up within seconds."""
        options = {"period": body["period"]} if body["period"] else None
        return queue_run(get_db(), actor(), name, options)
