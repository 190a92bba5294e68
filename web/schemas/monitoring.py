"""Monitoring feeds: one record as a department delivers it, a batch, and what delivery says.

:class:`MonitoringRecordSchema` is the one definition of a good record: the JSON API, the
``.xlsx``/``.csv`` files and the command line all deliver through it (the service checks the
region against the database, which a schema cannot).
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from models.enums import (
    SOURCE_EVENTS,
    DisabilityType,
    GovAidType,
    MonitoringEvent,
    MonitoringSource,
    SchoolStage,
)
from web.services.errors import ValidationFailed
from web.services.id_numbers import normalize_id_number

from .base import BaseSchema

#: Records are not older than this day: no department keeps usable data from before it.
EARLIEST_DAY = dt.date(2000, 1, 1)
#: The largest amount one record may carry, in yuan (a typo of extra zeros stops here).
MAX_AMOUNT_YUAN = decimal.Decimal(100_000_000)
MAX_DETAIL_CHARS = 500
#: Events whose record is read for its amount: the amount is required.
AMOUNT_EVENTS = frozenset({MonitoringEvent.MEDICAL_EXPENSE, MonitoringEvent.DISASTER_LOSS})

#: The Chinese name of each field, as the file template's header says it.
FIELD_LABELS = {
    "id_number": "身份证号",
    "name": "姓名",
    "region_code": "所在区划代码",
    "event": "事件",
    "occurred_on": "发生日期",
    "amount_yuan": "金额（元）",
    "detail": "情况说明",
    "facts": "事件信息",
    "facts.disability_type": "残疾类别",
    "facts.grade": "残疾等级",
    "facts.school_stage": "学段",
    "facts.aid_type": "救助类别",
}


@functools.cache
def fact_rules() -> dict[MonitoringEvent, dict[str, tuple[type, ...] | range]]:
    """The facts each event must carry: a vocabulary of codes, or a range of whole numbers."""
    disability: dict[str, tuple[type, ...] | range] = {
        "disability_type": (DisabilityType,),
        "grade": range(1, 5),
    }
    school: dict[str, tuple[type, ...] | range] = {"school_stage": (SchoolStage,)}
    aid: dict[str, tuple[type, ...] | range] = {"aid_type": (GovAidType,)}
    return {
        MonitoringEvent.DISABILITY_ISSUED: disability,
        MonitoringEvent.DISABILITY_CHANGED: disability,
        MonitoringEvent.SCHOOL_ENROLLED: school,
        MonitoringEvent.SCHOOL_DROPOUT: school,
        MonitoringEvent.SCHOOL_STAGE_CHANGED: school,
        MonitoringEvent.AID_STARTED: aid,
        MonitoringEvent.AID_STOPPED: aid,
        MonitoringEvent.AID_CHANGED: aid,
    }


def _id_number(value: str) -> None:
    try:
        normalize_id_number(value)
    except ValidationFailed as error:
        raise ValidationError(error.fields["id_number"]) from None


def _twelve_digits(value: str) -> None:
    if len(value) != 12 or not value.isdigit():
        raise ValidationError("应为 12 位行政区划代码（乡镇或村）。")


def _amount(value: decimal.Decimal) -> None:
    if value < 0:
        raise ValidationError("不能为负数。")
    if value > MAX_AMOUNT_YUAN:
        raise ValidationError(f"不能超过 {MAX_AMOUNT_YUAN:,} 元。")
    if value != value.quantize(decimal.Decimal("0.01")):
        raise ValidationError("最多两位小数（分）。")


class MonitoringRecordSchema(BaseSchema):
    """One record; ``event`` must be one of the delivering ``source``'s, ``occurred_on`` not
    after ``today`` (both set by :func:`record_schema`)."""

    source: MonitoringSource | None = None
    today: dt.date = dt.date.max

    id_number = fields.String(
        required=True, validate=_id_number, metadata={"description": "身份证号（18 位）"}
    )
    name = fields.String(
        required=True,
        validate=validate.Length(min=1, max=64, error="应为 1 到 64 个字符。"),
        metadata={"description": "姓名"},
    )
    region_code = fields.String(
        required=True,
        validate=_twelve_digits,
        metadata={"description": "所在乡镇（街道）或村（社区）的 12 位行政区划代码"},
    )
    event = fields.String(
        required=True,
        validate=validate.OneOf(MonitoringEvent.codes()),
        metadata={"description": "事件代码，须是报送部门可报送的事件（见各部门模板）"},
    )
    occurred_on = fields.Date(
        required=True, metadata={"description": "事件发生日期（不早于 2000-01-01，不晚于今天）"}
    )
    amount_yuan = fields.Decimal(
        load_default=None,
        allow_nan=False,
        validate=_amount,
        metadata={"description": "金额（元，至多两位小数）；医疗自付费用和灾害损失必填"},
    )
    facts = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        load_default=dict,
        metadata={
            "description": "事件信息：残疾证为 disability_type（残疾类别代码）和 grade（1–4）；"
            "学籍为 school_stage（学段代码）；救助为 aid_type（救助类别代码）"
        },
    )
    detail = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=MAX_DETAIL_CHARS),
        metadata={"description": "情况说明（至多 500 字）"},
    )

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _check(self, data: dict[str, Any], original: Any, **_kwargs: Any) -> None:
        errors: dict[str, list[str]] = {}
        source, today = self.source, self.today
        event = data.get("event")
        if (
            event is not None
            and source is not None
            and MonitoringEvent(event) not in SOURCE_EVENTS[source]
        ):
            allowed = "、".join(f"{e.value}（{e.label}）" for e in SOURCE_EVENTS[source])
            errors["event"] = [f"{source.label}只能报送：{allowed}。"]
        day = data.get("occurred_on")
        if day is not None and not EARLIEST_DAY <= day <= today:
            errors["occurred_on"] = ["不能早于 2000-01-01，也不能晚于今天。"]
        if event is not None and "event" not in errors:
            kind = MonitoringEvent(event)
            # An amount given but refused (negative, three decimals …) has its own reason.
            given = isinstance(original, dict) and original.get("amount_yuan") not in (None, "")
            if kind in AMOUNT_EVENTS and data.get("amount_yuan") is None and not given:
                errors["amount_yuan"] = [f"“{kind.label}”须填写金额。"]
            errors |= _fact_problems(kind, data.get("facts") or {})
        if errors:
            raise ValidationError(errors)


def _fact_problems(event: MonitoringEvent, facts: dict[str, Any]) -> dict[str, list[str]]:
    rules = fact_rules().get(event, {})
    errors: dict[str, list[str]] = {}
    for key in facts:
        if key not in rules:
            errors[f"facts.{key}"] = [f"“{event.label}”不带这一项信息。"]
    for key, allowed in rules.items():
        value = facts.get(key)
        if value is None or value == "":
            errors[f"facts.{key}"] = [f"“{event.label}”须填写。"]
        elif isinstance(allowed, range):
            if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
                errors[f"facts.{key}"] = [f"应为 {allowed.start} 到 {allowed.stop - 1} 的整数。"]
        else:
            (vocabulary,) = allowed
            if value not in vocabulary.codes():  # type: ignore[attr-defined]
                codes = "、".join(vocabulary.codes())  # type: ignore[attr-defined]
                errors[f"facts.{key}"] = [f"应为以下代码之一：{codes}。"]
    return errors


def record_schema(source: MonitoringSource, today: dt.date) -> MonitoringRecordSchema:
    """The schema checking records of ``source`` on ``today``, built once per batch."""
    schema = MonitoringRecordSchema(many=True)
    schema.source, schema.today = source, today
    return schema


class BatchSchema(BaseSchema):
    source = fields.Enum(
        MonitoringSource,
        by_value=True,
        required=True,
        metadata={"description": "报送部门：" + "、".join(
            f"{s.value}（{s.label}）" for s in MonitoringSource
        )},
    )  # fmt: skip
    delivered_on = fields.Date(required=True, metadata={"description": "报送日期"})
    # Checked record by record by the service, so that every bad row is named together.
    records = fields.List(
        fields.Dict(keys=fields.String(), values=fields.Raw()),
        required=True,
        validate=validate.Length(min=1, error="至少一条记录。"),
        metadata={"description": "监测记录，每条的字段见 MonitoringRecord"},
    )


class BatchResultSchema(BaseSchema):
    batch_id = fields.Integer(metadata={"description": "批次编号"})
    is_repeat = fields.Boolean(metadata={"description": "此前已报送过完全相同的批次：未作任何改动"})
    record_count = fields.Integer(metadata={"description": "记录条数"})
    matched_count = fields.Integer(metadata={"description": "与需求台账中的人员匹配上的条数"})
    warnings_raised = fields.Integer(metadata={"description": "本次新产生的预警数"})
