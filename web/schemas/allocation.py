"""Schemas of allocation plans (联合分配方案): the weights an office sets, the edits it makes,
and the plan beside first come first served."""

from __future__ import annotations

from marshmallow import fields, validate

from .base import ROW_ID, BaseSchema

_WEIGHT = validate.Range(min=0, max=10, error="须为 0 至 10 之间的数。")


class WeightsSchema(BaseSchema):
    """Each term is added to 1 in a line's priority weight; a missing one keeps its value."""

    urgent = fields.Float(validate=_WEIGHT, metadata={"description": "急难需求加权（默认 1）"})
    priority_group = fields.Float(
        validate=_WEIGHT,
        metadata={
            "description": "重点群体（失能老人、未成年人、残疾人、重病患者）加权（默认 0.5）"
        },
    )
    waiting = fields.Float(
        validate=_WEIGHT, metadata={"description": "等待天数加权，等满 90 天取满值（默认 0.5）"}
    )
    gap_share = fields.Float(
        validate=_WEIGHT, metadata={"description": "覆盖剩余缺口的比例加权（默认 0.5）"}
    )
    township_floor = fields.Boolean(
        metadata={"description": "乡镇保底：名额允许时每个有需求的乡镇至少分到一个（默认是）"}
    )


class PlanCreateSchema(BaseSchema):
    region_code = fields.String(
        load_default=None, validate=validate.Regexp(r"^\d{12}$", error="应为 12 位区划代码。"),
        metadata={"description": "县（区）或乡镇（街道）区划代码，默认为本部门辖区"},
    )  # fmt: skip
    weights = fields.Nested(WeightsSchema, load_default=dict)


class LineChangeSchema(BaseSchema):
    project_id = fields.Integer(
        required=True, allow_none=True, validate=ROW_ID,
        metadata={"description": "改为这个项目（须是该需求的可选项目之一）；null 表示移除这一行"},
    )  # fmt: skip


class LineAddSchema(BaseSchema):
    need_id = fields.Integer(required=True, validate=ROW_ID)
    project_id = fields.Integer(required=True, validate=ROW_ID)


class CountsSchema(BaseSchema):
    needs = fields.Integer(metadata={"description": "待分配需求数"})
    plan = fields.Integer(metadata={"description": "方案满足数"})
    fcfs = fields.Integer(metadata={"description": "先到先得满足数"})


class TownshipCountsSchema(CountsSchema):
    code = fields.String()
    name = fields.String()


class PlacesUsedSchema(BaseSchema):
    project_id = fields.Integer()
    project_name = fields.String()
    places = fields.Integer(metadata={"description": "方案中分出的名额"})
    places_left = fields.Integer(metadata={"description": "制定方案时剩余的名额"})


class PlanLineSchema(BaseSchema):
    id = fields.Integer()
    need_id = fields.Integer()
    project_id = fields.Integer()
    project_name = fields.String()
    provider_name = fields.String()
    township_code = fields.String()
    domain = fields.String(metadata={"description": "帮扶领域代码"})
    urgent = fields.Boolean()
    priority_group = fields.Boolean()
    status = fields.String(metadata={"description": "proposed / removed / approved / conflict"})
    score = fields.Float(metadata={"description": "匹配分（0–1）"})
    weight = fields.Float(metadata={"description": "优先权重"})
    benefit = fields.Float(metadata={"description": "匹配分 × 优先权重"})
    amount_fen = fields.Integer(allow_none=True, metadata={"description": "占用的项目资金（分）"})
    edited = fields.Boolean(metadata={"description": "由民政部门手工修改或添加"})
    conflict_reason = fields.String(allow_none=True)
    referral_id = fields.Integer(allow_none=True)


class PlanSummarySchema(BaseSchema):
    id = fields.Integer()
    region_code = fields.String()
    region_name = fields.String()
    status = fields.String(metadata={"description": "draft / approved"})
    as_of = fields.Date()
    objective = fields.Float(metadata={"description": "方案的加权总效益"})
    fcfs_objective = fields.Float(metadata={"description": "先到先得的加权总效益"})
    needs = fields.Integer(metadata={"description": "待分配需求数"})
    line_count = fields.Integer(metadata={"description": "方案满足的需求数"})
    created_at = fields.DateTime()
    approved_at = fields.DateTime(allow_none=True)


class PlanSchema(PlanSummarySchema):
    weights = fields.Nested(WeightsSchema)
    method = fields.String(
        metadata={"description": "lp：最小费用流，线性规划即整数解；milp：有预算约束时的整数规划"}
    )
    fcfs_line_count = fields.Integer(metadata={"description": "先到先得满足的需求数"})
    urgent = fields.Nested(CountsSchema)
    priority_group = fields.Nested(CountsSchema)
    townships = fields.List(fields.Nested(TownshipCountsSchema))
    places_used = fields.List(fields.Nested(PlacesUsedSchema))
    lines = fields.List(fields.Nested(PlanLineSchema))


class ApprovalSchema(BaseSchema):
    approved = fields.Integer(metadata={"description": "成为已批准转介的行数"})
    conflicts = fields.Integer(metadata={"description": "名额已被占用等原因未能批准的行数"})
    plan = fields.Nested(PlanSchema)
