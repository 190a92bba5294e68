"""Schemas of 需求缺口: the filters a charity sets, and the suppressed counts it gets."""

from __future__ import annotations

from marshmallow import fields, validate

from models.enums import PRIORITY_GROUPS, Domain

from .base import BaseSchema


def _count() -> fields.Integer:
    return fields.Integer(
        allow_none=True,
        metadata={"description": "待对接需求数；少于 5 时为 null（显示为“少于5”），不给出数字"},
    )


class DemandQuerySchema(BaseSchema):
    area = fields.String(
        load_default=None, validate=validate.Regexp(r"^\d{12}$"),
        metadata={"description": "只看所服务区域内的这个区划（乡镇及以上）的各乡镇"},
    )  # fmt: skip
    domain = fields.String(
        load_default=None, validate=validate.OneOf(Domain.codes()),
        metadata={"description": "帮扶领域代码"},
    )  # fmt: skip
    group = fields.String(
        load_default=None, validate=validate.OneOf([g.value for g in PRIORITY_GROUPS]),
        metadata={"description": "优先群体：乡镇表只计有该群体成员的家庭的需求"},
    )  # fmt: skip


class PlaceSchema(BaseSchema):
    code = fields.String()
    name = fields.String()


class BandCountSchema(BaseSchema):
    band = fields.String()
    label = fields.String()
    needs = _count()


class GroupCountSchema(BaseSchema):
    group = fields.String()
    label = fields.String()
    needs = _count()


class DomainDemandSchema(BaseSchema):
    domain = fields.String()
    label = fields.String()
    needs = _count()
    places = fields.Integer(metadata={"description": "覆盖服务区域、正在执行的项目剩余名额"})
    gap = fields.Integer(
        allow_none=True, metadata={"description": "需求数减名额；需求数隐去时为 null"}
    )
    can_start = fields.Boolean(metadata={"description": "没有名额或名额少于需求：可据此设立项目"})
    bands = fields.List(fields.Nested(BandCountSchema), metadata={"description": "按剩余缺口金额"})
    groups = fields.List(
        fields.Nested(GroupCountSchema),
        metadata={"description": "按优先群体（一户可属多个群体，不相加）"},
    )


class CellSchema(BaseSchema):
    domain = fields.String()
    needs = _count()
    places = fields.Integer()
    gap = fields.Integer(allow_none=True)
    can_start = fields.Boolean()


class TownshipDemandSchema(BaseSchema):
    code = fields.String()
    name = fields.String()
    cells = fields.List(fields.Nested(CellSchema))


class SubtotalSchema(BaseSchema):
    domain = fields.String()
    needs = fields.Integer(
        allow_none=True, metadata={"description": "所选区域小计；有隐去的格子时为 null"}
    )
    places = fields.Integer()


class BandSchema(BaseSchema):
    band = fields.String()
    label = fields.String()


class PriorityGroupSchema(BaseSchema):
    group = fields.String()
    label = fields.String()


class DemandSchema(BaseSchema):
    regions = fields.List(fields.Nested(PlaceSchema), metadata={"description": "所服务的区域"})
    area = fields.Nested(PlaceSchema, allow_none=True)
    domain = fields.String(allow_none=True)
    group = fields.String(allow_none=True)
    group_label = fields.String(allow_none=True)
    min_shown = fields.Integer(metadata={"description": "少于此数的计数一律隐去"})
    total_needs = fields.Integer(
        allow_none=True, metadata={"description": "合计；有领域合计隐去时为 null"}
    )
    domains = fields.List(fields.Nested(DomainDemandSchema))
    townships_listed = fields.Boolean(
        metadata={"description": "否：区域内乡镇过多，请先选择县（区）或乡镇"}
    )
    township_count = fields.Integer()
    townships = fields.List(fields.Nested(TownshipDemandSchema))
    subtotal = fields.List(fields.Nested(SubtotalSchema))
    bands = fields.List(fields.Nested(BandSchema))
    groups = fields.List(fields.Nested(PriorityGroupSchema))
