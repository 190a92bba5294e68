"""Uploads at and past their limits, through the API and the upload pages.

An import is a file a stranger chose: it may be too big to accept, hold more rows than one
import may carry, unpack to gigabytes from a few hundred kilobytes, be no spreadsheet at all, or
fail half-way through being written. Each is refused in Chinese, quickly, and leaves nothing of
the file in the database.
"""

from __future__ import annotations

import collections
import http.client
import io
import os
import re
import socket
import struct
import subprocess
import sys
import time
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from openpyxl import Workbook
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from models import AuditLog, Household, LedgerEdition, LedgerEntry, Member, Project
from seed.synthetic import household_rows, households_workbook, project_rows, projects_workbook
from tests.helpers import bearer, csrf_token, get_user, sign_in
from web.services import excel
from web.services.errors import ValidationFailed
from web.services.excel import HEADERS, MAX_ROWS, read_rows, template
from web.services.households_excel import HOUSEHOLD_HEADERS
from web.services.regions import list_children

MB = 1024 * 1024
CHINESE = re.compile(r"[\u4e00-\u9fff]")
ROOT = Path(__file__).resolve().parents[2]


# --- files --------------------------------------------------------------------------------------


def oversized_workbook(size: int) -> bytes:
    """The project template carrying a photo-sized part of ``size`` random (unpackable) bytes."""
    source = zipfile.ZipFile(io.BytesIO(template()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        for part in source.infolist():
            book.writestr(part, source.read(part))
        book.writestr("xl/media/image1.png", os.urandom(size), zipfile.ZIP_STORED)
    return out.getvalue()


def too_many_rows_workbook() -> bytes:
    """``MAX_ROWS + 1`` non-empty rows (first column only) under the headers of both templates,
    so the projects and the households import read the same file."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("导入")
    sheet.append(HEADERS + [h for h in HOUSEHOLD_HEADERS if h not in HEADERS])
    for number in range(MAX_ROWS + 1):
        sheet.append([f"第{number}行"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def with_sheet(sheet_xml: Callable[[bytes, bytes], bytes]) -> bytes:
    """The project template with its sheet rebuilt from the sheet's XML before and after
    ``</sheetData>`` (so the header row stays)."""
    source = zipfile.ZipFile(io.BytesIO(template()))
    head, tail = source.read("xl/worksheets/sheet1.xml").split(b"</sheetData>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        for part in source.infolist():
            if part.filename == "xl/worksheets/sheet1.xml":
                book.writestr(part.filename, sheet_xml(head, b"</sheetData>" + tail))
            else:
                book.writestr(part, source.read(part))
    return out.getvalue()


def padding_bomb(padding_mb: int, declared_size: int | None = None) -> bytes:
    """The project template whose sheet is padded with ``padding_mb`` MB of spaces between its
    rows: well-formed XML any reader would accept, packed about 1000:1.

    After a full flush deflate starts afresh, so every megabyte of spaces packs to the same
    bytes: one megabyte is packed and its bytes repeated. ``declared_size`` makes the sheet's
    headers claim that size instead of the true one.
    """
    source = zipfile.ZipFile(io.BytesIO(template()))
    head, tail = source.read("xl/worksheets/sheet1.xml").split(b"</sheetData>")
    tail = b"</sheetData>" + tail
    spaces = b" " * MB
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed_head = packer.compress(head) + packer.flush(zlib.Z_FULL_FLUSH)
    packed_spaces = packer.compress(spaces) + packer.flush(zlib.Z_FULL_FLUSH)
    packed_tail = packer.compress(tail) + packer.flush()
    crc = zlib.crc32(head)
    for _ in range(padding_mb):
        crc = zlib.crc32(spaces, crc)
    crc = zlib.crc32(tail, crc)
    size = len(head) + padding_mb * MB + len(tail)
    parts = [
        (p.filename, zlib.compress(source.read(p))[2:-4], zlib.crc32(source.read(p)), p.file_size)
        for p in source.infolist()
        if p.filename != "xl/worksheets/sheet1.xml"
    ]
    sheet = packed_head + packed_spaces * padding_mb + packed_tail
    parts.append(("xl/worksheets/sheet1.xml", sheet, crc, declared_size or size))
    return zip_of_deflated(parts)


def zip_of_deflated(parts: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip archive of already deflated parts: (name, deflated bytes, CRC-32, size)."""
    out = io.BytesIO()
    directory = []
    for name, data, crc, size in parts:
        encoded = name.encode()
        offset = out.tell()
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 33, crc, len(data), size,
                              len(encoded), 0))  # fmt: skip
        out.write(encoded + data)
        directory.append(
            struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 33, crc, len(data), size,
                        len(encoded), 0, 0, 0, 0, 0, offset) + encoded
        )  # fmt: skip
    start = out.tell()
    out.write(b"".join(directory))
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(parts), len(parts),
                      out.tell() - start, start, 0)  # fmt: skip
    return out.getvalue() + end


