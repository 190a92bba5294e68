"""Schemas of the dashboard's figures."""

from __future__ import annotations

from marshmallow import fields, validate

from web.services.stats import FIGURES

from .base import BaseSchema


class StatsQuerySchema(BaseSchema):
    region_code = fields.String(
        load_default=None, validate=validate.Regexp(r"^\d{12}$"),
        metadata={"description": "区划代码（默认本人所在区划）；只能是本辖区或下级区划"},
    )  # fmt: skip
    period = fields.String(
        load_default=None, validate=validate.Regexp(r"^\d{4}H[12]$"),
        metadata={"description": "半年度，如 2026H2：转介、帮扶金额等流量只计该半年"},
    )  # fmt: skip


class ReportQuerySchema(StatsQuerySchema):
    period = fields.String(required=True, validate=validate.Regexp(r"^\d{4}H[12]$"))


class FigureQuerySchema(StatsQuerySchema):
    figure = fields.String(required=True, validate=validate.OneOf(FIGURES))


class RegionRefSchema(BaseSchema):
    code = fields.String()
    name = fields.String()
    level = fields.String()
    parent_code = fields.String(allow_none=True)


class DomainFigureSchema(BaseSchema):
    domain = fields.String()
    label = fields.String()
    open_needs = fields.Integer()
    places = fields.Integer(metadata={"description": "覆盖本区划、正在执行且有剩余名额的项目名额"})
    gap = fields.Integer()


class CoverageSchema(BaseSchema):
    open_needs = fields.Integer()
    with_project = fields.Integer()
    share = fields.Float(allow_none=True)


class WaitingSchema(BaseSchema):
    open = fields.Integer()
    over_15_days = fields.Integer()
    over_30_days = fields.Integer()


class StepSchema(BaseSchema):
    step = fields.String()
    label = fields.String()
    count = fields.Integer()


class StatusCountSchema(BaseSchema):
    status = fields.String()
    label = fields.String()
    count = fields.Integer()


class FunnelSchema(BaseSchema):
    steps = fields.List(fields.Nested(StepSchema))
    by_status = fields.List(fields.Nested(StatusCountSchema))


class DurationsSchema(BaseSchema):
    submission_to_approval_days = fields.Float(allow_none=True)
    approval_to_acceptance_days = fields.Float(allow_none=True)


class CharitySchema(BaseSchema):
    organization_id = fields.Integer()
    name = fields.String()
    accepted = fields.Integer()
    declined = fields.Integer()
    expired = fields.Integer()
    acceptance_rate = fields.Float(allow_none=True)


class DeliveredSchema(BaseSchema):
    month = fields.String()
    domain = fields.String()
    label = fields.String()
    amount_fen = fields.Integer()
    referrals = fields.Integer()


class GroupSchema(BaseSchema):
    group = fields.String()
    label = fields.String()
    households = fields.Integer()


class ChildSchema(BaseSchema):
    code = fields.String()
    name = fields.String()
    open_needs = fields.Integer()
    referrals = fields.Integer()
    completed = fields.Integer()
    delivered_fen = fields.Integer()


class WarningCountsSchema(BaseSchema):
    raised = fields.Integer(metadata={"description": "发出的预警"})
    confirmed = fields.Integer(metadata={"description": "已确认（已登记需求）"})
    dismissed = fields.Integer(metadata={"description": "已排除"})
    overdue = fields.Integer(metadata={"description": "过期仍未处理"})
    median_days_to_confirm = fields.Float(
        allow_none=True, metadata={"description": "从最早的部门记录到确认的天数（中位数）"}
    )


class WarningRuleFigureSchema(WarningCountsSchema):
    rule = fields.String()
    label = fields.String()


class WarningRegionFigureSchema(WarningCountsSchema):
    code = fields.String()
    name = fields.String()


class OverviewSchema(BaseSchema):
    region = fields.Nested(RegionRefSchema)
    period = fields.String(allow_none=True)
    counted_at = fields.DateTime(metadata={"description": "统计时间"})
    is_snapshot = fields.Boolean(
        metadata={"description": "省、市两级：调度进程每 10 分钟统计一次，此为最近一次的结果"}
    )
    needs_and_places = fields.List(fields.Nested(DomainFigureSchema))
    coverage = fields.Nested(CoverageSchema)
    waiting = fields.Nested(WaitingSchema)
    funnel = fields.Nested(FunnelSchema)
    durations = fields.Nested(DurationsSchema)
    charities = fields.List(fields.Nested(CharitySchema))
    delivered = fields.List(fields.Nested(DeliveredSchema))
    groups_reached = fields.List(fields.Nested(GroupSchema))
    children = fields.List(fields.Nested(ChildSchema))
    warnings_summary = fields.Nested(WarningCountsSchema)
    warnings_by_rule = fields.List(fields.Nested(WarningRuleFigureSchema))
    warnings_by_region = fields.List(fields.Nested(WarningRegionFigureSchema))
