"""The dashboard's figures as tables: one definition for the pages' table views, the
per-figure ``.xlsx`` downloads and the half-year report."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from models.clock import half_year_name

from .excel import _neutralise


def _yuan(fen: Any) -> float | None:
    return None if fen is None else round(fen / 100, 2)


def _percent(share: Any) -> str:
    return "—" if share is None else f"{share * 100:.1f}%"


class Label(str):
    """A vocabulary label in a table's cells (医疗/大病, 已完成 …), unlike the data beside it
    (names of charities and places): pages and exports say it in the reader's language."""


#: Says a catalogue text in the reader's language: ``gettext`` on pages and in exports asked
#: for by a browser, the Chinese text itself (:func:`chinese`) elsewhere.
Say = Callable[..., str]


def chinese(text: str, **params: Any) -> str:
    return text % params if params else text


@dataclass(frozen=True)
class Table:
    title: str
    headers: tuple[str, ...]
    rows: Callable[[Any], list[tuple[Any, ...]]]


TABLES: dict[str, Table] = {
    "needs_and_places": Table(
        "需求与项目名额（按帮扶领域）", ("帮扶领域", "待对接需求", "可用名额", "缺口"),
        lambda d: [(Label(r["label"]), r["open_needs"], r["places"], r["gap"]) for r in d],
    ),
    "coverage": Table(
        "有可用项目的需求占比", ("待对接需求", "有同领域、覆盖本地且有名额的项目", "占比"),
        lambda d: [(d["open_needs"], d["with_project"], _percent(d["share"]))],
    ),
    "waiting": Table(
        "需求等待时间", ("待对接需求", "等待超过 15 天", "等待超过 30 天"),
        lambda d: [(d["open"], d["over_15_days"], d["over_30_days"])],
    ),
    "funnel": Table(
        "转介漏斗", ("环节", "转介数"),
        lambda d: [(Label(s["label"]), s["count"]) for s in d["steps"]],
    ),
    "durations": Table(
        "办理时长（中位数，天）", ("提交到批准", "批准到接收"),
        lambda d: [(d["submission_to_approval_days"], d["approval_to_acceptance_days"])],
    ),
    "charities": Table(
        "慈善组织接收率", ("慈善组织", "接收", "婉拒", "超时未答复", "接收率"),
        lambda d: [(r["name"], r["accepted"], r["declined"], r["expired"],
                    _percent(r["acceptance_rate"])) for r in d],
    ),
    "delivered": Table(
        "帮扶金额（按月份、领域）", ("月份", "帮扶领域", "金额（元）", "完成转介数"),
        lambda d: [(r["month"], Label(r["label"]), _yuan(r["amount_fen"]), r["referrals"])
                   for r in d],
    ),
    "groups_reached": Table(
        "惠及的优先帮扶对象（户）", ("对象", "户数"),
        lambda d: [(Label(r["label"]), r["households"]) for r in d],
    ),
    "children": Table(
        "下级区划", ("区划", "代码", "待对接需求", "转介", "已完成", "帮扶金额（元）"),
        lambda d: [(r["name"], r["code"], r["open_needs"], r["referrals"], r["completed"],
                    _yuan(r["delivered_fen"])) for r in d],
    ),
    "warnings_summary": Table(
        "主动发现预警", ("发出预警", "已确认", "已排除", "已超期", "确认用时（中位数，天）"),
        lambda d: [(d["raised"], d["confirmed"], d["dismissed"], d["overdue"],
                    d["median_days_to_confirm"])],
    ),
    "warnings_by_rule": Table(
        "主动发现预警（按规则）",
        ("规则", "发出预警", "已确认", "已排除", "已超期", "确认用时（中位数，天）"),
        lambda d: [(Label(r["label"]), r["raised"], r["confirmed"], r["dismissed"], r["overdue"],
                    r["median_days_to_confirm"]) for r in d],
    ),
    "warnings_by_region": Table(
        "主动发现预警（按乡镇）",
        ("乡镇（街道）", "发出预警", "已确认", "已排除", "已超期", "确认用时（中位数，天）"),
        lambda d: [(r["name"], r["raised"], r["confirmed"], r["dismissed"], r["overdue"],
                    r["median_days_to_confirm"]) for r in d],
    ),
}  # fmt: skip