@pytest.fixture(scope="module")
def oversized() -> bytes:
    return oversized_workbook(11 * MB)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return padding_bomb(300)


@pytest.fixture(scope="module")
def too_many_rows() -> bytes:
    return too_many_rows_workbook()


# --- requests and the database ------------------------------------------------------------------


def post_api(client: FlaskClient, kind: str, data: bytes, headers: dict[str, str]) -> TestResponse:
    return client.post(
        f"/api/v1/imports/{kind}",
        data={"file": (io.BytesIO(data), "导入.xlsx")},
        headers=headers,
        content_type="multipart/form-data",
    )


def post_page(client: FlaskClient, kind: str, data: bytes) -> TestResponse:
    token = csrf_token(client, f"/imports/{kind}")
    return client.post(
        f"/imports/{kind}",
        data={"csrf_token": token, "file": (io.BytesIO(data), "导入.xlsx")},
        content_type="multipart/form-data",
    )


def multipart(data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="h.xlsx"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return (
        head + data + f"\r\n--{boundary}--\r\n".encode(),
        f"multipart/form-data; boundary={boundary}",
    )


def assert_envelope(response: TestResponse, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json["error"]
    assert set(error) == {"code", "message", "fields"}
    assert CHINESE.search(error["message"]), error
    return error


def stored(db: Session) -> dict[str, int]:
    """What an import could have left behind, counted."""
    imports = AuditLog.action.in_(["project.import", "household.import"])
    return {
        "projects": db.scalar(sa.select(sa.func.count(Project.id))),
        "households": db.scalar(sa.select(sa.func.count(Household.id))),
        "members": db.scalar(sa.select(sa.func.count(Member.id))),
        "editions": db.scalar(sa.select(sa.func.count(LedgerEdition.id))),
        "entries": db.scalar(sa.select(sa.func.count(LedgerEntry.project_id))),
        "import audits": db.scalar(sa.select(sa.func.count(AuditLog.id)).where(imports)),
    }


def villages(db: Session, username: str) -> list[str]:
    station = get_user(db, username).station
    assert station is not None
    return [region.code for region in list_children(db, station.region_code)]


@contextmanager
def failing(engine: Engine, error: Exception, when: Callable[[str], bool]) -> Iterator[None]:
    """While open, a statement sent to ``engine`` for which ``when`` holds raises ``error``
    instead (whether the ORM's unit of work or a bulk insert writes the rows)."""

    def listener(*args: Any) -> None:
        if when(args[2]):  # (connection, cursor, statement, parameters, context, executemany)
            raise error

    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        yield
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)


# --- too big to accept --------------------------------------------------------------------------


def test_an_upload_over_the_size_limit_gets_413_and_a_chinese_envelope(
    client: FlaskClient, db: Session, oversized: bytes
) -> None:
    limit = client.application.config["MAX_CONTENT_LENGTH"]
    assert len(oversized) > limit
    before = stored(db)
    error = assert_envelope(
        post_api(client, "projects", oversized, bearer(client, "charity_f")), 413
    )
    assert error["code"] == "payload_too_large"
    assert f"超过 {limit // MB} MB 上限" in error["message"]
    assert error["fields"]["file"] == [error["message"]]
    assert stored(db) == before


def test_the_size_limit_is_named_in_english_for_an_english_session(
    client: FlaskClient, oversized: bytes
) -> None:
    with client.session_transaction() as session:
        session["lang"] = "en"
    response = post_api(client, "projects", oversized, bearer(client, "charity_f"))
    assert response.status_code == 413
    assert "over the 10 MB limit" in response.json["error"]["message"]


def test_the_upload_page_answers_an_oversized_file_with_a_chinese_page(
    client: FlaskClient, db: Session, oversized: bytes
) -> None:
    sign_in(client, "station_a")
    before = stored(db)
    response = post_page(client, "households", oversized)
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    limit = client.application.config["MAX_CONTENT_LENGTH"]
    assert "内容过大" in response.text and f"超过 {limit // MB} MB 上限" in response.text
    assert stored(db) == before


def test_gunicorn_answers_an_oversized_upload_instead_of_cutting_the_connection(
    tmp_path: Path, oversized: bytes
) -> None:
    # A client that sends the whole body before reading (as most HTTP libraries do) must read
    # the 413, not a broken pipe: the server has to take in the body it refuses.
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    env = dict(os.environ, CISHAN_INSTANCE_PATH=str(tmp_path),
               DATABASE_URL=f"sqlite:///{tmp_path / 'unused.db'}")  # fmt: skip
    with (tmp_path / "gunicorn.log").open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "1",
             "--bind", f"fd://{listener.fileno()}", "web:create_app()"],
            pass_fds=[listener.fileno()], env=env, cwd=ROOT, stdout=log, stderr=log,
        )  # fmt: skip
    try:
        body, content_type = multipart(oversized)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request(
            "POST", "/imports/households", body=body, headers={"Content-Type": content_type}
        )
        response = connection.getresponse()
        page = response.read().decode()
        assert response.status == 413, (tmp_path / "gunicorn.log").read_text()
        assert "内容过大" in page and "MB 上限" in page
    finally:
        server.terminate()
        server.wait(timeout=30)
        listener.close()


