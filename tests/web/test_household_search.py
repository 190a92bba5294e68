"""Finding people: any member's name, or exactly an ID number or a phone through their keyed
hashes; each search is audited by its kind, and no clear number lands in the database."""

from __future__ import annotations

import json
import re
import time
from html import unescape
from unittest import mock
from urllib.parse import unquote

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from models import AuditLog, Base, Household, Member
from models.enums import Relation
from tests.helpers import bearer, csrf_token, get_user, sign_in
from web.services.crypto import cipher_of
from web.services.household_search import SEARCH_SEAL, SearchKind, search_kind
from web.services.households import HouseholdInput, MemberInput, create_household

#: 钟伟明's household at station_a (温泉镇): his wife's ID number and the household's phone.
WIFE_ID = "440122198009031148"
PHONE = "13719248651"


def listed(page: TestResponse) -> list[str]:
    assert page.status_code == 200
    table = page.text[page.text.index('data-testid="household-table"') :]
    return [name for name in ("钟伟明", "刘秀英") if f">{name}</a>" in table]


def total(page: TestResponse) -> int:
    """The page's own count of the households it lists (共 N 户)."""
    found = re.search(r"共 (\d+) 户", page.text)
    assert found is not None
    return int(found.group(1))


def addresses(page: TestResponse) -> str:
    """Every link of the page, decoded as the address bar and the logs would show it."""
    return " ".join(
        unquote(h).replace("&amp;", "&") for h in re.findall(r'href="([^"]*)"', page.text)
    )


def search(client: FlaskClient, data: dict[str, str]) -> TestResponse:
    """Post the search form, and follow it to the results' address."""
    token = csrf_token(client, "/households")
    posted = client.post("/households", data={**data, "csrf_token": token})
    assert posted.status_code == 303
    return client.get(posted.location)


def found(client: FlaskClient, query: str) -> list[str]:
    return listed(search(client, {"q": query}))


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
    own = client.post(
        "/api/v1/households/search", json={"q": PHONE}, headers=bearer(client, "station_a")
    )
    assert [h["head_name"] for h in own.json["items"]] == ["钟伟明"]
    other = client.post(
        "/api/v1/households/search", json={"q": PHONE}, headers=bearer(client, "station_b")
    )
    assert other.json["items"] == []


def test_a_search_term_never_travels_in_the_address(client: FlaskClient, db: Session) -> None:
    """An address lands in access logs, browser history and Referer headers: the page posts
    the term and the API refuses it there, saying where it goes."""
    refused = client.get(
        "/api/v1/households", query_string={"q": WIFE_ID}, headers=bearer(client, "station_a")
    )
    assert refused.status_code == 422
    assert "POST /api/v1/households/search" in json.dumps(refused.json, ensure_ascii=False)

    sign_in(client, "station_a")
    page = client.get("/households")
    form = re.search(r'<form[^>]*role="search"[^>]*>', page.text)
    assert form is not None and 'method="post"' in form.group()
    # An address built by hand finds nothing by it: the list is the whole, unfiltered.
    everyone = total(page)
    assert everyone > 1
    assert total(client.get("/households", query_string={"q": "刘秀英"})) == everyone

    # Posted, the term goes on sealed: the address opens the results (going back and reloading
    # work) but holds nothing of the number, and a second search for it looks different.
    token = csrf_token(client, "/households")
    posted = client.post("/households", data={"q": WIFE_ID, "csrf_token": token})
    again = client.post("/households", data={"q": WIFE_ID, "csrf_token": token})
    assert posted.status_code == 303 and posted.location != again.location
    for where in (posted.location, again.location):
        assert "q=" not in where and WIFE_ID[-6:] not in unquote(where)
    assert listed(client.get(posted.location)) == ["钟伟明"]
    assert listed(client.get(posted.location)) == ["钟伟明"]  # reloaded: the same

    # Someone else opening that address (at another station here) learns nothing of it.
    colleague = client.application.test_client()
    sign_in(colleague, "station_b")
    theirs = colleague.get(posted.location)
    assert theirs.status_code == 200 and WIFE_ID not in theirs.text
    assert "这次查找已失效" in theirs.text and total(theirs) > 0


