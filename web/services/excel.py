"""Excel in and out of the supply ledger, in a documented template with Chinese headers.

The same columns serve export and import, so an exported edition can be imported again. An
import is checked whole first: a file with any bad row imports nothing and reports every bad
row with its reasons.

An upload is a zip archive a stranger chose, so before any of it is unpacked its directory is
checked against the limits below: a few hundred kilobytes that unpack to gigabytes (a zip bomb)
are refused in milliseconds instead of tying up a worker, and its memory, for minutes.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import math
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import sqlalchemy as sa
from defusedxml.ElementTree import ParseError
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils.exceptions import InvalidFileException
from python_calamine import CalamineError, CalamineWorkbook
from sqlalchemy.orm import Session

from matcher.conditions import shipped_catalogue
from models import LedgerEdition, Organization, Project, ProjectArea, Region, User
from models.clock import half_year_name
from models.enums import LabelledEnum, Role

from .audit import write_audit
from .contracts import PROJECT, FieldRule
from .errors import Forbidden, ValidationFailed
from .projects import ProjectInput, validate_project

#: Most rows one import may carry: a county's whole needs ledger (99,995 household rows took
#: 42 s on PostgreSQL, see the README's benchmarks).
MAX_ROWS = 100_000
#: Most spreadsheet rows read, blank ones included: each is walked in Python, so a sheet padded
#: with a million blank rows above a stray cell is refused instead.
MAX_SHEET_ROWS = 2 * MAX_ROWS
#: Most bytes all parts of an upload may unpack to. 100,000 household rows written without
#: shared strings unpack to about 50 MB (5 MB packed); a zip bomb unpacks to gigabytes.
MAX_UNPACKED_BYTES = 120 * 1024 * 1024
#: Most a part of RATIO_CHECKED_FROM_BYTES or more may have been packed: spreadsheet XML packs
#: about 10:1 (13:1 for MAX_ROWS projects), padding made to inflate packs about 1000:1.
MAX_PACKING_RATIO = 100
RATIO_CHECKED_FROM_BYTES = 1024 * 1024
#: What reading a broken or disguised file may raise, from the zip, the inflater or the XML.
_UNREADABLE = (
    InvalidFileException, zipfile.BadZipFile, zlib.error, ParseError, EOFError, KeyError,
    IndexError, OSError, ValueError, CalamineError,
)  # fmt: skip
_NOT_XLSX = "无法读取文件，请上传 .xlsx 格式的模板。"
#: The first bytes of an OLE2 file: an ``.xls`` of Excel 97–2003, or a password-protected
#: ``.xlsx``.
_OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
SEPARATOR = "、"


#: How a cell is read for each kind of contract field.
_CELL_KIND = {
    "text": "text", "int": "int", "fen": "yuan", "date": "date", "bool": "bool",
    "choices": "list", "choice": "one", "codes": "codes", "conditions": "conditions",
}  # fmt: skip


@dataclass(frozen=True)
class Column:
    header: str
    field: str
    kind: str  # text, int, yuan, date, bool, list, one, codes, code, conditions
    vocabulary: type[LabelledEnum] | None = None
    required: bool = False
    missing_message: str | None = None

    @classmethod
    def of(cls, field: str, rule: FieldRule) -> Column:
        """The column of a contract field: the rule's label is its header, and its required
        flag and message are the rule's."""
        return cls(
            rule.label, field, _CELL_KIND[rule.kind], rule.vocabulary, rule.required,
            rule.missing_message,
        )  # fmt: skip

    def reason(self, message: str) -> str:
        """A row's reason naming this column, unless the message already names it."""
        return message if self.header in message else f"“{self.header}”{message}"


#: The project template: the charity, then every field of the project contract in order.
COLUMNS = (
    Column("统一社会信用代码", "organization_uscc", "text"),
    Column("慈善组织", "organization_name", "text"),
    *(Column.of(field, rule) for field, rule in PROJECT.items()),
)
HEADERS = [c.header for c in COLUMNS]


def _cell_out(column: Column, value: Any) -> Any:
    if value is None:
        return None
    if column.kind in ("list", "one"):
        assert column.vocabulary is not None  # the columns of these kinds all have one
        labels = column.vocabulary.labels()
        if column.kind == "list":
            return SEPARATOR.join(labels.get(code, code) for code in value)
        return labels.get(str(value), str(value))
    if column.kind == "codes":
        return SEPARATOR.join(value)
    if column.kind == "conditions":
        catalogue = shipped_catalogue()
        return SEPARATOR.join(
            catalogue.label(code) if code in catalogue else code for code in value
        )
    if column.kind == "yuan":
        return value / 100
    if column.kind == "bool":
        return "是" if value else "否"
    if column.kind == "date":
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
    return value


