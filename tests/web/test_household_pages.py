"""Household pages: isolation by station, masked everywhere, audited "show", filters, export."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from models import AuditLog, Household, Member
from tests.helpers import csrf_token, get_user, sign_in
from web.services.crypto import cipher_of


def first_household(db: Session, username: str) -> Household:
    station_id = get_user(db, username).station_id
    household = db.scalar(
        sa.select(Household).where(Household.station_id == station_id).order_by(Household.id)
    )
    assert household is not None
    return household


def test_another_station_gets_404_on_every_household_page(client: FlaskClient, db: Session) -> None:
    theirs = first_household(db, "station_a")
    sign_in(client, "station_b")
    token = csrf_token(client, "/households")
    member = theirs.members[0].id
    assert client.get(f"/households/{theirs.id}").status_code == 404
    assert client.get(f"/households/{theirs.id}/edit").status_code == 404
    reveal = client.post(
        f"/households/{theirs.id}/reveal", data={"csrf_token": token, "member_id": member}
    )
    assert reveal.status_code == 404
    need = client.post(
        f"/households/{theirs.id}/needs",
        data={"csrf_token": token, "domain": "medical", "text": "x", "urgency": "normal"},
    )
    assert need.status_code == 404
    county = client.application.test_client()
    sign_in(county, "ca_conghua")
    assert county.get(f"/households/{theirs.id}").status_code == 200


def test_ids_are_masked_until_shown_and_showing_is_audited(
    client: FlaskClient, db: Session
) -> None:
    household = first_household(db, "station_a")
    member = next(m for m in household.members if m.id_number_encrypted)
    whole = cipher_of(db).decrypt(member.id_number_encrypted)
    sign_in(client, "station_a")
    page = client.get(f"/households/{household.id}")
    assert whole not in page.text and member.id_number_masked in page.text
    token = csrf_token(client, f"/households/{household.id}")
    shown = client.post(
        f"/households/{household.id}/reveal", data={"csrf_token": token, "member_id": member.id}
    )
    assert shown.status_code == 200 and whole in shown.text
    audited = db.scalar(
        sa.select(AuditLog)
        .where(AuditLog.action == "member.id_revealed")
        .order_by(AuditLog.id.desc())
    )
    assert audited.actor_name == "station_a" and audited.detail == {"member_id": member.id}
    assert whole not in client.get(f"/households/{household.id}").text


def test_list_filters_and_export_masks_ids(client: FlaskClient, db: Session) -> None:
    sign_in(client, "station_a")
    page = client.get("/households?consent=no")
    assert page.status_code == 200
    unconsented = db.scalars(
        sa.select(Household.head_name).where(
            Household.station_id == get_user(db, "station_a").station_id,
            Household.consent_on.is_(None),
        )
    ).all()
    for name in unconsented:
        assert name in page.text
    export = client.get("/api/v1/households/export.xlsx")
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.data)).worksheets[0]
    ids = [row[3] for row in sheet.iter_rows(min_row=2, values_only=True) if row[3]]
    assert ids and all("************" in str(value) for value in ids)
    numbers = db.scalars(
        sa.select(Member.id_number_encrypted).where(Member.id_number_encrypted.is_not(None))
    ).all()
    clear = {cipher_of(db).decrypt(n) for n in numbers}
    assert not clear & set(ids)


def test_the_worklist_page_counts_by_domain(client: FlaskClient) -> None:
    sign_in(client, "station_a")
    page = client.get("/worklist")
    assert page.status_code == 200
    assert "待办需求" in page.text and "未享受政府救助" in page.text


def test_a_refused_household_shows_each_reason_beside_its_member_row(
    client: FlaskClient, db: Session
) -> None:
    sign_in(client, "station_a")
    token = csrf_token(client, "/households/new")
    blank = {"relation": "child", "self_care": "independent"}
    rows = [blank, {"name": "罗振华", "relation": "spouse", "id_number": "440122195802140018",
                    "self_care": "independent"}, blank]  # fmt: skip
    data = {"csrf_token": token, "region_code": "440117103220"}
    for n, row in enumerate(rows):
        data |= {f"members-{n}-{key}": value for key, value in row.items()}
    before = db.scalar(sa.select(sa.func.count(Household.id)))
    response = client.post("/households/new", data=data)
    assert response.status_code == 422
    # The only filled row is the service's member 0 and the form's second row.
    second = response.text.index('data-testid="member-1"')
    third = response.text.index('data-testid="member-2"')
    assert "校验位" in response.text[second:third]
    assert '<p class="error" role="alert">家庭成员中须有且仅有一名户主。</p>' in response.text
    assert db.scalar(sa.select(sa.func.count(Household.id))) == before


def test_illness_text_is_mapped_and_the_station_confirms_the_conditions(
    client: FlaskClient, db: Session
) -> None:
    sign_in(client, "station_a")
    data = {"csrf_token": csrf_token(client, "/households/new"), "region_code": "440117103220",
            "situations": ["single_parent"]}  # fmt: skip
    rows = [{"name": "罗振华", "relation": "head", "illness": "每周去区医院洗血三次",
             "self_care": "independent"},
            {"name": "罗小雨", "relation": "child", "child_status": "left_behind",
             "self_care": "independent"}]  # fmt: skip
    for n, row in enumerate(rows):
        data |= {f"members-{n}-{key}": value for key, value in row.items()}
    response = client.post("/households/new", data=data)
    assert response.status_code == 302, response.text
    household = db.scalar(sa.select(Household).where(Household.head_name == "罗振华"))
    assert household is not None and household.situations == ["single_parent"]
    head = household.members[0]
    assert head.conditions is None  # typed, not yet confirmed
    detail = client.get(response.headers["Location"]).text
    assert "识别出的病种（待确认）：尿毒症" in detail
    assert "留守儿童" in detail and "单亲家庭" in detail
    # The edit form offers the mapped entry already chosen; saving it confirms it.
    form_url = f"/households/{household.id}/edit"
    page = client.get(form_url).text
    assert '<option selected value="uraemia">' in page or 'value="uraemia" selected' in page
    data = {"csrf_token": csrf_token(client, form_url), "region_code": "440117103220"}
    for n, row in enumerate(rows):
        data |= {f"members-{n}-{key}": value for key, value in row.items()}
    data["members-0-conditions"] = ["uraemia"]
    assert client.post(form_url, data=data).status_code == 302
    db.refresh(head)
    assert head.conditions == ["uraemia"]
    assert "待确认" not in client.get(f"/households/{household.id}").text


def test_the_household_form_names_places_without_their_codes(client: FlaskClient) -> None:
    """People pick a village by its name: the options' codes are their values, never words."""
    sign_in(client, "station_a")
    form = client.get("/households/new").text
    select = form[
        form.index('id="region_code"') : form.index("</select>", form.index('id="region_code"'))
    ]
    options = re.findall(r'<option[^>]*value="(\d{12})"[^>]*>([^<]*)</option>', select)
    assert len(options) > 5 and dict(options)["440117103000"] == "温泉镇"
    assert not any(re.search(r"\d", name) for _code, name in options)