# --- too many rows ------------------------------------------------------------------------------


def test_more_rows_than_the_limit_are_refused_naming_the_limit_on_the_api(
    client: FlaskClient, db: Session, too_many_rows: bytes
) -> None:
    before = stored(db)
    response = post_api(client, "projects", too_many_rows, bearer(client, "charity_f"))
    error = assert_envelope(response, 422)
    assert f"{MAX_ROWS}" in error["fields"]["file"][0]
    assert stored(db) == before


def test_more_rows_than_the_limit_are_refused_naming_the_limit_on_the_page(
    client: FlaskClient, db: Session, too_many_rows: bytes
) -> None:
    sign_in(client, "station_a")
    before = stored(db)
    response = post_page(client, "households", too_many_rows)
    assert response.status_code == 422
    assert f"一次最多导入 {MAX_ROWS} 行" in response.text
    assert stored(db) == before


def test_a_sheet_padded_with_blank_rows_is_refused_instead_of_read_to_the_end() -> None:
    # Blank rows count for no limit of their own, yet each is read: rows and rows of them above
    # one filled cell at the bottom.
    last = excel.MAX_SHEET_ROWS + 5
    blank = b"".join(b'<row r="%d"/>' % n for n in range(2, last))
    filled = b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>x</t></is></c></row>' % (last, last)
    padded = with_sheet(lambda head, tail: head + blank + filled + tail)
    with pytest.raises(ValidationFailed) as refused:
        read_rows(io.BytesIO(padded))
    message = refused.value.fields["file"][0]
    assert f"{excel.MAX_SHEET_ROWS}" in message and "空行" in message


# --- zip bombs and files that are no spreadsheet ------------------------------------------------