def _workbook(
    rows: Iterable[dict[str, Any]], title: str, columns: tuple[Column, ...] = COLUMNS
) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)
    sheet.append([c.header for c in columns])
    for row in rows:
        sheet.append([_neutralise(_cell_out(c, row.get(c.field))) for c in columns])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _neutralise(value: Any) -> Any:
    """Text fit for a cell: starting like a formula, it is prefixed so spreadsheets show it,
    never run it; control characters a worksheet cannot hold are dropped."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
            return "'" + value
    return value


def export_edition(edition: LedgerEdition) -> bytes:
    """The edition's projects as an ``.xlsx`` in the import template."""
    rows = [dict(e.snapshot) for e in sorted(edition.entries, key=lambda e: e.project_id)]
    return _workbook(rows, f"台账{half_year_name(edition.period)}")


def template() -> bytes:
    """An empty import template (headers only)."""
    return _workbook([], "项目")


@dataclass(frozen=True)
class ImportResult:
    created: list[Project]


def _parse_cell(column: Column, raw: Any, errors: list[str]) -> Any:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if column.required:
            errors.append(column.reason(column.missing_message or "必填。"))
        return [] if column.kind in ("list", "codes", "conditions") else None
    try:
        return _PARSERS[column.kind](column, raw)
    except (ValueError, TypeError) as error:
        errors.append(column.reason(str(error)))
        return [] if column.kind in ("list", "codes", "conditions") else None


def _text(_c: Column, raw: Any) -> str:
    text = str(raw).strip()
    return text[1:] if text.startswith("'") and text[1:2] in ("=", "+", "-", "@") else text


