"""Finding people: any member's name, or exactly an ID number or a phone through their keyed
hashes; each search is audited by its kind, and no clear number lands in the database."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from models import AuditLog, Base, Household
from tests.helpers import bearer, sign_in
from web.services.crypto import cipher_of
from web.services.households import SearchKind, search_kind

#: 钟伟明's household at station_a (温泉镇): his wife's ID number and the household's phone.
WIFE_ID = "440122198009031148"
PHONE = "13719248651"


def found(client: FlaskClient, query: str) -> list[str]:
    page = client.get("/households", query_string={"q": query})
    assert page.status_code == 200
    table = page.text[page.text.index('data-testid="household-table"') :]
    return [name for name in ("钟伟明", "刘秀英") if f">{name}</a>" in table]


def text_columns_holding(db: Session, value: str) -> list[str]:
    """Every text or JSON column of every table in which ``value`` appears in clear."""
    hits = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if not isinstance(column.type, sa.String | sa.Text | sa.JSON):
                continue
            as_text = sa.cast(column, sa.Text)
            count = db.scalar(
                sa.select(sa.func.count()).select_from(table).where(as_text.contains(value))
            )
            if count:
                hits.append(f"{table.name}.{column.name}")
    return hits


@pytest.mark.parametrize(
    ("query", "kind"),
    [
        ("刘秀英", SearchKind.NAME),
        ("440122198009031148", SearchKind.ID_NUMBER),
        ("44012219800903114x", SearchKind.ID_NUMBER),
        ("137 1924 8651", SearchKind.PHONE),
        ("+86 137-1924-8651", SearchKind.PHONE),
        ("2026", SearchKind.NAME),
    ],
)
def test_a_query_is_read_as_a_name_an_id_number_or_a_phone(query: str, kind: SearchKind) -> None:
    assert search_kind(query) == kind


def test_search_by_a_members_name_id_number_or_phone_finds_the_household_and_is_audited(
    client: FlaskClient, db: Session
) -> None:
    sign_in(client, "station_a")
    assert found(client, "刘秀英") == ["钟伟明"]  # not the head: any member's name
    assert found(client, WIFE_ID) == ["钟伟明"]
    assert found(client, "137-1924-8651") == ["钟伟明"]
    assert found(client, "440122198009031130") == []  # another valid number: nobody
    assert found(client, "13719248650") == []

    searches = db.scalars(
        sa.select(AuditLog).where(AuditLog.action == "household.search").order_by(AuditLog.id)
    ).all()
    assert [a.detail["by"] for a in searches][-5:] == [
        "name", "id_number", "phone", "id_number", "phone",
    ]  # fmt: skip
    assert searches[-4].detail["found"] == 1 and searches[-4].actor_name
    logged = json.dumps([a.detail for a in searches], ensure_ascii=False)
    assert WIFE_ID not in logged and PHONE not in logged and "1924" not in logged

    # The numbers are found through hashes: nowhere in the database in clear.
    assert text_columns_holding(db, WIFE_ID) == []
    assert text_columns_holding(db, PHONE) == []


def test_the_api_finds_by_phone_only_within_the_callers_scope(
    client: FlaskClient, db: Session
) -> None:
    own = client.get(
        "/api/v1/households", query_string={"q": PHONE}, headers=bearer(client, "station_a")
    )
    assert [h["head_name"] for h in own.json["items"]] == ["钟伟明"]
    other = client.get(
        "/api/v1/households", query_string={"q": PHONE}, headers=bearer(client, "station_b")
    )
    assert other.json["items"] == []


def test_a_stored_phone_is_indexed_by_its_keyed_hash(db: Session) -> None:
    household = db.scalar(sa.select(Household).where(Household.head_name == "钟伟明"))
    assert household is not None
    assert household.phone_hash == cipher_of(db).lookup_hash(PHONE)
