"""What each input field must be, written once: the HTML forms (``web/forms.py``), the API
schemas (``web/schemas/``), the services and the Excel import columns all take their bounds,
required fields and messages from here, so a value refused one way is refused every way, with
the same words.

Messages are Chinese and name the field as users see it: :attr:`FieldRule.label` is the form's
label and the Excel template's header. Amounts are held in fen (分) and typed in yuan (元);
their bounds are in fen and their messages in yuan.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from matcher.conditions import shipped_catalogue
from models.enums import (
    ChildStatus,
    DisabilityType,
    Domain,
    HouseholdCategory,
    HouseholdSituation,
    IllnessKind,
    LabelledEnum,
    Relation,
    SchoolStage,
    SelfCare,
    ServiceForm,
    ServiceType,
    Sex,
    TargetGroup,
)

#: Largest amount anywhere (fen): 1000 亿元, far above any real figure, inside a 64-bit column.
MAX_FEN = 10**13
#: Most places a project may offer.
MAX_QUOTA = 1_000_000
#: Most members one household may list.
MAX_MEMBERS = 30


@dataclass(frozen=True)
class FieldRule:
    """One input field's contract.

    ``kind`` says how the value is typed: ``text``, ``int``, ``fen`` (an amount), ``date``,
    ``bool``, ``choice`` (one code of ``vocabulary``), ``choices`` (several), ``codes``
    (region codes), ``conditions`` (several codes of the condition catalogue). Bounds are
    inclusive; ``min_value``/``max_value`` are in fen for amounts.
    """

    label: str
    kind: str
    required: bool = False
    required_message: str | None = None
    min_value: int | None = None
    max_value: int | None = None
    max_length: int | None = None
    max_items: int | None = None
    max_items_message: str | None = None
    vocabulary: type[LabelledEnum] | None = None

    @property
    def allowed_codes(self) -> list[str] | None:
        """The codes a choice may take: the vocabulary's, or the condition catalogue's."""
        if self.kind == "conditions":
            return [entry.code for entry in shipped_catalogue()]
        return None if self.vocabulary is None else self.vocabulary.codes()

    @property
    def missing_message(self) -> str:
        return self.required_message or f"请填写{self.label}。"

    @property
    def range_message(self) -> str:
        # An amount's label says it is in yuan (“项目预算（元）”), so its bounds are in yuan.
        low, high = (
            None if v is None else _shown(v, self.kind) for v in (self.min_value, self.max_value)
        )
        if low is None:
            return f"{self.label}不能大于 {high}。"
        if high is None:
            return f"{self.label}不能小于 {low}。"
        return f"{self.label}应在 {low} 至 {high} 之间。"

    @property
    def length_message(self) -> str:
        return f"{self.label}不能超过 {self.max_length} 个字符。"

    @property
    def items_message(self) -> str:
        return self.max_items_message or f"{self.label}不能超过 {self.max_items} 项。"

    def unknown_message(self, unknown: list[str]) -> str:
        return f"{self.label}中有未知的取值：{'、'.join(sorted(unknown))}。"

    @property
    def is_bounded(self) -> bool:
        return self.min_value is not None or self.max_value is not None

    def within_bounds(self, value: Any) -> bool:
        """Whether a number lies within the bounds (anything else is not this check's to
        refuse)."""
        if not isinstance(value, (int, Decimal)) or isinstance(value, bool):
            return True
        low, high = self.min_value, self.max_value
        return (low is None or value >= low) and (high is None or value <= high)

    def problems(self, value: Any) -> list[str]:
        """What is wrong with ``value`` (held form: amounts in fen); empty when it is fine."""
        if is_blank(value):
            return [self.missing_message] if self.required else []
        if isinstance(value, str) and self.max_length is not None and len(value) > self.max_length:
            return [self.length_message]
        if self.is_bounded and not self.within_bounds(value):
            return [self.range_message]
        if self.max_items is not None and isinstance(value, list) and len(value) > self.max_items:
            return [self.items_message]
        codes = _code_set(self.kind, self.vocabulary)
        if codes is not None:
            values = value if isinstance(value, list) else [value]
            unknown = [str(v) for v in values if str(v) not in codes]
            if unknown:
                return [self.unknown_message(unknown)]
        return []


@functools.cache
def _code_set(kind: str, vocabulary: type[LabelledEnum] | None) -> frozenset[str] | None:
    """``FieldRule.allowed_codes`` as a set, made once (an import checks every member)."""
    if kind == "conditions":
        return frozenset(entry.code for entry in shipped_catalogue())
    return None if vocabulary is None else frozenset(vocabulary.codes())


def is_blank(value: Any) -> bool:
    """Nothing given: None, empty or whitespace text, an empty list."""
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _shown(value: int, kind: str) -> str:
    """A bound as users read it: amounts in yuan, large round numbers in 万 or 亿."""
    if kind == "fen":
        if value % 100:
            return str(Decimal(value) / 100)
        value //= 100
    for size, unit in ((10**8, "亿"), (10**4, "万")):
        if value >= size and value % size == 0:
            return f"{value // size}{unit}"
    return str(value)


def field_problems(
    contract: Mapping[str, FieldRule], data: Any, prefix: str = ""
) -> dict[str, list[str]]:
    """Every field of ``data`` (an object or a mapping) that breaks its rule, by field name
    (with ``prefix``, e.g. ``members.0.``)."""
    get = data.get if isinstance(data, Mapping) else (lambda name: getattr(data, name, None))
    errors: dict[str, list[str]] = {}
    for name, rule in contract.items():
        problems = rule.problems(get(name))
        if problems:
            errors[prefix + name] = problems
    return errors


def _money(label: str, **kwargs: Any) -> FieldRule:
    return FieldRule(label, "fen", min_value=0, max_value=MAX_FEN, **kwargs)


#: A project as a charity registers it, in the order of the Excel template's columns.
PROJECT: dict[str, FieldRule] = {
    "name": FieldRule("项目名称", "text", required=True, max_length=128),
    "description": FieldRule("项目简介", "text", max_length=5000),
    "domains": FieldRule(
        "帮扶领域",
        "choices",
        required=True,
        required_message="至少选择一个帮扶领域。",
        vocabulary=Domain,
    ),  # fmt: skip
    "target_groups": FieldRule("帮扶对象", "choices", vocabulary=TargetGroup),
    "forms": FieldRule("帮扶形式", "choices", vocabulary=ServiceForm),
    "service_types": FieldRule("服务类型", "choices", vocabulary=ServiceType),
    "service_area": FieldRule("服务区域代码", "codes", required=True),
    "min_age": FieldRule("最小年龄", "int", min_value=0, max_value=120),
    "max_age": FieldRule("最大年龄", "int", min_value=0, max_value=120),
    "household_categories": FieldRule("家庭类别", "choices", vocabulary=HouseholdCategory),
    "max_income_per_head_fen": _money("月人均收入上限（元）"),
    "max_disability_grade": FieldRule("残疾等级上限", "int", min_value=1, max_value=4),
    "illness_kinds": FieldRule("疾病类型", "choices", vocabulary=IllnessKind),
    "school_stages": FieldRule("就学阶段", "choices", vocabulary=SchoolStage),
    "sexes": FieldRule("性别", "choices", vocabulary=Sex),
    "disability_types": FieldRule("残疾类别", "choices", vocabulary=DisabilityType),
    "conditions": FieldRule("病种", "conditions"),
    "child_statuses": FieldRule("儿童身份", "choices", vocabulary=ChildStatus),
    "household_situations": FieldRule("家庭情形", "choices", vocabulary=HouseholdSituation),
    "amount_per_beneficiary_fen": _money("每人帮扶金额（元）"),
    "budget_fen": _money("项目预算（元）"),
    "quota": FieldRule("名额", "int", required=True, min_value=0, max_value=MAX_QUOTA),
    "starts_on": FieldRule("开始日期", "date", required=True),
    "ends_on": FieldRule("结束日期", "date", required=True),
    "accepts_simplified": FieldRule("接受简化程序", "bool"),
    "response_days": FieldRule("响应时限（天）", "int", min_value=1, max_value=90),
    "contact_name": FieldRule("联系人", "text", max_length=64),
    "contact_phone": FieldRule("联系电话", "text", max_length=32),
}


def project_problems(data: Any) -> dict[str, list[str]]:
    """Field errors of a project input (an object or a mapping), the rules between fields
    included; whether its service area's codes exist is the service's to check."""
    errors = field_problems(PROJECT, data)
    for name, messages in project_order_problems(data).items():
        errors.setdefault(name, messages)
    return errors


def project_order_problems(data: Any) -> dict[str, list[str]]:
    """The rules between a project's fields: dates and ages in order."""
    get = data.get if isinstance(data, Mapping) else (lambda name: getattr(data, name, None))
    errors: dict[str, list[str]] = {}
    starts, ends = get("starts_on"), get("ends_on")
    if starts is not None and ends is not None and ends < starts:
        errors["ends_on"] = ["结束日期不能早于开始日期。"]
    low, high = get("min_age"), get("max_age")
    if low is not None and high is not None and low > high:
        errors["max_age"] = ["最大年龄不能小于最小年龄。"]
    return errors


