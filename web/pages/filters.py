"""Template filters that put codes into words: a half-year as people write it, a project
field by the name its form uses, a ranking model and a case file by what they are."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask_babel import gettext as _

from matcher.evaluation import CASE_FILE_LABELS, case_file_label
from matcher.reasons import Names, Reason, from_record
from matcher.scoring import read_model_name
from models import clock
from web.services.project_changes import field_name
from web.services.stats_tables import Label

from .blueprint import pages


@pages.app_template_filter("half_year")
def half_year(period: str | None) -> str:
    """``2026H2`` → 2026年下半年 (in English, "H2 2026"); anything else as given."""
    if not period or clock.half_year_name(period) == period:
        return period or ""
    year = period[:4]
    if period.endswith("1"):
        return _("%(year)s年上半年", year=year)
    return _("%(year)s年下半年", year=year)


@pages.app_template_filter("words")
def words(text: str) -> str:
    """``text`` in the page's language where the catalogue has it, else as given. Unlike
    ``_()`` in a template, whose result is trusted markup, this returns plain text that the
    template escapes: fit for values that may hold what users typed."""
    return _(text) if text else text


@pages.app_template_filter("model_name")
def model_name(name: str | None) -> str:
    """``weighted-v2`` → 规则加权模型第 2 版; ``logistic-3-20261207`` → 学习模型第 3 号，
    2026年12月7日训练; a name of neither kind → 其他排序模型. No brackets of its own: pages put
    it in theirs, after a score."""
    if not name:
        return ""
    read = read_model_name(name)
    if read is None:
        return _("其他排序模型")
    if read.trained_on is None:
        return _("规则加权模型第 %(version)s 版", version=read.number)
    day = read.trained_on
    return _("学习模型第 %(number)s 号，%(year)s年%(month)s月%(day)s日训练",
             number=read.number, year=day.year, month=day.month, day=day.day)  # fmt: skip


@pages.app_template_filter("case_file")
def case_file(name: str) -> str:
    """A case file by what it is for (``holdout_cases.json`` → 留出评测集)."""
    label = CASE_FILE_LABELS.get(name)
    return _(label) if label is not None else case_file_label(name)


# A ledger's changed fields by the names the project form uses (supply/_diff.html).
pages.add_app_template_filter(field_name, "field_name")


@pages.app_template_filter("reason")
def reason(text: str | Mapping[str, Any]) -> str:
    """A matcher's reason in the page's language: its template through the catalogue, with
    vocabulary labels translated and data (dates, the words of a need, conditions) as given.
    A reason kept as JSON (``reason_record``) is read back first. Plain text, escaped by the
    template."""
    if isinstance(text, Mapping):
        text = from_record(text)
    if not isinstance(text, Reason):
        return _(text) if text else text
    separator = _("、")
    params = {
        name: separator.join(_(v) if value.translated else v for v in value)
        if isinstance(value, Names)
        else value
        for name, value in text.params.items()
    }
    return _(text.template, **params) if params else _(text.template)


@pages.app_template_filter("sentences")
def sentences(messages: str | Iterable[object] | None) -> str:
    """Reasons written as sentences, joined into one: ``["须填写。", "格式有误。"]`` →
    须填写；格式有误。 (each one's own full stop gives way to the semicolon between them)."""
    if isinstance(messages, str):
        return messages
    parts = [str(m).rstrip("。；; ") for m in messages or ()]
    joined = "；".join(p for p in parts if p)
    return f"{joined}。" if joined else ""


@pages.app_template_test("label")
def is_label(value: object) -> bool:
    """A table cell holding a vocabulary label, said in the page's language (``|words``)."""
    return isinstance(value, Label)
