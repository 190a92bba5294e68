"""The warning rules' numbers: the provincial defaults (省级默认值), each county's own
settings, and what a rule does with them, in Chinese."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import WarningRuleSetting
from models.enums import WarningRule

from .county_settings import county_code_of

#: A household whose record changed within this many days before aid stopped has been seen
#: by the station since: the stop may well be right.
AID_STOPPED_UNCHANGED_DAYS = 90
#: Compulsory schooling (义务教育): ages reached in the record's year.
SCHOOL_AGES = range(6, 16)


@dataclass(frozen=True)
class RuleSetting:
    """A rule as it runs in one county: its numbers and whether it runs."""

    rule: WarningRule
    enabled: bool
    threshold_fen: int | None
    income_share_percent: int | None
    due_days: int
    #: True when the county has not set it: the provincial default.
    is_default: bool
    #: What the rule does with these numbers, in Chinese.
    explanation: str


@dataclass(frozen=True)
class Default:
    threshold_fen: int | None
    income_share_percent: int | None
    due_days: int


#: The provincial defaults (省级默认值), for every county that has not set its own.
DEFAULTS: dict[WarningRule, Default] = {
    WarningRule.MEDICAL_COST: Default(2_000_000, 50, 15),
    WarningRule.SEVERE_DISABILITY: Default(None, None, 15),
    WarningRule.AID_STOPPED: Default(None, None, 15),
    WarningRule.SCHOOL_DROPOUT: Default(None, None, 7),
    WarningRule.HEAD_UNEMPLOYED: Default(None, None, 15),
    WarningRule.DISASTER_LOSS: Default(500_000, None, 7),
}
#: Rules that compare an amount, and the one that also compares a share of income.
AMOUNT_RULES = (WarningRule.MEDICAL_COST, WarningRule.DISASTER_LOSS)
SHARE_RULES = (WarningRule.MEDICAL_COST,)


def yuan_text(fen: int) -> str:
    """``5200000`` → ``52,000 元``; cents only when there are any."""
    text = f"{fen / 100:,.0f}" if fen % 100 == 0 else f"{fen / 100:,.2f}"
    return f"{text} 元"


def _short_yuan(fen: int) -> str:
    """``2000000`` → ``2万元``: round ten-thousands as people say them in rules."""
    if fen and fen % 1_000_000 == 0:
        return f"{fen // 1_000_000}万元"
    return yuan_text(fen)


def describe(
    rule: WarningRule, threshold_fen: int | None, share_percent: int | None, due_days: int
) -> str:
    """What ``rule`` does with these numbers, in Chinese."""
    if rule == WarningRule.MEDICAL_COST:
        tests = []
        if threshold_fen is not None:
            tests.append(f"累计达到 {_short_yuan(threshold_fen)}")
        if share_percent is not None:
            tests.append(f"达到家庭年收入的 {share_percent}%")
        what = "近12个月医疗费用个人自付" + ("，或".join(tests) or "（未设条件）")
    elif rule == WarningRule.SEVERE_DISABILITY:
        what = "残联新办或变更为一、二级残疾证，而台账中尚未登记为一、二级残疾"
    elif rule == WarningRule.AID_STOPPED:
        what = (
            f"民政救助停止，而家庭情况自停止前 {AID_STOPPED_UNCHANGED_DAYS} 天以来未有变更，"
            "且此后没有新的救助开始"
        )
    elif rule == WarningRule.SCHOOL_DROPOUT:
        what = f"义务教育阶段（{SCHOOL_AGES[0]}–{SCHOOL_AGES[-1]} 岁）儿童辍学"
    elif rule == WarningRule.HEAD_UNEMPLOYED:
        what = "户主登记失业（未在册人员由服务站入户核查）"
    else:
        what = f"受灾损失达到 {_short_yuan(threshold_fen or 0)}"
    return f"{what}；{due_days} 天内核实"


def default_setting(rule: WarningRule) -> RuleSetting:
    d = DEFAULTS[rule]
    return RuleSetting(
        rule, True, d.threshold_fen, d.income_share_percent, d.due_days, True,
        describe(rule, d.threshold_fen, d.income_share_percent, d.due_days),
    )  # fmt: skip


def setting_of(row: WarningRuleSetting) -> RuleSetting:
    d = DEFAULTS[row.rule]
    due = row.due_days if row.due_days is not None else d.due_days
    threshold = row.threshold_fen if row.rule in AMOUNT_RULES else None
    share = row.income_share_percent if row.rule in SHARE_RULES else None
    return RuleSetting(
        row.rule, row.enabled, threshold, share, due, False,
        describe(row.rule, threshold, share, due),
    )  # fmt: skip


class Settings:
    """Every county's settings, read once per run: a rule a county has not set runs on the
    provincial default."""

    def __init__(self, db: Session) -> None:
        self._set = {(r.region_code, r.rule): setting_of(r) for r in db.scalars(
            sa.select(WarningRuleSetting))}  # fmt: skip
        self._defaults = {rule: default_setting(rule) for rule in WarningRule}

    def of(self, region_code: str, rule: WarningRule) -> RuleSetting:
        return self._set.get((county_code_of(region_code), rule)) or self._defaults[rule]