def test_a_zip_bomb_is_refused_within_a_second_or_two_on_the_api(
    client: FlaskClient, db: Session, bomb: bytes
) -> None:
    assert len(bomb) < MB
    headers = bearer(client, "station_a")
    before = stored(db)
    started = time.perf_counter()
    response = post_api(client, "households", bomb, headers)
    elapsed = time.perf_counter() - started
    error = assert_envelope(response, 422)
    assert f"解压后超过 {excel.MAX_UNPACKED_BYTES // MB} MB" in error["fields"]["file"][0]
    assert elapsed < 2, f"took {elapsed:.1f} s"
    assert stored(db) == before


def test_a_zip_bomb_is_refused_within_a_second_or_two_on_the_page(
    client: FlaskClient, db: Session, bomb: bytes
) -> None:
    sign_in(client, "charity_f")
    before = stored(db)
    started = time.perf_counter()
    response = post_page(client, "projects", bomb)
    elapsed = time.perf_counter() - started
    assert response.status_code == 422
    assert f"{excel.MAX_UNPACKED_BYTES // MB} MB" in response.text
    assert elapsed < 2, f"took {elapsed:.1f} s"
    assert stored(db) == before


def test_a_part_packed_absurdly_tight_is_refused_though_under_the_size_limit() -> None:
    small_bomb = padding_bomb(8)
    assert sum(p.file_size for p in zipfile.ZipFile(io.BytesIO(small_bomb)).infolist()) < (
        excel.MAX_UNPACKED_BYTES
    )
    started = time.perf_counter()
    with pytest.raises(ValidationFailed) as refused:
        read_rows(io.BytesIO(small_bomb))
    assert time.perf_counter() - started < 2
    assert "压缩比" in refused.value.fields["file"][0]


def test_a_sheet_that_expands_entities_is_refused_without_expanding_them() -> None:
    # "Billion laughs": a few hundred bytes of entity definitions that expand to gigabytes
    # of text when an XML parser resolves them.
    laughs = [b'<!ENTITY l0 "lol">'] + [
        b'<!ENTITY l%d "%s">' % (n, b"".join(b"&l%d;" % (n - 1) for _ in range(10)))
        for n in range(1, 10)
    ]
    doctype = b"<!DOCTYPE worksheet [" + b"".join(laughs) + b"]>"

    def expanding(head: bytes, tail: bytes) -> bytes:
        row = b'<row r="2"><c r="C2" t="inlineStr"><is><t>&l9;</t></is></c></row>'
        return doctype + head + row + tail

    started = time.perf_counter()
    with pytest.raises(ValidationFailed) as refused:
        read_rows(io.BytesIO(with_sheet(expanding)))
    assert time.perf_counter() - started < 2
    assert refused.value.fields["file"]


def test_a_bomb_that_understates_its_size_is_cut_off_at_the_stated_size() -> None:
    liar = padding_bomb(300, declared_size=64 * 1024)
    started = time.perf_counter()
    with pytest.raises(ValidationFailed) as refused:
        read_rows(io.BytesIO(liar))
    assert time.perf_counter() - started < 2
    assert "无法读取" in refused.value.fields["file"][0]


