"""Schemas for match results."""

from __future__ import annotations

from marshmallow import fields, validate

from .base import ROW_ID, BaseSchema


class MatchQuerySchema(BaseSchema):
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=100))
    explain = fields.Integer(
        load_default=0,
        validate=validate.OneOf([0, 1]),
        metadata={"description": "1 列出被排除的项目及原因"},
    )


class MatchItemSchema(BaseSchema):
    project_id = fields.Function(lambda m: m.project.id)
    name = fields.Function(lambda m: m.project.name)
    organization = fields.Function(lambda m: m.project.organization_name)
    ledger_level = fields.Function(lambda m: m.project.ledger_level)
    ledger_region_code = fields.Function(lambda m: m.project.ledger_region_code)
    score = fields.Float()
    low_match = fields.Boolean(metadata={"description": "低匹配度：低于阈值，仅供参考"})
    reasons = fields.List(fields.String())


class ExclusionSchema(BaseSchema):
    project_id = fields.Function(lambda e: e.project.id)
    name = fields.Function(lambda e: e.project.name)
    rule = fields.String()
    reason = fields.String()


class MatchResultSchema(BaseSchema):
    need_id = fields.Integer()
    model_version = fields.String()
    candidates = fields.Integer(metadata={"description": "通过硬性条件的项目数"})
    excluded_count = fields.Integer()
    nothing_suitable = fields.Boolean(metadata={"description": "没有合适项目（或只有低匹配度）"})
    low_match_threshold = fields.Float()
    items = fields.List(fields.Nested(MatchItemSchema))
    excluded = fields.List(fields.Nested(ExclusionSchema))


class ReferralStartSchema(BaseSchema):
    project_id = fields.Integer(required=True, validate=ROW_ID)
    score = fields.Float(load_default=None, allow_none=True, validate=validate.Range(0, 1))
    model_version = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=64)
    )
