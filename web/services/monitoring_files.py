"""Monitoring batches as files: each source's ``.xlsx`` template (Chinese headers, events
and facts by their Chinese labels, an instructions sheet) and reading such a file, ``.xlsx``
or ``.csv`` (UTF-8, with or without BOM, or GB18030 as Excel on a Chinese Windows saves it),
back into records in the API's shape, every cell it cannot read named by its row."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from models.enums import (
    SOURCE_EVENTS,
    DisabilityType,
    GovAidType,
    LabelledEnum,
    MonitoringEvent,
    MonitoringSource,
    SchoolStage,
)
from web.schemas.monitoring import AMOUNT_EVENTS, FIELD_LABELS

from .errors import ValidationFailed
from .excel import _UNREADABLE, _neutralise, check_archive, sheet_rows

#: Most records one batch may carry (a county's 医保 deliver about this many a month).
MAX_BATCH_RECORDS = 200_000
#: Spreadsheet rows read, blank ones included (blank rows cost as much to read as full ones).
MAX_SHEET_ROWS = MAX_BATCH_RECORDS + 10_000

#: Row problems: row number → field → Chinese reasons.
RowProblems = dict[int, dict[str, list[str]]]


def row_refusal(problems: RowProblems) -> ValidationFailed:
    rows = {
        str(number): [
            _reason(field, message)
            for field, messages in problems[number].items()
            for message in messages
        ]
        for number in sorted(problems)
    }
    return ValidationFailed(
        f"共有 {len(rows)} 行有误，未接收任何记录；请修改后重新报送。", fields={"rows": rows}
    )


def _reason(field: str, message: str) -> str:
    """A reason naming its field in Chinese, unless the message already names it."""
    if field == "_row":
        return message
    label = FIELD_LABELS.get(field, field)
    return message if message.startswith(label) or f"“{label}”" in message else (
        f"“{label}”{message}"
    )  # fmt: skip


@dataclass(frozen=True)
class FileColumn:
    """A template column: its header, the record field it fills (``facts.<key>`` for a fact)
    and how a cell becomes the field's value."""

    header: str
    field: str
    read: Callable[[Any], Any]
    write: Callable[[Any], Any]
    required: bool = False
    note: str = ""


def _text(raw: Any) -> str:
    text = str(raw).strip()
    return text[1:] if text.startswith("'") and text[1:2] in ("=", "+", "-", "@") else text


def _id_cell(raw: Any) -> str:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        # Excel keeps 15 significant digits: an 18-digit number typed as a number is lost.
        raise ValueError("请把身份证号列设为“文本”格式后重新填写（数字格式会丢失末几位）。")
    return _text(raw)


def _code_cell(raw: Any) -> str:
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    return _text(raw)


def _date_cell(raw: Any) -> str:
    if isinstance(raw, dt.datetime):
        return raw.date().isoformat()
    if isinstance(raw, dt.date):
        return raw.isoformat()
    text = _text(raw).replace("/", "-").replace(".", "-")
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        parts = text.split("-")
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            try:
                return dt.date(int(parts[0]), int(parts[1]), int(parts[2])).isoformat()
            except ValueError:
                pass
        raise ValueError("应为日期，如 2026-12-01。") from None


def _amount_cell(raw: Any) -> decimal.Decimal:
    if isinstance(raw, float):
        return decimal.Decimal(str(raw))
    try:
        value = decimal.Decimal(_text(raw).replace(",", "").replace("，", ""))
    except decimal.InvalidOperation:
        raise ValueError("应为金额（元），如 52000.50。") from None
    if not value.is_finite():
        raise ValueError("应为金额（元），如 52000.50。")
    return value


_GRADES = {"1": 1, "2": 2, "3": 3, "4": 4, "一": 1, "二": 2, "三": 3, "四": 4}


def _grade_cell(raw: Any) -> int:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool) and float(raw).is_integer():
        grade = int(raw)
    else:
        text = _text(raw).removesuffix("级").removeprefix("第")
        if text not in _GRADES:
            raise ValueError("应为 1 到 4 级（如“二级”或 2）。")
        grade = _GRADES[text]
    if not 1 <= grade <= 4:
        raise ValueError("应为 1 到 4 级（如“二级”或 2）。")
    return grade


