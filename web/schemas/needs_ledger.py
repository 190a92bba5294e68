"""Schemas for stations, household input, government aid, needs and the worklist."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, post_load, validate

from models.enums import (
    Domain,
    GovAidType,
    NeedStatus,
    SelfCare,
    StationKind,
    Urgency,
)
from web.services.contracts import GOV_AID, HOUSEHOLD, MEMBER, NEED
from web.services.households import HouseholdInput, MemberInput

from .base import ROW_ID, BaseSchema, code_of, follows
from .households import NeedSummarySchema

_CODE = validate.Regexp(r"^\d{12}$", error="应为 12 位行政区划代码。")


class StationSchema(BaseSchema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.Enum(StationKind, by_value=True)
    region_code = fields.String(required=True)
    contact_name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    is_active = fields.Boolean()


class StationInputSchema(BaseSchema):
    name = fields.String(required=True, validate=validate.Length(min=2, max=128))
    kind = fields.Enum(StationKind, by_value=True, required=True)
    region_code = fields.String(required=True, validate=_CODE)
    contact_name = fields.String(load_default=None, validate=validate.Length(max=64))
    phone = fields.String(load_default=None, validate=validate.Length(max=32))
    address = fields.String(load_default=None, validate=validate.Length(max=255))


class StationUpdateSchema(BaseSchema):
    name = fields.String(required=True, validate=validate.Length(min=2, max=128))
    contact_name = fields.String(load_default=None, validate=validate.Length(max=64))
    phone = fields.String(load_default=None, validate=validate.Length(max=32))
    address = fields.String(load_default=None, validate=validate.Length(max=255))
    is_active = fields.Boolean(load_default=True)


def _member(name: str, field_cls: type[fields.Field] = fields.String, **kwargs: Any) -> Any:
    return field_cls(**follows(MEMBER[name], **kwargs))


def _household(name: str, **kwargs: Any) -> Any:
    return fields.Integer(**follows(HOUSEHOLD[name], **kwargs))


class MemberInputSchema(BaseSchema):
    """One member; bounds and messages are the member contract's (``contracts.MEMBER``)."""

    name = _member("name")
    relation = _member("relation")
    id_number = _member("id_number", metadata={"description": "身份证号"})
    birth_on = _member("birth_on", fields.Date)
    sex = _member("sex")
    disability_type = _member("disability_type")
    disability_grade = _member("disability_grade", fields.Integer)
    illness = _member("illness")
    illness_kind = _member("illness_kind")
    self_care = _member("self_care", load_default=SelfCare.INDEPENDENT.value)
    school_stage = _member("school_stage")
    conditions = fields.List(
        code_of(MEMBER["conditions"]),
        allow_none=True,
        **follows(MEMBER["conditions"]),
        metadata={
            "description": "站点确认的病种目录代码；省略或 null 表示尚未确认（按疾病文字识别）"
        },
    )
    child_status = _member("child_status")

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> MemberInput:
        return MemberInput(**data)


class HouseholdInputSchema(BaseSchema):
    """A household and its members; bounds and messages are the household contract's
    (``contracts.HOUSEHOLD``), as on the form and in the import. Amounts in fen."""

    station_id = fields.Integer(
        load_default=None, validate=ROW_ID, metadata={"description": "民政部门代录时指定"}
    )
    region_code = fields.String(required=True, validate=_CODE)
    address = fields.String(**follows(HOUSEHOLD["address"]))
    phone = fields.String(**follows(HOUSEHOLD["phone"]))
    categories = fields.List(
        code_of(HOUSEHOLD["categories"]), **follows(HOUSEHOLD["categories"], load_default=list)
    )
    situations = fields.List(
        code_of(HOUSEHOLD["situations"]), **follows(HOUSEHOLD["situations"], load_default=list)
    )
    income_per_head_fen = _household("income_per_head_fen", load_default=0)
    medical_expense_fen = _household("medical_expense_fen", load_default=0)
    education_expense_fen = _household("education_expense_fen", load_default=0)
    members = fields.List(fields.Nested(MemberInputSchema), **follows(HOUSEHOLD["members"]))

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        station_id = data.pop("station_id")
        return {"station_id": station_id, "data": HouseholdInput(**data)}


