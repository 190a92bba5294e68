"""Schemas of scheduled jobs and their runs."""

from __future__ import annotations

from marshmallow import fields, validate

from .base import BaseSchema


class JobRunSchema(BaseSchema):
    id = fields.Integer()
    job_name = fields.String()
    scheduled_at = fields.DateTime(metadata={"description": "计划时刻（手动运行为提交时刻）"})
    started_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    duration_seconds = fields.Function(
        lambda r: r.duration.total_seconds() if r.duration else None, allow_none=True
    )
    status = fields.Function(lambda r: r.status.value)
    trigger = fields.String(
        metadata={"description": "schedule | catch_up | manual | after_refresh"}
    )
    host = fields.String(allow_none=True)
    counts = fields.Dict(allow_none=True)
    error = fields.String(allow_none=True)


class JobSchema(BaseSchema):
    name = fields.String()
    label = fields.String()
    schedule = fields.String()
    next_at = fields.DateTime(allow_none=True)
    last_run = fields.Nested(JobRunSchema, allow_none=True)


class JobListSchema(BaseSchema):
    jobs = fields.List(fields.Nested(JobSchema))
    runs = fields.List(fields.Nested(JobRunSchema))
    scheduler_seen_at = fields.DateTime(
        allow_none=True,
        metadata={"description": "调度进程最近报到的时间；两分钟内无报到为空，任务不会执行"},
    )


class JobQuerySchema(BaseSchema):
    job_name = fields.String(load_default=None)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class JobRunRequestSchema(BaseSchema):
    period = fields.String(
        load_default=None, allow_none=True, validate=validate.Regexp(r"^\d{4}H[12]$"),
        metadata={"description": "ledger_refresh 的期次，如 2027H1"},
    )  # fmt: skip