def _label_reader(vocabulary: Iterable[LabelledEnum]) -> Callable[[Any], str]:
    members = list(vocabulary)
    by_word = {m.label: m.value for m in members} | {m.value: m.value for m in members}

    def read(raw: Any) -> str:
        text = _text(raw)
        if text not in by_word:
            raise ValueError("应为以下之一：" + "、".join(m.label for m in members) + "。")
        return str(by_word[text])

    return read


def _label_writer(vocabulary: Iterable[LabelledEnum]) -> Callable[[Any], Any]:
    labels = {m.value: m.label for m in vocabulary}
    return lambda value: labels.get(value, value) if value is not None else None


def _same(value: Any) -> Any:
    return value


def _grade_out(value: Any) -> Any:
    return None if value is None else f"{'一二三四'[int(value) - 1]}级"


#: The fact columns each source's template carries.
_FACT_COLUMNS: dict[MonitoringSource, tuple[FileColumn, ...]] = {
    MonitoringSource.DISABLED_PERSONS: (
        FileColumn("残疾类别", "facts.disability_type", _label_reader(DisabilityType),
                   _label_writer(DisabilityType), True,
                   "、".join(DisabilityType.labels().values())),
        FileColumn("残疾等级", "facts.grade", _grade_cell, _grade_out, True,
                   "一级 至 四级（或 1–4）"),
    ),
    MonitoringSource.EDUCATION: (
        FileColumn("学段", "facts.school_stage", _label_reader(SchoolStage),
                   _label_writer(SchoolStage), True, "、".join(SchoolStage.labels().values())),
    ),
    MonitoringSource.CIVIL_AFFAIRS: (
        FileColumn("救助类别", "facts.aid_type", _label_reader(GovAidType),
                   _label_writer(GovAidType), True, "、".join(GovAidType.labels().values())),
    ),
}  # fmt: skip


def file_columns(source: MonitoringSource) -> tuple[FileColumn, ...]:
    """The columns of ``source``'s template, in order."""
    events = SOURCE_EVENTS[source]
    has_amount = any(e in AMOUNT_EVENTS for e in events)
    return (
        FileColumn("身份证号", "id_number", _id_cell, _same, True, "18 位，请设为文本格式"),
        FileColumn("姓名", "name", _text, _same, True),
        FileColumn("所在区划代码", "region_code", _code_cell, _same, True,
                   "所在乡镇（街道）或村（社区）的 12 位代码"),
        FileColumn("事件", "event", _label_reader(events), _label_writer(events), True,
                   "、".join(e.label for e in events)),
        FileColumn("发生日期", "occurred_on", _date_cell, _same, True, "如 2026-12-01"),
        *((FileColumn("金额（元）", "amount_yuan", _amount_cell, _same, True,
                      "元，至多两位小数" + ("（个人自付部分）"
                                           if source == MonitoringSource.MEDICAL_INSURANCE
                                           else "（损失金额）")),)
          if has_amount else ()),
        *_FACT_COLUMNS.get(source, ()),
        FileColumn("情况说明", "detail", _text, _same, False, "至多 500 字"),
    )  # fmt: skip


@dataclass(frozen=True)
class FileBatch:
    """A file's records in the API's shape, their row numbers, and the cells it could not
    read (row → field → reasons)."""

    records: list[dict[str, Any]]
    row_numbers: list[int]
    problems: RowProblems


def read_file_batch(source: MonitoringSource, filename: str, data: bytes) -> FileBatch:
    """The records of a file made from the source's template, and the cells it could not
    read, to be reported with the rest (``monitoring.deliver_batch_file``).

    :raise ValidationFailed: on ``fields["file"]``: not a readable ``.xlsx``/``.csv``, no
        template headers, no rows, or too many.
    """
    columns = file_columns(source)
    name = filename.lower()
    if name.endswith(".csv"):
        rows = _csv_rows(data)
    elif name.endswith(".xlsx"):
        rows = _xlsx_rows(data)
    else:
        raise _file_refusal("请上传按模板填写的 .xlsx 或 .csv 文件。")
    header = next(rows, None)
    header_text = [str(h).strip().lstrip("\ufeff") if h is not None else "" for h in header or ()]
    missing = [c.header for c in columns if c.required and c.header not in header_text]
    if missing:
        raise _file_refusal(
            f"缺少必需的列：{'、'.join(missing)}。请使用{source.label}的监测数据模板。"
        )
    index = {h: i for i, h in enumerate(header_text) if h}
    records: list[dict[str, Any]] = []
    numbers: list[int] = []
    problems: RowProblems = {}
    for number, values in enumerate(rows, start=2):
        if number > MAX_SHEET_ROWS:
            raise _file_refusal(f"表格（含空行）超过 {MAX_SHEET_ROWS:,} 行，请分批报送。")
        if all(v is None or str(v).strip() == "" for v in values):
            continue
        record: dict[str, Any] = {"facts": {}}
        for column in columns:
            at = index.get(column.header)
            raw = values[at] if at is not None and at < len(values) else None
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                continue
            try:
                value = column.read(raw)
            except ValueError as error:
                problems.setdefault(number, {})[column.field] = [str(error)]
                continue
            if column.field.startswith("facts."):
                record["facts"][column.field.removeprefix("facts.")] = value
            else:
                record[column.field] = value
        records.append(record)
        numbers.append(number)
    if not records:
        raise _file_refusal("文件中没有数据行。")
    if len(records) > MAX_BATCH_RECORDS:
        raise _file_refusal(f"一个批次最多 {MAX_BATCH_RECORDS:,} 条记录，请分批报送。")
    return FileBatch(records, numbers, problems)