def _half_of_a_real_file() -> bytes:
    data = projects_workbook(project_rows(3))
    return data[: len(data) // 2]


def _zip_without_a_workbook() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "xlsx"),
        ("项目名称,名额\n助学,10\n".encode(), "xlsx"),  # a CSV renamed .xlsx
        (b"%PDF-1.7\n" + os.urandom(2000), "xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4000), "另存为"),  # old .xls or encrypted
        (_half_of_a_real_file(), "xlsx"),
        (_zip_without_a_workbook(), "xlsx"),
        (with_sheet(lambda head, _tail: head + b"<row><c>"), "xlsx"),  # a sheet cut off mid-row
    ],
    ids=["empty", "csv", "pdf", "xls", "truncated", "docx-like", "broken-sheet"],
)
def test_a_file_that_is_no_xlsx_is_refused_on_the_file_field(content: bytes, says: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        read_rows(io.BytesIO(content))
    messages = refused.value.fields["file"]
    assert says in messages[0] and CHINESE.search(messages[0])


# --- imports that fail half-way -----------------------------------------------------------------


def test_an_import_whose_audit_record_fails_leaves_nothing_and_a_retry_imports_each_row_once(
    client: FlaskClient, db: Session
) -> None:
    rows = project_rows(25)
    data = projects_workbook(rows)
    before = stored(db)
    known = set(db.scalars(sa.select(Project.id)))
    headers = bearer(client, "charity_f")
    refusal = RuntimeError("audit log unavailable")

    # The record is a plain INSERT, not a unit-of-work flush: refused on its way to the driver.
    def refuse_the_import_record(_conn: Any, _cursor: Any, statement: str, params: Any,
                                 *_rest: Any) -> None:  # fmt: skip
        values = params.values() if isinstance(params, dict) else params
        if statement.startswith("INSERT INTO audit_log") and "project.import" in values:
            raise refusal

    engine = db.get_bind()
    sa.event.listen(engine, "before_cursor_execute", refuse_the_import_record)
    try:
        failed = post_api(client, "projects", data, headers)
    finally:
        sa.event.remove(engine, "before_cursor_execute", refuse_the_import_record)
    error = assert_envelope(failed, 500)
    assert "audit" not in failed.text and "RuntimeError" not in failed.text
    assert error["code"] == "internal_error"
    assert stored(db) == before

    retried = post_api(client, "projects", data, headers)
    assert retried.status_code == 201 and retried.json["created"] == len(rows)
    new = db.scalars(sa.select(Project.name).where(Project.id.notin_(known))).all()
    assert collections.Counter(new) == collections.Counter(r["项目名称"] for r in rows)


def test_an_import_cut_off_mid_write_leaves_nothing_and_a_retry_imports_each_household_once(
    client: FlaskClient, db: Session, engine: Engine
) -> None:
    rows = household_rows(12, villages(db, "station_a"), seed=5)
    data = households_workbook(rows)
    sign_in(client, "station_a")
    before = stored(db)
    known = set(db.scalars(sa.select(Household.id)))
    sent: list[str] = []
    lost = sa.exc.OperationalError("INSERT INTO members", {}, ConnectionResetError("连接中断"))

    def members_after_households(statement: str) -> bool:
        households = any(s.startswith("INSERT INTO households") for s in sent)
        sent.append(statement)
        return households and statement.startswith("INSERT INTO members")

    with failing(engine, lost, members_after_households):
        failed = post_page(client, "households", data)
    lost_at = next(i for i, s in enumerate(sent) if s.startswith("INSERT INTO members"))
    assert any(s.startswith("INSERT INTO households") for s in sent[:lost_at]), (
        "the connection was lost writing members, after the households were written"
    )
    assert failed.status_code == 503
    assert "服务暂时不可用" in failed.text and "INSERT" not in failed.text
    assert stored(db) == before

    retried = post_page(client, "households", data)
    assert retried.status_code == 302 and retried.location.endswith("/households")
    new = db.scalars(sa.select(Household).where(Household.id.notin_(known))).all()
    heads = [r["姓名"] for r in rows if r["与户主关系"] == "户主"]
    assert collections.Counter(h.head_name for h in new) == collections.Counter(heads)
    assert sum(len(h.members) for h in new) == len(rows)


# --- bad rows -----------------------------------------------------------------------------------


def test_the_household_import_page_lists_every_bad_row_and_imports_nothing(
    client: FlaskClient, db: Session
) -> None:
    # The project page, the household API and both services have their own tests of this.
    rows = household_rows(20, villages(db, "station_a"), seed=9)
    rows[2]["性别"] = "未知"
    rows[11]["出生日期"] = "去年春天"
    rows[-1]["与户主关系"] = "邻居"
    sign_in(client, "station_a")
    before = stored(db)
    response = post_page(client, "households", households_workbook(rows))
    assert response.status_code == 422
    assert "共有 3 行有误，未导入任何数据" in response.text
    for number in (2 + 2, 2 + 11, 2 + len(rows) - 1):
        assert f"<td>{number}</td>" in response.text
    assert stored(db) == before
