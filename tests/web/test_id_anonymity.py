"""Masks that cannot be undone: everything a role sees of a member without a reveal — every API
answer, page and export together — and the database read without the key leave at least
10,000 ID numbers the member could have.

An observer is granted more than the pages give: the county code (the first six digits), the
year of birth and the sex (the parity of the 17th digit) of every member. Any mask in what it
saw that agrees with the member's number reveals those digits; a date of birth seen in full, or
its month, fixes it. What remains is counted by enumeration: county × dates × sequence numbers
of the right parity, the check digit following from the rest.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

import openpyxl
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from models import Base, Household, Member, Station
from tests.helpers import bearer, sign_in
from web.services.crypto import cipher_of
from web.services.id_numbers import id_check_digit

#: Fewer possible numbers than this and a masked ID number can be guessed from what is shown.
MIN_CANDIDATES = 10_000

#: One user of every role, with the widest view the role has (the province's office sees
#: every station's households; the federation's charity has the most referrals).
OBSERVERS = ["admin", "ca_province", "station_a", "charity_a"]

_MASK = re.compile(r"(?<![0-9A-Za-z*])[0-9Xx*]{18}(?![0-9A-Za-z*])")


@dataclass(frozen=True)
class Person:
    id_number: str

    @property
    def born(self) -> dt.date:
        n = self.id_number
        return dt.date(int(n[6:10]), int(n[10:12]), int(n[12:14]))


def date_spellings(day: dt.date) -> list[str]:
    return [
        day.isoformat(), day.strftime("%Y/%m/%d"), day.strftime("%Y%m%d"),
        f"{day.year}年{day.month}月{day.day}日", f"{day.year}年{day.month:02d}月{day.day:02d}日",
        f"{day.year}.{day.month:02d}.{day.day:02d}", f"{day.year}-{day.month}-{day.day}",
    ]  # fmt: skip


def month_spellings(day: dt.date) -> list[str]:
    return [f"{day.year}-{day.month:02d}", f"{day.year}/{day.month:02d}",
            f"{day.year}年{day.month}月", f"{day.year}{day.month:02d}"]  # fmt: skip


@functools.cache
def upper(seen: str) -> str:
    return seen.upper()


@functools.cache
def masks_in(seen: str) -> frozenset[str]:
    return frozenset(m.upper() for m in _MASK.findall(seen) if "*" in m)


def candidates(person: Person, seen: str) -> int:
    """How many ID numbers agree with ``seen`` about ``person``, granting county, year, sex."""
    number = person.id_number
    if number in upper(seen):
        return 1
    masks = [
        m for m in masks_in(seen) if all(c in ("*", d) for c, d in zip(m, number, strict=True))
    ]
    year = person.born.year
    if any(s in seen for s in date_spellings(person.born)):
        days = [person.born]
    elif any(s in seen for s in month_spellings(person.born)):
        month = person.born.month
        days = [dt.date(year, month, d) for d in range(1, calendar.monthrange(year, month)[1] + 1)]
    else:
        length = 366 if calendar.isleap(year) else 365
        days = [dt.date(year, 1, 1) + dt.timedelta(n) for n in range(length)]

    def agrees(text: str, start: int) -> bool:
        return all(
            m[start + i] in ("*", c) for m in masks for i, c in enumerate(text)
        )  # fmt: skip

    days = [d for d in days if agrees(d.strftime("%Y%m%d"), 6)]
    parity = int(number[16]) % 2
    if not any(c != "*" for m in masks for c in m[14:]):
        return len(days) * 500
    count = 0
    for day in days:
        for sequence in range(parity, 1000, 2):
            first17 = number[:6] + day.strftime("%Y%m%d") + f"{sequence:03d}"
            if agrees(f"{sequence:03d}" + id_check_digit(first17), 14):
                count += 1
    return count


def people(db: Session) -> list[Person]:
    cipher = cipher_of(db)
    tokens = db.scalars(sa.select(Member.id_number_encrypted).where(
        Member.id_number_encrypted.is_not(None)))  # fmt: skip
    return [Person(cipher.decrypt(token)) for token in tokens if token is not None]


def xlsx_text(data: bytes) -> str:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    return "\n".join(
        " ".join("" if v is None else str(v) for v in row)
        for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
    )  # fmt: skip


def collect(client: FlaskClient, db: Session, username: str) -> str:
    """Everything ``username`` is shown of households, needs and referrals, without a reveal."""
    sign_in(client, username)
    api = bearer(client, username)
    seen: list[str] = []

    def get(url: str, headers: dict[str, str] | None = None) -> Iterator[object]:
        response = client.get(url, headers=headers or {})
        if response.status_code != 200:
            return
        if response.mimetype == "application/json":
            seen.append(json.dumps(response.json, ensure_ascii=False))
            yield response.json
        elif "spreadsheet" in response.mimetype:
            seen.append(xlsx_text(response.data))
        else:
            seen.append(response.text)

    for url in ("/households", "/worklist", "/referrals", "/notifications", "/dashboard"):
        list(get(url))
    for url in ("/api/v1/needs?per_page=100", "/api/v1/stations", "/api/v1/notifications"):
        list(get(url, api))
    for page in get("/api/v1/households?per_page=100", api):
        for item in page["items"]:  # type: ignore[index]
            hid = item["id"]
            list(get(f"/api/v1/households/{hid}", api))
            list(get(f"/api/v1/households/{hid}/needs", api))
            list(get(f"/households/{hid}"))
            list(get(f"/households/{hid}/edit"))
    list(get("/api/v1/households/export.xlsx", api))
    for station_id in db.scalars(sa.select(Station.id)):
        list(get(f"/api/v1/households/export.xlsx?station_id={station_id}", api))
    for page in get("/api/v1/referrals?per_page=100", api):
        for item in page if isinstance(page, list) else page["items"]:  # type: ignore[index]
            list(get(f"/api/v1/referrals/{item['id']}", api))
            list(get(f"/referrals/{item['id']}"))
    client.post("/logout")
    return "\n".join(seen)


def test_the_counting_sees_through_the_old_mask_beside_a_clear_birth_date() -> None:
    # What the service used to show: 4 + 4 digits of the number, the date of birth beside it.
    person = Person("440232198609142552")
    assert candidates(person, "4402**********2552 1986-09-14") == 1
    assert candidates(person, "440232************ 出生年份 1986") == 365 * 500


@pytest.mark.parametrize("username", OBSERVERS)
def test_no_role_narrows_an_id_number_below_ten_thousand(
    client: FlaskClient, db: Session, username: str
) -> None:
    seen = collect(client, db, username)
    assert "************" in seen or username.startswith(("charity", "admin"))
    everyone = people(db)
    assert len(everyone) > 20
    fewest = min(everyone, key=lambda p: candidates(p, seen))
    assert candidates(fewest, seen) >= MIN_CANDIDATES, fewest.id_number[:6]


def test_the_database_without_its_key_narrows_no_id_number_below_ten_thousand(
    db: Session,
) -> None:
    dumped: list[str] = []
    for table in Base.metadata.sorted_tables:
        if table.name == "regions":
            continue  # the public division codes
        for row in db.execute(sa.select(table)):
            for value in row:
                if isinstance(value, bytes):
                    dumped.append(value.decode("latin-1"))
                elif value is not None:
                    dumped.append(str(value))
    seen = "\n".join(dumped)
    assert db.scalar(sa.select(sa.func.count(Household.id)))
    for person in people(db):
        assert candidates(person, seen) >= MIN_CANDIDATES, person.id_number[:6]
