"""Template filters that put codes into words: a half-year as people write it, a project
field by the name its form uses."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _

from matcher.reasons import Names, Reason
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


# A ledger's changed fields by the names the project form uses (supply/_diff.html).
pages.add_app_template_filter(field_name, "field_name")


@pages.app_template_filter("reason")
def reason(text: str) -> str:
    """A matcher's reason in the page's language: its template through the catalogue, with
    vocabulary labels translated and data (dates, the words of a need, conditions) as given.
    Plain text, escaped by the template."""
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