def _file_refusal(message: str) -> ValidationFailed:
    return ValidationFailed(message, fields={"file": [message]})


def _csv_rows(data: bytes) -> Iterator[Sequence[Any]]:
    """Rows of a CSV in UTF-8 (with or without BOM) or GB18030, as Excel on a Chinese
    Windows saves it."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise _file_refusal("无法识别 CSV 文件的编码，请以 UTF-8 或 GBK 保存。") from None
    return iter(csv.reader(io.StringIO(text, newline="")))


def _xlsx_rows(data: bytes) -> Iterator[Sequence[Any]]:
    stream = io.BytesIO(data)
    check_archive(stream)
    try:
        return sheet_rows(stream)
    except _UNREADABLE as error:
        raise _file_refusal("无法读取文件，请上传按模板填写的 .xlsx 或 .csv 文件。") from error


def _example(source: MonitoringSource) -> dict[str, Any]:
    event = SOURCE_EVENTS[source][0]
    example: dict[str, Any] = {
        "id_number": "440117199001010013", "name": "张三",
        "region_code": "440117101000", "event": event.value, "occurred_on": "2026-11-20",
        "detail": "",
    }  # fmt: skip
    if event == MonitoringEvent.MEDICAL_EXPENSE:
        example |= {"amount_yuan": 52000.5, "detail": "住院，个人自付部分"}
    if event == MonitoringEvent.DISASTER_LOSS:
        example |= {"amount_yuan": 8000, "detail": "台风致房屋受损"}
    facts: dict[MonitoringSource, dict[str, Any]] = {
        MonitoringSource.DISABLED_PERSONS: {"facts.disability_type": "physical", "facts.grade": 2},
        MonitoringSource.EDUCATION: {"facts.school_stage": "junior"},
        MonitoringSource.CIVIL_AFFAIRS: {"facts.aid_type": "dibao_allowance"},
    }
    return example | facts.get(source, {})


def write_template(source: MonitoringSource) -> bytes:
    """The source's ``.xlsx`` template: Chinese headers, the events it may report, examples."""
    columns = file_columns(source)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "监测数据"
    sheet.append([c.header for c in columns])
    for position, column in enumerate(columns, start=1):
        letter = get_column_letter(position)
        sheet.column_dimensions[letter].width = 20 if column.field != "detail" else 40
        if column.field in ("id_number", "region_code"):
            # Text cells: Excel keeps every digit of an ID number only as text.
            for row in range(2, 2001):
                sheet.cell(row=row, column=position).number_format = "@"
    notes = book.create_sheet("填写说明")
    notes.append([f"{source.label}监测数据报送模板"])
    notes.append(["在“监测数据”表中每行填一条记录。一个批次要么全部接收，要么有误时一条也不接收，"
                  "并列出每个有误的行；同一批次重复报送不会重复登记。"])  # fmt: skip
    notes.append([])
    notes.append(["列", "是否必填", "填写要求"])
    for column in columns:
        notes.append([column.header, "必填" if column.required else "选填", column.note])
    notes.append([])
    notes.append(["示例（仅供参考，不要填入“监测数据”表）："])
    notes.append([c.header for c in columns])
    example = _example(source)
    notes.append([_neutralise(c.write(example.get(c.field))) for c in columns])
    notes.column_dimensions["A"].width = 20
    notes.column_dimensions["B"].width = 12
    notes.column_dimensions["C"].width = 60
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