#: A household's own details (its members follow :data:`MEMBER`).
HOUSEHOLD: dict[str, FieldRule] = {
    "address": FieldRule("住址", "text", max_length=255),
    "phone": FieldRule("联系电话", "text", max_length=32),
    "categories": FieldRule("家庭类别", "choices", vocabulary=HouseholdCategory),
    "situations": FieldRule("家庭情形", "choices", vocabulary=HouseholdSituation),
    "income_per_head_fen": _money("月人均收入（元）"),
    "medical_expense_fen": _money("年医疗自付（元）"),
    "education_expense_fen": _money("年教育支出（元）"),
    "members": FieldRule(
        "家庭成员",
        "list",
        required=True,
        required_message="家庭成员中须有且仅有一名户主。",
        max_items=MAX_MEMBERS,
        max_items_message=f"一户最多登记 {MAX_MEMBERS} 名成员。",
    ),
}

#: One member of a household.
MEMBER: dict[str, FieldRule] = {
    "relation": FieldRule("与户主关系", "choice", required=True, vocabulary=Relation),
    "name": FieldRule("姓名", "text", required=True, max_length=64),
    "id_number": FieldRule("身份证号", "text", max_length=18),
    "birth_on": FieldRule("出生日期", "date"),
    "sex": FieldRule("性别", "choice", vocabulary=Sex),
    "disability_type": FieldRule("残疾类别", "choice", vocabulary=DisabilityType),
    "disability_grade": FieldRule("残疾等级", "int", min_value=1, max_value=4),
    "illness": FieldRule("疾病", "text", max_length=128),
    "illness_kind": FieldRule("疾病类型", "choice", vocabulary=IllnessKind),
    "conditions": FieldRule("病种", "conditions"),
    "child_status": FieldRule("儿童身份", "choice", vocabulary=ChildStatus),
    "self_care": FieldRule("自理能力", "choice", vocabulary=SelfCare),
    "school_stage": FieldRule("就学阶段", "choice", vocabulary=SchoolStage),
}

#: A need recorded for a household.
NEED: dict[str, FieldRule] = {
    "text": FieldRule(
        "需求描述", "text", required=True, required_message="请描述需求。", max_length=2000
    ),
    "amount_gap_fen": _money("资金缺口（元）"),
    "public_summary": FieldRule("对外情况说明", "text", max_length=500),
}

#: Government aid a household receives.
GOV_AID: dict[str, FieldRule] = {
    "amount_fen": _money("金额（元）", required=True, required_message="请填写金额。"),
}
