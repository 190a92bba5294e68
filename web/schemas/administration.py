"""Schemas of the administration pages: the region picker's answers and the audit filter."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, post_load, validate, validates_schema
from marshmallow.exceptions import ValidationError

from models.regions import CODE_LENGTH
from web.services.audit_log import ACTION_LABELS, AuditFilter

from .base import ROW_ID, BaseSchema

REGION_CODE = validate.Regexp(rf"^\d{{{CODE_LENGTH}}}$", error="区划代码应为 12 位数字。")


class RegionChildrenQuerySchema(BaseSchema):
    parent = fields.String(load_default=None, validate=REGION_CODE)


class RegionSearchQuerySchema(BaseSchema):
    q = fields.String(required=True, validate=validate.Length(min=1, max=32))
    within = fields.String(load_default=None, validate=REGION_CODE)


class RegionChoiceSchema(BaseSchema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    level = fields.Function(lambda r: r.level.value, required=True)
    level_label = fields.Function(lambda r: r.level.label, required=True)
    has_children = fields.Boolean(required=True)
    path = fields.String(required=True, metadata={"description": "上级区划名称（市 县 乡镇）"})


class AuditFilterSchema(BaseSchema):
    """The audit viewer's query string; empty fields are no filter."""

    person = fields.String(load_default=None, validate=validate.Length(max=64))
    household = fields.Integer(load_default=None, validate=ROW_ID)
    action = fields.String(load_default=None, validate=validate.OneOf(list(ACTION_LABELS)))
    from_on = fields.Date(load_default=None)
    to_on = fields.Date(load_default=None)

    @validates_schema
    def _days_in_order(self, data: dict[str, Any], **_: Any) -> None:
        if data["from_on"] and data["to_on"] and data["from_on"] > data["to_on"]:
            raise ValidationError("结束日期不能早于开始日期。", "to_on")

    @post_load
    def _filter(self, data: dict[str, Any], **_: Any) -> AuditFilter:
        return AuditFilter(
            person=data["person"] or None,
            household_id=data["household"],
            action=data["action"] or None,
            from_on=data["from_on"],
            to_on=data["to_on"],
        )