def test_a_sealed_search_opens_only_for_a_working_day_and_only_as_a_search(
    client: FlaskClient, db: Session
) -> None:
    sign_in(client, "station_a")
    user = get_user(db, "station_a")
    cipher = cipher_of(db)
    fresh = cipher.seal(SEARCH_SEAL, f"{user.id}:{WIFE_ID}")
    assert listed(client.get("/households", query_string={"s": fresh})) == ["钟伟明"]
    with mock.patch("time.time", return_value=time.time() - 9 * 3600):
        stale = cipher.seal(SEARCH_SEAL, f"{user.id}:{WIFE_ID}")
    # Nothing else the key encrypts opens as a search: a member's stored ID number, say.
    stored = db.scalar(sa.select(Member.id_number_encrypted).where(Member.name == "刘秀英"))
    assert stored is not None
    for token in (stale, stored.decode(), cipher.seal("other-purpose", f"{user.id}:刘"), "x"):
        page = client.get("/households", query_string={"s": token})
        assert "这次查找已失效" in page.text and WIFE_ID not in page.text


def test_tokens_of_an_id_number_and_of_a_name_are_the_same_length(db: Session) -> None:
    """An access log shows the token: its length must not say what kind of thing was sought."""
    cipher = cipher_of(db)
    lengths = {len(cipher.seal(SEARCH_SEAL, f"7:{term}")) for term in (WIFE_ID, "刘", "a:b")}
    assert len(lengths) == 1
    assert cipher.unseal(SEARCH_SEAL, cipher.seal(SEARCH_SEAL, "7:a:b"), 60) == "7:a:b"


def test_a_stored_phone_is_indexed_by_its_keyed_hash(db: Session) -> None:
    household = db.scalar(sa.select(Household).where(Household.head_name == "钟伟明"))
    assert household is not None
    assert household.phone_hash == cipher_of(db).lookup_hash(PHONE)


def test_a_search_of_many_pages_turns_its_pages_by_links_that_hold_no_term(
    client: FlaskClient, db: Session
) -> None:
    user = get_user(db, "station_a")
    assert user.station is not None
    for n in range(21):
        create_household(
            db, user,
            HouseholdInput(region_code=user.station.region_code, categories=["dibao"],
                           members=[MemberInput(name=f"陈{'一二三四五六七八九十'[n % 10]}根{n}",
                                                relation=Relation.HEAD)]),
        )  # fmt: skip
    db.commit()
    sign_in(client, "station_a")
    first = search(client, {"q": "根", "category": "dibao"})
    assert "共 21 户" in first.text and "1 / 2" in first.text
    # The next page's link carries the sealed term and the filter, never the term itself.
    assert "根" not in addresses(first) and "q=" not in addresses(first)
    link = re.search(r'href="(/households\?[^"]*)">下一页', first.text)
    assert link is not None
    keys = sorted(part.split("=")[0] for part in link.group(1).split("?")[1].split("&amp;"))
    assert keys == ["category", "page", "s"]
    second = client.get(unescape(link.group(1)))
    assert "共 21 户" in second.text and "2 / 2" in second.text
    shown = set(re.findall(r">(陈.根\d+)</a>", first.text)) | set(
        re.findall(r">(陈.根\d+)</a>", second.text)
    )
    assert len(shown) == 21
    # A term typed into the address by hand is neither searched nor carried to the next page.
    typed = client.get("/households", query_string={"q": "根", "category": "dibao"})
    assert "根" not in addresses(typed) and "q=" not in addresses(typed)
    # Without a term, the filters and the page stay in the address, to be linked.
    listing = client.get("/households", query_string={"category": "dibao"})
    pager = listing.text[listing.text.index('class="pager"') :]
    link = re.search(r'href="(/households\?[^"]*)">下一页', pager)
    assert link is not None
    assert sorted(link.group(1).split("?")[1].split("&amp;")) == ["category=dibao", "page=2"]


def test_filters_posted_without_a_term_go_on_to_an_address_that_keeps_them(
    client: FlaskClient,
) -> None:
    sign_in(client, "station_a")
    token = csrf_token(client, "/households")
    answer = client.post(
        "/households", data={"q": "  ", "category": "dibao", "consent": "yes", "csrf_token": token}
    )
    assert answer.status_code == 303
    assert sorted(answer.location.split("?")[1].split("&")) == ["category=dibao", "consent=yes"]


def test_the_api_refuses_a_blank_search_naming_the_field(client: FlaskClient) -> None:
    answer = client.post(
        "/api/v1/households/search", json={"q": "   "}, headers=bearer(client, "station_a")
    )
    assert answer.status_code == 422
    assert "q" in json.dumps(answer.json, ensure_ascii=False)
