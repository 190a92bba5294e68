"""需求缺口: charities see the unmet demand of their regions as counts that identify nobody.

A fixed data set in 从化区 (every demo need there and in 乳源 closed first, so only these
count): in 温泉镇 seven medical needs and six education needs, in 良口镇 three medical needs and
five education needs, in 乳源's 必背镇 six disability needs. So some cells are 1–4 and
some ≥ 5, and education's only other non-zero cell (5) must be hidden too: shown, it would
tell that every hidden township holds none.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from models import AuditLog, Household, Member, Need, Region, Station, clock
from models.enums import Domain, HouseholdStatus, NeedStatus, Relation
from tests.helpers import bearer, sign_in
from web.services.demand import MIN_SHOWN, suppress_line

WENQUAN, LIANGKOU = "440117103000", "440117107000"
#: Villages of the fixture's households.
V_WENQUAN, V_LIANGKOU, V_BIBEI = "440117103217", "440117107210", "440232113201"
CONGHUA, RUYUAN, SHAOGUAN = "440117000000", "440232000000", "440200000000"


def add_needs(
    db: Session, village: str, domain: Domain, count: int, *, tag: str,
    gap_fen: int | None = None, child: bool = False,
) -> list[Household]:  # fmt: skip
    station = db.scalar(
        sa.select(Station).where(Station.region_code.startswith(village[:9])).limit(1)
    ) or db.scalar(sa.select(Station).limit(1))
    assert station is not None
    made = []
    this_year = clock.today().year
    for i in range(count):
        members = [Member(name=f"{tag}户主{i}", relation=Relation.HEAD, birth_year=this_year - 45)]
        if child:
            members.append(Member(name=f"{tag}孩子{i}", relation=Relation.CHILD,
                                  birth_year=this_year - 9))  # fmt: skip
        h = Household(station_id=station.id, region_code=village, head_name=f"{tag}户主{i}",
                      consent_on=dt.date(2026, 1, 5), members=members)  # fmt: skip
        db.add(h)
        db.flush()
        db.add(Need(household_id=h.id, domain=domain, text=f"{tag}的需求原文{i}",
                    amount_gap_fen=gap_fen, status=NeedStatus.OPEN))  # fmt: skip
        made.append(h)
    db.flush()
    return made


@pytest.fixture
def world(db: Session) -> list[Household]:
    db.execute(sa.update(Need).values(status=NeedStatus.CLOSED))
    made = [
        *add_needs(db, V_WENQUAN, Domain.MEDICAL, 6, tag="温甲", gap_fen=2_000_000),
        *add_needs(db, V_WENQUAN, Domain.MEDICAL, 1, tag="温乙"),
        *add_needs(db, V_LIANGKOU, Domain.MEDICAL, 3, tag="良甲", gap_fen=50_000),
        *add_needs(db, V_WENQUAN, Domain.EDUCATION, 6, tag="温丙", child=True),
        *add_needs(db, V_LIANGKOU, Domain.EDUCATION, 5, tag="良乙", child=True),
        *add_needs(db, V_BIBEI, Domain.DISABILITY, 6, tag="必甲"),
    ]
    # Archived households and withdrawn consent count for nobody.
    gone = add_needs(db, V_WENQUAN, Domain.HOUSING, 5, tag="温丁")
    for h in gone[:3]:
        h.status = HouseholdStatus.ARCHIVED
    for h in gone[3:]:
        h.consent_withdrawn_at = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    db.commit()
    return [*made, *gone]


def demand_json(client: FlaskClient, username: str, **query: str) -> Any:
    response = client.get("/api/v1/demand", query_string=query, headers=bearer(client, username))
    assert response.status_code == 200, response.text
    return response.get_json()


def domain_row(view: dict[str, Any], domain: str) -> dict[str, Any]:
    return next(r for r in view["domains"] if r["domain"] == domain)


def cell(view: dict[str, Any], township: str, domain: str) -> dict[str, Any]:
    row = next(t for t in view["townships"] if t["code"] == township)
    return next(c for c in row["cells"] if c["domain"] == domain)


def all_counts(value: Any) -> list[int]:
    """Every count under a ``needs`` or ``total_needs`` key in a JSON document."""
    found: list[int] = []
    if isinstance(value, dict):
        for key, v in value.items():
            if key in ("needs", "total_needs") and v is not None:
                found.append(v)
            else:
                found += all_counts(v)
    elif isinstance(value, list):
        for v in value:
            found += all_counts(v)
    return found


# --- suppression ----------------------------------------------------------------------------


def test_no_count_under_five_leaves_the_api_and_small_cells_read_as_suppressed(
    client: FlaskClient, world: list[Household]
) -> None:
    view = demand_json(client, "charity_f")
    counts = all_counts(view)
    assert counts and min(counts) >= MIN_SHOWN
    assert cell(view, WENQUAN, "medical")["needs"] == 7
    assert cell(view, LIANGKOU, "medical")["needs"] is None  # 3
    assert domain_row(view, "medical")["needs"] == 10
    assert domain_row(view, "education")["needs"] == 11
    assert domain_row(view, "housing")["needs"] is None  # nobody counted: 0
    # 6 over 1万, 1 with no amount, 3 under 2千: the small bands are hidden.
    bands = {b["band"]: b["needs"] for b in domain_row(view, "medical")["bands"]}
    assert bands == {"no_amount": None, "under_2k": None, "2k_to_10k": None, "over_10k": 6}
    groups = {g["group"]: g["needs"] for g in domain_row(view, "education")["groups"]}
    assert groups["minor"] == 11 and groups["disabled"] is None


def test_a_cell_that_would_give_the_hidden_ones_away_is_hidden_too(
    client: FlaskClient, world: list[Household]
) -> None:
    view = demand_json(client, "charity_f")
    # 良口镇 has five education needs: not under 5, but with 温泉镇's six and the total of
    # eleven it would show that every other township has none.
    assert cell(view, LIANGKOU, "education")["needs"] is None
    assert cell(view, WENQUAN, "education")["needs"] == 6
    bands = {b["band"]: b["needs"] for b in domain_row(view, "education")["bands"]}
    assert set(bands.values()) == {None}  # all eleven have no amount; the rest are zeros
    assert view["total_needs"] is None  # some domain totals are hidden


def lines(view: dict[str, Any]) -> list[tuple[int, list[int | None]]]:
    """Each published line: its published total and its cells as published."""
    found = []
    for row in view["domains"]:
        if row["needs"] is None:
            continue
        if view["group"] is None:
            column = [cell(view, t["code"], row["domain"])["needs"] for t in view["townships"]]
            found.append((row["needs"], column))
            found.append((row["needs"], [b["needs"] for b in row["bands"]]))
        else:
            total = next(g["needs"] for g in row["groups"] if g["group"] == view["group"])
            if total is not None:
                column = [cell(view, t["code"], row["domain"])["needs"]
                          for t in view["townships"]]  # fmt: skip
                found.append((total, column))
    return found


@pytest.mark.parametrize("group", [None, "minor"])
def test_no_published_total_recovers_a_hidden_cell(
    client: FlaskClient, world: list[Household], group: str | None
) -> None:
    view = demand_json(client, "charity_f", **({"group": group} if group else {}))
    checked = lines(view)
    assert checked
    for total, cells in checked:
        hidden = [c for c in cells if c is None]
        rest = total - sum(c for c in cells if c is not None)
        # Hidden cells are none, or at least two holding something between them: a single
        # hidden cell would equal the rest, and hidden cells summing to 0 would all be 0.
        assert not hidden or (len(hidden) >= 2 and rest > 0), (total, cells)


def test_suppress_line_hides_the_next_smallest_cell_when_one_is_hidden() -> None:
    assert suppress_line([9, 3, 12], set(), True) == {0, 1}
    assert suppress_line([9, 3, 12], set(), False) == {1}
    assert suppress_line([0, 0, 7, 6], set(), True) == {0, 1, 3}
    assert suppress_line([6, 7], set(), True) == set()


def test_the_page_shows_less_than_five_never_the_number(
    client: FlaskClient, world: list[Household]
) -> None:
    sign_in(client, "charity_f")
    page = client.get("/demand")
    assert page.status_code == 200
    medical = cell_html(page.text, LIANGKOU, "medical")
    assert "少于5" in medical and "需求 3" not in medical
    assert "少于5" in cell_html(page.text, LIANGKOU, "education")
    assert re.search(r"需求 7\b", cell_html(page.text, WENQUAN, "medical"))
    row = re.search(r'data-testid="domain-medical">(.*?)</tr>', page.text, re.S)
    assert row and "<td>10</td>" in row.group(1) and "少于5" in row.group(1)
    # Every count the township table shows is 5 or more; the rest read 少于5.
    shown = [int(n) for n in re.findall(r"需求 (\d+)<br>", page.text)]
    assert shown and min(shown) >= MIN_SHOWN


def cell_html(text: str, township: str, domain: str) -> str:
    found = re.search(rf'data-testid="cell-{township}-{domain}">(.*?)</td>', text, re.S)
    assert found, (township, domain)
    return found.group(1)


# --- nobody identifiable ------------------------------------------------------------------


def test_a_charity_never_receives_a_household_id_name_or_village(
    client: FlaskClient, db: Session, world: list[Household]
) -> None:
    api = json.dumps(demand_json(client, "charity_f"), ensure_ascii=False)
    api_area = json.dumps(demand_json(client, "charity_f", area=WENQUAN), ensure_ascii=False)
    sign_in(client, "charity_f")
    pages = [client.get(p).text for p in ("/demand", f"/demand?area={WENQUAN}&group=minor")]
    villages = {h.region_code for h in world}
    village_names = set(db.scalars(sa.select(Region.name).where(Region.code.in_(villages))))
    for text in [api, api_area, *pages]:
        for h in world:
            assert h.head_name not in text
            for m in h.members:
                assert m.name not in text
            for pattern in (rf'"id": {h.id}\b', rf"/households/{h.id}\b",
                            rf'"household_id": {h.id}\b', r'"need_id"'):  # fmt: skip
                assert not re.search(pattern, text), pattern
        for code in villages:
            assert code not in text
        for name in village_names:
            assert name not in text, name
        assert "的需求原文" not in text
        assert "2000000" not in text and "20,000" not in text  # the amounts themselves


# --- who sees what ----------------------------------------------------------------------------


def test_a_shaoguan_charity_sees_shaoguan_and_not_conghua(
    client: FlaskClient, world: list[Household]
) -> None:
    view = demand_json(client, "charity_d")
    assert [r["code"] for r in view["regions"]] == [SHAOGUAN]
    assert domain_row(view, "disability")["needs"] == 6  # 乳源's, inside 韶关
    assert domain_row(view, "medical")["needs"] is None  # 从化's ten are not counted
    assert all(t["code"].startswith("4402") for t in view["townships"])
    refused = client.get("/api/v1/demand", query_string={"area": CONGHUA},
                         headers=bearer(client, "charity_d"))  # fmt: skip
    assert refused.status_code == 403
    conghua = demand_json(client, "charity_f")
    assert domain_row(conghua, "disability")["needs"] is None  # 乳源's six are not 从化's


def test_a_village_area_is_refused_and_filters_are_checked(
    client: FlaskClient, world: list[Household]
) -> None:
    headers = bearer(client, "charity_f")
    for query in ({"area": V_WENQUAN}, {"domain": "unknown"}, {"group": "elderly"}):
        response = client.get("/api/v1/demand", query_string=query, headers=headers)
        assert response.status_code == 422, query


def test_station_staff_are_refused(client: FlaskClient, world: list[Household]) -> None:
    response = client.get("/api/v1/demand", headers=bearer(client, "station_a"))
    assert response.status_code == 403
    sign_in(client, "station_a")
    assert client.get("/demand").status_code == 403


def test_civil_affairs_see_what_the_charities_of_their_region_see(
    client: FlaskClient, world: list[Household]
) -> None:
    office = demand_json(client, "ca_conghua")
    charity = demand_json(client, "charity_f")
    assert office["domains"] == charity["domains"]
    assert office["townships"] == charity["townships"]
    sign_in(client, "ca_conghua")
    page = client.get("/demand")
    assert page.status_code == 200 and "据此设立项目" not in page.text


def test_an_area_narrows_the_townships_and_its_subtotal_shows_only_when_complete(
    client: FlaskClient, world: list[Household]
) -> None:
    view = demand_json(client, "charity_f", area=WENQUAN, domain="medical")
    assert [t["code"] for t in view["townships"]] == [WENQUAN]
    assert [d["domain"] for d in view["domains"]] == ["medical"]
    assert view["subtotal"] == [{"domain": "medical", "needs": 7,
                                 "places": view["subtotal"][0]["places"]}]  # fmt: skip
    both = demand_json(client, "charity_f", domain="medical")
    assert both["subtotal"][0]["needs"] is None  # 良口镇's cell is hidden


def test_a_look_is_recorded_without_naming_anyone(
    client: FlaskClient, db: Session, world: list[Household]
) -> None:
    sign_in(client, "charity_f")
    client.get(f"/demand?area={WENQUAN}")
    entry = db.scalar(
        sa.select(AuditLog).where(AuditLog.action == "demand.read").order_by(AuditLog.id.desc())
    )
    assert entry is not None and entry.region_code == WENQUAN
    assert entry.detail == {"area": WENQUAN, "domain": None, "group": None}


# --- from a gap to a project ------------------------------------------------------------------


def test_a_gap_cell_opens_the_project_form_filled_in(
    client: FlaskClient, world: list[Household]
) -> None:
    sign_in(client, "charity_f")
    page = client.get(f"/demand?group=minor&area={CONGHUA}")
    link = re.search(rf'data-testid="start-disability-{WENQUAN}" href="([^"]+)"', page.text)
    assert link, "no 据此设立项目 on a township without places"
    form = client.get(link.group(1).replace("&amp;", "&"))
    assert form.status_code == 200
    text = form.text
    assert re.search(r'<input[^>]*checked[^>]*value="disability"|value="disability"[^>]*checked',
                     text)  # fmt: skip
    assert re.search(r'value="minor"[^>]*checked|checked[^>]*value="minor"', text)
    assert f'value="{WENQUAN}"' in text
    assert not re.search(r'value="medical"[^>]*checked|checked[^>]*value="medical"', text)


def test_a_prefill_that_fails_its_checks_is_left_out_and_said_so(
    client: FlaskClient, world: list[Household]
) -> None:
    sign_in(client, "charity_f")
    form = client.get("/projects/new?domain=nonsense&area=440117999000&group=minor",
                      follow_redirects=True)  # fmt: skip
    assert form.status_code == 200
    assert "链接中的以下内容无效" in form.text
    assert 'value="440117999000"' not in form.text
    assert re.search(r'value="minor"[^>]*checked|checked[^>]*value="minor"', form.text)
    assert not re.search(r"checked[^>]*value=\"nonsense\"", form.text)
