"""Schemas for households as the API shows them: personal data masked."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate

from models import Household, clock
from models.enums import Domain, HouseholdCategory, LabelledEnum, NeedStatus, Relation, Urgency
from web.services.households import suggested_conditions

from .base import ROW_ID, BaseSchema


def _labels(enum_cls: type[LabelledEnum], codes: list[str]) -> list[str]:
    labels = enum_cls.labels()
    return [labels.get(code, code) for code in codes]


def _not_in_the_address(_value: str) -> None:
    raise ValidationError(
        "查找词不能放在网址里（会留在服务器和代理的访问日志中），"
        "请改用 POST /api/v1/households/search，把 q 放在请求体里。"
    )


class HouseholdFilterSchema(BaseSchema):
    """The filters of the households list, without a search term."""

    category = fields.String(load_default=None, validate=validate.OneOf(HouseholdCategory.codes()))
    station_id = fields.Integer(load_default=None, validate=ROW_ID)
    consent = fields.Boolean(load_default=None, metadata={"description": "是否已授权"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class HouseholdQuerySchema(HouseholdFilterSchema):
    q = fields.String(
        validate=_not_in_the_address,
        metadata={"description": "不接受：查找请用 POST /api/v1/households/search"},
    )


class HouseholdSearchSchema(HouseholdFilterSchema):
    q = fields.String(
        required=True,
        validate=[
            validate.Length(max=64),
            validate.Regexp(r"\S", error="请填写要查找的姓名、身份证号或电话。"),
        ],
        metadata={"description": "成员姓名包含；或完整的身份证号、电话（按密钥哈希精确查找）"},
    )


class MemberSchema(BaseSchema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    relation = fields.Function(lambda m: m.relation.value)
    relation_label = fields.Function(lambda m: Relation(m.relation).label)
    id_number_masked = fields.String(allow_none=True)
    birth_year = fields.Integer(
        allow_none=True, metadata={"description": "出生年份；完整出生日期只在查看身份证号时显示"}
    )
    age = fields.Function(
        lambda m: m.age_on(clock.today()), allow_none=True, metadata={"description": "当年周岁"}
    )
    sex = fields.Function(lambda m: m.sex.value if m.sex else None, allow_none=True)
    disability_type = fields.Function(
        lambda m: m.disability_type.value if m.disability_type else None, allow_none=True
    )
    disability_grade = fields.Integer(allow_none=True)
    illness = fields.String(allow_none=True)
    illness_kind = fields.Function(
        lambda m: m.illness_kind.value if m.illness_kind else None, allow_none=True
    )
    self_care = fields.Function(lambda m: m.self_care.value)
    school_stage = fields.Function(
        lambda m: m.school_stage.value if m.school_stage else None, allow_none=True
    )
    conditions = fields.Function(
        lambda m: m.conditions,
        allow_none=True,
        metadata={"description": "站点确认的病种目录代码；null 表示尚未确认"},
    )
    suggested_conditions = fields.Function(
        lambda m: suggested_conditions(m.illness) if m.conditions is None else [],
        metadata={"description": "尚未确认时，按疾病文字识别出的病种，待站点确认"},
    )
    child_status = fields.Function(
        lambda m: m.child_status.value if m.child_status else None, allow_none=True
    )


class NeedSummarySchema(BaseSchema):
    id = fields.Integer(required=True)
    domain = fields.Enum(Domain, by_value=True)
    domain_label = fields.Function(lambda n: Domain(n.domain).label)
    text = fields.String()
    public_summary = fields.String(allow_none=True, metadata={"description": "对外情况说明"})
    amount_gap_fen = fields.Integer(allow_none=True)
    delivered_fen = fields.Integer(dump_only=True, metadata={"description": "已完成转介交付的金额"})
    remaining_gap_fen = fields.Integer(
        dump_only=True, allow_none=True, metadata={"description": "尚未覆盖的缺口"}
    )
    urgency = fields.Enum(Urgency, by_value=True)
    status = fields.Enum(NeedStatus, by_value=True)
    created_at = fields.DateTime()


class HouseholdSummarySchema(BaseSchema):
    id = fields.Integer(required=True)
    head_name = fields.String(required=True)
    station_id = fields.Integer(required=True)
    station_name = fields.Function(lambda h: h.station.name)
    region_code = fields.String(required=True)
    categories = fields.List(fields.String())
    category_labels = fields.Function(lambda h: _labels(HouseholdCategory, h.categories))
    situations = fields.List(fields.String())
    phone_masked = fields.String(allow_none=True)
    has_consent = fields.Boolean()


class GovAidOutSchema(BaseSchema):
    id = fields.Integer()
    aid_type = fields.Function(lambda a: a.aid_type.value)
    amount_fen = fields.Integer()
    period_start_on = fields.Date()
    period_end_on = fields.Date(allow_none=True)


def _priority_groups(household: Household) -> list[str]:
    return [g.value for g in household.priority_groups(clock.today())]


class HouseholdSchema(HouseholdSummarySchema):
    status = fields.Function(lambda h: h.status.value)
    priority_groups = fields.Function(_priority_groups, metadata={"description": "由成员情况推导"})
    consent_scope = fields.String(allow_none=True)
    gov_aid = fields.List(fields.Nested(GovAidOutSchema))
    address = fields.String(allow_none=True)
    income_per_head_fen = fields.Integer()
    medical_expense_fen = fields.Integer()
    education_expense_fen = fields.Integer()
    consent_on = fields.Date(allow_none=True)
    members = fields.List(fields.Nested(MemberSchema))
    needs = fields.List(fields.Nested(NeedSummarySchema))


class HouseholdPageSchema(BaseSchema):
    items = fields.List(fields.Nested(HouseholdSummarySchema), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