class DuplicateSchema(BaseSchema):
    member_name = fields.String(required=True)
    station_name = fields.String(required=True)


class GovAidSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    aid_type = fields.Enum(GovAidType, by_value=True, required=True)
    amount_fen = fields.Integer(**follows(GOV_AID["amount_fen"]))
    period_start_on = fields.Date(required=True)
    period_end_on = fields.Date(load_default=None, allow_none=True)


class ConsentSchema(BaseSchema):
    on = fields.Date(required=True, metadata={"description": "授权日期"})
    scope = fields.String(required=True, validate=validate.Length(min=1, max=255))


class RevealSchema(BaseSchema):
    value = fields.String(
        required=True, metadata={"description": "完整号码（本次查看已记入审计日志）"}
    )


class NeedInputSchema(BaseSchema):
    domain = fields.Enum(Domain, by_value=True, required=True)
    text = fields.String(**follows(NEED["text"]))
    member_id = fields.Integer(load_default=None, validate=ROW_ID)
    amount_gap_fen = fields.Integer(**follows(NEED["amount_gap_fen"]))
    urgency = fields.Enum(Urgency, by_value=True, load_default=Urgency.NORMAL)
    public_summary = fields.String(
        **follows(
            NEED["public_summary"], load_default=None,
            metadata={"description": "对外情况说明：慈善组织接收转介前只看到这段文字；"
                      "不得含号码、姓名、地址、微信/QQ号、邮箱；不填则按领域生成"},
        )
    )  # fmt: skip


class NeedSummaryInputSchema(BaseSchema):
    public_summary = fields.String(
        required=True,
        validate=validate.Length(max=NEED["public_summary"].max_length),
        metadata={"description": "对外情况说明"},
    )


class NeedSchema(NeedSummarySchema):
    household_id = fields.Integer()
    member_id = fields.Integer(allow_none=True)
    close_reason = fields.String(allow_none=True)
    gained_project_ids = fields.List(
        fields.Integer(), dump_only=True,
        metadata={"description": "重新匹配后新出现、服务站尚未查看的合适项目"},
    )  # fmt: skip
    gained_at = fields.DateTime(
        dump_only=True, allow_none=True, metadata={"description": "最近一次出现新合适项目的时间"}
    )


class NeedStatusSchema(BaseSchema):
    status = fields.Enum(NeedStatus, by_value=True, required=True)
    reason = fields.String(load_default=None, validate=validate.Length(max=500))


class NeedQuerySchema(BaseSchema):
    status = fields.Enum(NeedStatus, by_value=True, load_default=None)
    domain = fields.Enum(Domain, by_value=True, load_default=None)
    gained = fields.Boolean(
        load_default=None,
        metadata={"description": "true：只列出重新匹配后有新的合适项目、尚未查看的需求"},
    )


class WorklistQuerySchema(BaseSchema):
    gained = fields.Boolean(
        load_default=False, metadata={"description": "true：只列出有新的合适项目的需求"}
    )


class WorklistItemSchema(BaseSchema):
    need = fields.Nested(NeedSchema)
    household_id = fields.Function(lambda i: i.need.household_id)
    head_name = fields.Function(lambda i: i.need.household.head_name)
    waiting_days = fields.Integer()
    outside_gov_aid = fields.Boolean(metadata={"description": "未享受政府救助"})
    aid_below_expenses = fields.Boolean(metadata={"description": "所获救助低于刚性支出"})
    aid_fen = fields.Integer()
    rigid_expenses_fen = fields.Integer()


class WorklistSchema(BaseSchema):
    station = fields.Nested(StationSchema)
    items = fields.List(fields.Nested(WorklistItemSchema))
    by_domain = fields.Dict(keys=fields.String(), values=fields.Integer())
    outside_gov_aid = fields.Integer()
    aid_below_expenses = fields.Integer()
    gained = fields.Integer(metadata={"description": "有新的合适项目的需求数"})
    only_gained = fields.Boolean()


class HouseholdImportResultSchema(BaseSchema):
    households = fields.Integer(required=True)
    members = fields.Integer(required=True)
    duplicates = fields.List(fields.Nested(DuplicateSchema))
    duplicates_checked = fields.Boolean(
        metadata={"description": "否：今日身份证号查重已达上限，本次未查重"}
    )