def table_of(
    name: str, figures: dict[str, Any]
) -> tuple[str, tuple[str, ...], list[tuple[Any, ...]]]:
    table = TABLES[name]
    return table.title, table.headers, table.rows(figures[name])


#: Characters a sheet's name may not hold.
_NOT_IN_SHEET_NAMES = re.compile(r"[][:*?/\\]")


def _cell(value: Any, say: Say) -> Any:
    return _neutralise(say(value) if isinstance(value, Label) else value)


def _sheet(book: Workbook, title: str, caption: str, headers: tuple[str, ...],
           rows: list[tuple[Any, ...]], say: Say) -> None:  # fmt: skip
    sheet = book.create_sheet(_NOT_IN_SHEET_NAMES.sub(" ", title)[:31])
    sheet.append([_neutralise(caption)])
    sheet["A1"].font = Font(bold=True)
    sheet.append([say(h) for h in headers])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_cell(v, say) for v in row])
    for column in sheet.columns:
        sheet.column_dimensions[column[0].column_letter].width = 18


def _bytes(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _caption(figures: dict[str, Any], say: Say) -> str:
    region = figures["region"]
    period = figures.get("period")
    if not period or half_year_name(period) == period:
        return f"{region['name']}（{region['code']}）"
    half = "%(year)s年上半年" if period.endswith("1") else "%(year)s年下半年"
    return f"{region['name']}（{region['code']}） {say(half, year=period[:4])}"


def figure_workbook(name: str, figures: dict[str, Any], say: Say = chinese) -> bytes:
    """One figure of one region as an ``.xlsx``."""
    book = Workbook()
    book.remove(book.worksheets[0])
    title, headers, rows = table_of(name, figures)
    _sheet(book, say(title), f"{_caption(figures, say)} · {say(title)}", headers, rows, say)
    return _bytes(book)


#: The half-year report's sheet of charities' records (rows from ``charity_record.record_rows``).
RECORDS_TITLE = "慈善组织帮扶记录"


def report_workbook(
    figures: dict[str, Any],
    children: list[dict[str, Any]],
    say: Say = chinese,
    records: list[tuple[Any, ...]] | None = None,
) -> bytes:
    """The half-year report: a sheet per figure for the region, then the records of the
    charities registered in or serving it (when given), then a sheet per child region with
    its own figures on one page."""
    from .charity_record import COLUMNS

    book = Workbook()
    book.remove(book.worksheets[0])
    for name in TABLES:
        title, headers, rows = table_of(name, figures)
        _sheet(book, say(title), f"{_caption(figures, say)} · {say(title)}", headers, rows, say)
    if records is not None:
        headers = ("慈善组织", *(label for _key, label in COLUMNS), "婉拒原因")
        caption = f"{_caption(figures, say)} · {say(RECORDS_TITLE)}"
        _sheet(book, say(RECORDS_TITLE), caption, headers, records, say)
    for child in children:
        sheet_rows: list[tuple[Any, ...]] = []
        for name in TABLES:
            if name == "children":
                continue
            title, headers, rows = table_of(name, child)
            sheet_rows += [(say(title),), tuple(say(h) for h in headers), *rows, ()]
        book_sheet = book.create_sheet(_NOT_IN_SHEET_NAMES.sub(" ", child["region"]["name"])[:31])
        book_sheet.append([_neutralise(_caption(child, say))])
        for row in sheet_rows:
            book_sheet.append([_cell(v, say) for v in row])
    return _bytes(book)
