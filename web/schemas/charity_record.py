"""Schemas of a charity's half-year record (慈善组织帮扶记录)."""

from __future__ import annotations

from marshmallow import fields, validate

from .base import BaseSchema


class CharityRecordQuerySchema(BaseSchema):
    period = fields.String(
        required=True, validate=validate.Regexp(r"^\d{4}H[12]$"),
        metadata={"description": "半年度，如 2026H2（上半年 H1：1—6 月；下半年 H2：7—12 月）"},
    )  # fmt: skip


class DeclineCountSchema(BaseSchema):
    reason = fields.String(metadata={"description": "婉拒原因代码"})
    label = fields.String(metadata={"description": "婉拒原因"})
    count = fields.Integer()


class CharityRecordSchema(BaseSchema):
    organization_id = fields.Integer()
    name = fields.String()
    kind = fields.String(metadata={"description": "charity 慈善组织；local 本地资源提供方"})
    period = fields.String()
    region_code = fields.String(
        allow_none=True,
        metadata={"description": "只计该区划内家庭的转介（民政部门查看时为本辖区）；空为全部"},
    )
    received = fields.Integer(metadata={"description": "本半年批准转介给该组织的转介数"})
    accepted = fields.Integer(metadata={"description": "本半年接收的转介数"})
    declined = fields.Integer(metadata={"description": "本半年婉拒的转介数"})
    expired = fields.Integer(metadata={"description": "答复期限在本半年届满而未答复的转介数"})
    completed = fields.Integer(metadata={"description": "本半年完成的转介数"})
    households_served = fields.Integer(
        metadata={"description": "本半年内在服务或已完成帮扶的家庭数（去重）"}
    )
    delivered_fen = fields.Integer(metadata={"description": "本半年完成转介的实际帮扶金额（分）"})
    services_completed = fields.Integer(
        metadata={"description": "本半年完成、且记录了所提供服务的转介数"}
    )
    episodes = fields.Integer(metadata={"description": "本半年记录的服务次数（服务记录条数）"})
    acceptance_rate = fields.Float(
        allow_none=True, metadata={"description": "接收 ÷（接收 + 婉拒 + 超时未答复）"}
    )
    response_hours_median = fields.Float(
        allow_none=True, metadata={"description": "批准到答复用时的中位数（小时）"}
    )
    response_hours_p90 = fields.Float(
        allow_none=True, metadata={"description": "批准到答复用时的 90% 分位数（小时）"}
    )
    satisfaction_ratings = fields.Integer(
        metadata={"description": "本半年登记的回访中给出满意度评价的份数"}
    )
    satisfaction_average = fields.Float(
        allow_none=True, metadata={"description": "这些回访的平均满意度（1 很不满意—5 很满意）"}
    )
    declines = fields.List(
        fields.Nested(DeclineCountSchema), metadata={"description": "按婉拒原因"}
    )


class HouseholdsServedQuerySchema(BaseSchema):
    period = fields.String(
        load_default=None, validate=validate.Regexp(r"^\d{4}H[12]$"),
        metadata={"description": "只列帮扶在该半年内进行的（如 2026H2）；不填为全部"},
    )  # fmt: skip
    page = fields.Integer(
        load_default=1, validate=validate.Range(min=1), metadata={"description": "页码，每页 50 条"}
    )


class HouseholdServedSchema(BaseSchema):
    referral_id = fields.Integer()
    household_id = fields.Integer(metadata={"description": "仅民政部门与管理员可见"})
    head_name = fields.String(metadata={"description": "户主姓名，仅民政部门与管理员可见"})
    place = fields.String(metadata={"description": "所在乡镇（街道）"})
    member_count = fields.Integer(metadata={"description": "家庭人口"})
    priority_groups = fields.List(fields.String(), metadata={"description": "优先帮扶对象代码"})
    project_id = fields.Integer()
    project_name = fields.String()
    domain = fields.String()
    domain_label = fields.String()
    status = fields.String(metadata={"description": "转介状态：accepted、in_service、completed"})
    outcome = fields.String(
        metadata={"description": "accepted、in_service、completed；partial 为完成但需求部分满足"}
    )
    outcome_label = fields.String()
    accepted_at = fields.DateTime(allow_none=True)
    started_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    delivered_amount_fen = fields.Integer(
        allow_none=True, metadata={"description": "实际帮扶金额（分）"}
    )
    delivered_service = fields.String(allow_none=True, metadata={"description": "完成时记录的服务"})
    episodes = fields.String(allow_none=True, metadata={"description": "服务记录汇总"})
    satisfaction = fields.Integer(allow_none=True, metadata={"description": "回访满意度 1—5"})
    archived_at = fields.DateTime(allow_none=True, metadata={"description": "归档时间（只读）"})


class HouseholdsServedSchema(BaseSchema):
    organization_id = fields.Integer()
    name = fields.String()
    period = fields.String(allow_none=True)
    region_code = fields.String(
        allow_none=True, metadata={"description": "只列该区划内的家庭（民政部门查看时为本辖区）"}
    )
    page = fields.Integer()
    per_page = fields.Integer()
    pages = fields.Integer()
    total = fields.Integer(metadata={"description": "符合条件的转介数（各页合计）"})
    households = fields.Integer(metadata={"description": "其中的家庭数（去重）"})
    items = fields.List(fields.Nested(HouseholdServedSchema))