def _int(_c: Column, raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError("应为整数。")
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    try:
        return int(str(raw).strip())
    except ValueError:
        raise ValueError("应为整数。") from None


def _yuan(_c: Column, raw: Any) -> int:
    try:
        value = float(str(raw).strip().replace(",", ""))
    except ValueError:
        raise ValueError("应为金额（元）。") from None
    if not math.isfinite(value):  # "inf", "nan", "1e999": no amount (bounds are the contract's)
        raise ValueError("应为金额（元）。")
    return round(value * 100)


def _date(_c: Column, raw: Any) -> dt.date:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    text = str(raw).strip().replace("/", "-").replace(".", "-")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError("应为日期，如 2026-07-01。") from None


def _bool(_c: Column, raw: Any) -> bool:
    text = str(raw).strip().lower()
    if text in {"是", "y", "yes", "true", "1"}:
        return True
    if text in {"否", "n", "no", "false", "0"}:
        return False
    raise ValueError("应填“是”或“否”。")


@functools.cache
def _words_of(vocabulary: type[LabelledEnum]) -> dict[str, str]:
    """Each Chinese label of ``vocabulary``, and each code, to its code (read once per
    vocabulary: an import asks for every cell of its list columns)."""
    return {m.value: m.value for m in vocabulary} | {m.label: m.value for m in vocabulary}


def _list(column: Column, raw: Any) -> list[str]:
    vocabulary = column.vocabulary
    assert vocabulary is not None
    words = _words_of(vocabulary)
    codes: list[str] = []
    unknown: list[str] = []
    for part in _split(raw):
        code = words.get(part)
        (codes if code else unknown).append(code or part)
    if unknown:
        raise ValueError(f"有无法识别的取值：{SEPARATOR.join(unknown)}。")
    return codes


def _one(column: Column, raw: Any) -> str:
    codes = _list(column, raw)
    if len(codes) != 1:
        raise ValueError("只能填一个值。")
    return codes[0]


def _code(_c: Column, raw: Any) -> str:
    text = str(raw).strip()
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        text = str(int(raw))
    if len(text) != 12 or not text.isdigit():
        raise ValueError("应为 12 位行政区划代码。")
    return text


def _codes(_c: Column, raw: Any) -> list[str]:
    parts = _split(raw)
    bad = [p for p in parts if len(p) != 12 or not p.isdigit()]
    if bad:
        raise ValueError(f"应为 12 位行政区划代码：{SEPARATOR.join(bad)}。")
    return parts


def _conditions(_c: Column, raw: Any) -> list[str]:
    """Conditions by any word the catalogue knows (name, synonym, everyday word) or code."""
    catalogue = shipped_catalogue()
    codes: list[str] = []
    unknown: list[str] = []
    for part in _split(raw):
        entry = catalogue.lookup(part)
        code = entry.code if entry is not None else (part if part in catalogue else None)
        if code is None:
            unknown.append(part)
        elif code not in codes:
            codes.append(code)
    if unknown:
        raise ValueError(f"有病种目录中没有的病种：{SEPARATOR.join(unknown)}。")
    return codes


def _split(raw: Any) -> list[str]:
    text = str(raw)
    for sep in (",", "，", ";", "；", "\n"):
        text = text.replace(sep, SEPARATOR)
    return [p.strip() for p in text.split(SEPARATOR) if p.strip()]


_PARSERS: dict[str, Callable[[Column, Any], Any]] = {
    "text": _text, "int": _int, "yuan": _yuan, "date": _date, "bool": _bool,
    "list": _list, "codes": _codes, "one": _one, "code": _code, "conditions": _conditions,
}  # fmt: skip


def sheet_rows(stream: IO[bytes]) -> Iterator[tuple[Any, ...]]:
    """The first sheet's rows from row 1 as values: a blank cell is None, a whole number an
    int, a date cell a date (or a datetime with its time), a formula its saved result.

    Read by calamine (Rust), about 25 times as fast as openpyxl's reader on a 10,000-row
    ledger; its XML reader expands no entities. Call :func:`check_archive` first.

    :raise: one of ``_UNREADABLE`` for a file that is no readable workbook.
    """
    book = CalamineWorkbook.from_filelike(stream)
    if not book.sheet_names:
        return iter(())
    sheet = book.get_sheet_by_index(0)
    return (tuple(_cell_value(v) for v in row) for row in sheet.iter_rows())


def _cell_value(value: Any) -> Any:
    if value == "" and isinstance(value, str):
        return None
    if type(value) is float and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def read_rows(
    stream: IO[bytes], columns: tuple[Column, ...] = COLUMNS
) -> list[tuple[int, dict[str, Any]]]:
    """(spreadsheet row number, {field: raw value}) for each non-empty row.

    :raise ValidationFailed: on ``fields["file"]``: not an ``.xlsx`` (or broken, or unpacking
        to too much, see :func:`check_archive`), headers not the template's, more than
        ``MAX_ROWS`` rows, or more than ``MAX_SHEET_ROWS`` counting blank ones.
    """
    check_archive(stream)
    try:
        rows = sheet_rows(stream)
        header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
    except _UNREADABLE as error:
        raise _refusal(_NOT_XLSX) from error
    missing = [c.header for c in columns if c.required and c.header not in header]
    if missing:
        raise ValidationFailed(
            fields={"file": [f"缺少必需的列：{SEPARATOR.join(missing)}。请使用台账模板。"]}
        )
    index = {h: i for i, h in enumerate(header) if h}
    at = [(c.field, index.get(c.header)) for c in columns]
    found: list[tuple[int, dict[str, Any]]] = []
    for number, values in enumerate(rows, start=2):
        if number > MAX_SHEET_ROWS:
            raise _refusal(
                f"表格（含空行）超过 {MAX_SHEET_ROWS} 行；请删除数据下方的空行后重新上传。"
            )
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue
        if len(found) >= MAX_ROWS:
            raise _refusal(f"一次最多导入 {MAX_ROWS} 行。")
        width = len(values)
        found.append(
            (number, {field: values[i] if i is not None and i < width else None for field, i in at})
        )
    return found


def check_archive(stream: IO[bytes]) -> None:
    """Refuse, from the zip's directory alone, a file that is no ``.xlsx``, would unpack to
    more than ``MAX_UNPACKED_BYTES``, or has a part packed tighter than ``MAX_PACKING_RATIO``;
    nothing is unpacked. The sizes a directory states can be relied on because :mod:`zipfile`
    never inflates a part past its stated size: a part that understates it ends in a CRC or
    XML error, which :func:`read_rows` refuses as a broken file.

    :raise ValidationFailed: on ``fields["file"]``.
    """
    start = stream.tell()
    if stream.read(len(_OLE2_SIGNATURE)) == _OLE2_SIGNATURE:
        raise _refusal(
            "这是旧版 .xls 或加密的 Excel 文件，请在 Excel 中另存为 .xlsx（不设密码）后上传。"
        )
    try:
        with zipfile.ZipFile(stream) as archive:
            parts = archive.infolist()
    except _UNREADABLE as error:
        raise _refusal(_NOT_XLSX) from error
    finally:
        stream.seek(start)
    if sum(p.file_size for p in parts) > MAX_UNPACKED_BYTES:
        limit_mb = MAX_UNPACKED_BYTES // (1024 * 1024)
        raise _refusal(
            f"文件解压后超过 {limit_mb} MB，不是正常的导入模板；请删去多余内容后重新上传。"
        )
    if any(
        p.file_size >= RATIO_CHECKED_FROM_BYTES
        and p.file_size > MAX_PACKING_RATIO * max(p.compress_size, 1)
        for p in parts
    ):
        raise _refusal(
            "文件的压缩比异常（疑似压缩炸弹），已拒绝；请上传由 Excel 或 WPS 正常保存的 .xlsx。"
        )


def _refusal(message: str) -> ValidationFailed:
    return ValidationFailed(fields={"file": [message]})


def import_projects(db: Session, actor: User, stream: IO[bytes]) -> ImportResult:
    """Import projects as drafts: all rows or none.

    A charity imports its own projects (a credit code column, if filled, must be its own);
    civil-affairs staff and admins import for charities registered with them, named by
    credit code.

    :raise ValidationFailed: ``fields["rows"]`` maps each bad row number to its reasons.
    """
    if actor.role not in (Role.CHARITY_STAFF, Role.CIVIL_AFFAIRS, Role.ADMIN):
        raise Forbidden("无权导入项目。")
    rows = read_rows(stream)
    if not rows:
        raise ValidationFailed(fields={"file": ["文件中没有项目行。"]})
    known_regions = set(db.scalars(sa.select(Region.code)))
    organizations = {
        o.uscc: o
        for o in db.scalars(sa.select(Organization).where(Organization.uscc.is_not(None)))
        if o.uscc
    }
    own = db.get(Organization, actor.organization_id) if actor.organization_id else None

    problems: dict[str, list[str]] = {}
    parsed: list[tuple[Organization, ProjectInput]] = []
    for number, raw in rows:
        errors: list[str] = []
        values = {c.field: _parse_cell(c, raw.get(c.field), errors) for c in COLUMNS}
        organization = _organization_for(actor, own, organizations, values, errors)
        data = ProjectInput(
            **{
                k: v
                for k, v in values.items()
                if k not in ("organization_uscc", "organization_name") and v is not None
            }
        ) if not errors else None  # fmt: skip
        if data is not None:
            for field, messages in validate_project(db, data, known_regions).items():
                column = next((c for c in COLUMNS if c.field == field), None)
                errors.extend(column.reason(m) if column else m for m in messages)
        if errors:
            problems[str(number)] = errors
        elif organization is not None and data is not None:
            parsed.append((organization, data))
    if problems:
        raise ValidationFailed(
            f"共有 {len(problems)} 行有误，未导入任何数据；请修改后重新上传。",
            fields={"rows": problems},
        )
    created = []
    for organization, data in parsed:
        values = {k: v for k, v in vars(data).items() if k != "service_area"}
        project = Project(organization=organization, **values)
        project.areas = [ProjectArea(region_code=c) for c in sorted(set(data.service_area))]
        created.append(project)
    db.add_all(created)
    db.flush()
    write_audit(
        db, actor, "project.import", region_code=actor.region_code,
        detail={"rows": len(created)},
    )  # fmt: skip
    return ImportResult(created)


def _organization_for(
    actor: User,
    own: Organization | None,
    organizations: dict[str, Organization],
    values: dict[str, Any],
    errors: list[str],
) -> Organization | None:
    code = (values.get("organization_uscc") or "").upper()
    if actor.role == Role.CHARITY_STAFF:
        if code and own is not None and code != own.uscc:
            errors.append("“统一社会信用代码”不是本组织的代码。")
        return own
    organization = organizations.get(code)
    if organization is None:
        errors.append("“统一社会信用代码”未登记或未填写。")
        return None
    if (
        actor.role == Role.CIVIL_AFFAIRS
        and organization.registered_region_code != actor.region_code
    ):
        errors.append("该慈善组织不在本部门登记。")
        return None
    return organization
