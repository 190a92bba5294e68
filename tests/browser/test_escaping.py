"""In a real browser: what charities and staff type stays text on every page that shows it.

Hostile strings (a ``<script>``, an attribute-breaking ``"><img onerror>``, a closing
``</textarea>``, a ``javascript:`` link and a ``{{7*7}}`` template) are put through the services
into every field a charity or a member of staff types and a page displays: organizations,
projects and their review, the station, the household and its members, needs, referrals with
their return, decline and service notes, 双向转介, account names. The server gets a database of
its own, so no other browser test meets them. Each page is then opened as the role that sees it:
no planted script ran (``window.__xss`` stays undefined), no element was injected, and the text
reads exactly as typed (the dashboard's chart and its tooltip included).
"""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import openpyxl
import pytest
from flask import Flask
from playwright.sync_api import Browser, FilePayload, Page, expect
from sqlalchemy.engine import Engine
from werkzeug.serving import BaseWSGIServer, make_server

from models import Project, utcnow
from models.clock import period_of
from models.enums import (
    DeclineReason,
    Domain,
    GovAidType,
    NeedStatus,
    Relation,
    Role,
    ServiceType,
    Urgency,
)
from tests.browser.helpers import new_page, sign_in
from tests.conftest import copy_demo, side_database_url
from tests.helpers import (
    DEMO_PASSWORD,
    TEST_DATA_KEY,
    TEST_SECRET_KEY,
    credit_code,
    get_user,
    project_named,
)
from web.services.excel import HEADERS
from web.services.households import HouseholdInput, MemberInput, add_need, create_household
from web.services.ledgers import build_edition
from web.services.needs import set_need_status
from web.services.organizations import register_organization, review_organization
from web.services.projects import (
    ProjectInput,
    input_of,
    register_project,
    review_project,
    submit_project,
    update_project,
)
from web.services.referrals.back_referrals import handle_back_referral, refer_back
from web.services.referrals.episodes import EpisodeInput, add_episode
from web.services.referrals.workflow import (
    accept_referral,
    approve_referral,
    complete_referral,
    decline_referral,
    return_referral,
    start_referral,
    start_service,
    submit_referral,
)
from web.services.stations import update_station
from web.services.users import create_user

COUNTY = "440117000000"  # 从化区
VILLAGE = "440117103217"  # 温泉镇新田村, served by station_a

# The payloads. Long fields get all of them; 64- and 32-character columns get what fits.
SCRIPT = "<script>window.__xss=1</script>"
IMG = '"><img src=x onerror="window.__xss=1">'
LINK = "javascript:window.__xss=1"
TEMPLATE = "{{7*7}}"
HOSTILE = f"</textarea>{SCRIPT}{IMG}{TEMPLATE}"


def hostile(label: str) -> str:
    return f"{label}{HOSTILE}"


ORGANIZATION = hostile("善行会")
PENDING_ORGANIZATION = hostile("待审慈善会")
CONTACT = f"联系人{IMG}{TEMPLATE}"
PHONE = f'"><svg onload="__xss=1">{TEMPLATE}'
CHARITY_STAFF = f"社工{IMG}{TEMPLATE}"
PROJECT = hostile("急难援助")
DESCRIPTION = f"项目简介 {LINK} {HOSTILE}"
CHANGED_DESCRIPTION = hostile("修改后的简介")
EXCLUDED_PROJECT = hostile("婴幼儿关爱")
REJECTED_PROJECT = hostile("被驳回项目")
REJECT_REASON = hostile("驳回理由")
WAITING_PROJECT = hostile("待审项目")
STATION = hostile("温泉镇站")
HEAD = f"户主{IMG}{TEMPLATE}"
ADDRESS = f"住址 {LINK} {HOSTILE}"
ILLNESS = hostile("病情")
CONSENT_SCOPE = hostile("授权范围")
SERVED_NEED = hostile("已帮扶需求")
DECLINED_NEED = hostile("被婉拒需求")
HELD_NEED = hostile("已接收需求")
OPEN_NEED = hostile("待匹配需求")
CLOSED_NEED = hostile("已关闭需求")
CLOSE_REASON = hostile("关闭原因")
RETURN_REASON = hostile("退回原因")
DECLINE_NOTE = hostile("婉拒说明")
EPISODE_NOTE = hostile("服务备注")
UNIT = '"><img src=x>'
DELIVERED = hostile("已送达")
BACK_NOTE = hostile("双向转介说明")
HANDLED_NOTE = hostile("处理情况")
IMPORTED_DOMAIN = hostile("领域")

#: Anything a planted string would have become, had it been parsed as markup.
INJECTED = "img[src='x'], script:not([src]), [onerror], [onload], a[href^='javascript' i]"


@dataclass(frozen=True)
class Planted:
    household_id: int
    open_need_id: int
    project_id: int
    edition_id: int
    served_referral_id: int
    declined_referral_id: int
    held_referral_id: int
    second_referral_id: int


def plant(app: Flask) -> Planted:
    """Every hostile string, typed where it belongs by the people who type it."""
    now = utcnow()
    today = now.date()
    with app.extensions["sessionmaker"]() as db:
        office = get_user(db, "ca_conghua")
        station_user = get_user(db, "station_a")
        station = station_user.station
        update_station(
            db, office, station.id, name=STATION, contact_name=station.contact_name,
            phone=station.phone, address=station.address,
        )  # fmt: skip

        organization = register_organization(
            db, None, name=ORGANIZATION, uscc_code=credit_code(1),
            registered_region_code=COUNTY, contact_name=CONTACT, contact_phone=PHONE,
        )  # fmt: skip
        review_organization(db, office, organization.id, approve=True, now=now)
        register_organization(
            db, None, name=PENDING_ORGANIZATION, uscc_code=credit_code(2),
            registered_region_code=COUNTY, contact_name=CONTACT, contact_phone=PHONE,
        )  # fmt: skip
        charity = create_user(
            db, None, username="charity_hostile", password=DEMO_PASSWORD,
            display_name=CHARITY_STAFF, role=Role.CHARITY_STAFF, region_code=COUNTY,
            organization_id=organization.id,
        )  # fmt: skip

        def submitted(name: str, **rules: Any) -> Project:
            data = ProjectInput(
                name=name, description=DESCRIPTION, domains=[Domain.EMERGENCY.value],
                forms=["cash"], service_area=[COUNTY], quota=10,
                amount_per_beneficiary_fen=300_000, starts_on=today - dt.timedelta(days=1),
                ends_on=today + dt.timedelta(days=365), contact_name=CONTACT,
                contact_phone=PHONE, **rules,
            )  # fmt: skip
            project = register_project(db, charity, data)
            return submit_project(db, charity, project.id)

        project = submitted(PROJECT)
        review_project(db, office, project.id, approve=True, now=now)
        excluded = submitted(EXCLUDED_PROJECT, max_age=3)
        review_project(db, office, excluded.id, approve=True, now=now)
        rejected = submitted(REJECTED_PROJECT)
        review_project(db, office, rejected.id, approve=False, reason=REJECT_REASON, now=now)
        submitted(WAITING_PROJECT)
        edition = build_edition(db, office, COUNTY, period_of(today), now).edition
        # A verified project's edit waits for review with the old text still in force.
        change = replace(input_of(project), description=CHANGED_DESCRIPTION)
        update_project(db, charity, project.id, change)

        household = create_household(
            db, station_user,
            HouseholdInput(
                region_code=VILLAGE, address=ADDRESS, phone="13800138000", categories=["dibao"],
                income_per_head_fen=50_000, consent_on=today, consent_scope=CONSENT_SCOPE,
                members=[MemberInput(name=HEAD, relation=Relation.HEAD,
                                     birth_on=dt.date(1961, 5, 1), illness=ILLNESS)],
            ),
        )  # fmt: skip

        def need(text: str) -> int:
            return add_need(
                db, station_user, household, domain=Domain.EMERGENCY, text=text,
                amount_gap_fen=300_000, urgency=Urgency.URGENT,
            ).id  # fmt: skip

        served_need = need(SERVED_NEED)
        declined_need = need(DECLINED_NEED)
        held_need = need(HELD_NEED)
        open_need = need(OPEN_NEED)
        set_need_status(db, station_user, need(CLOSED_NEED), NeedStatus.CLOSED, CLOSE_REASON)

        served = start_referral(db, station_user, served_need, project.id).id
        submit_referral(db, station_user, served)
        approve_referral(db, office, served)
        accept_referral(db, charity, served)
        start_service(db, charity, served)
        add_episode(
            db, charity, served,
            EpisodeInput(on=today, kind=ServiceType.EMERGENCY_RELIEF, unit=UNIT,
                         value_fen=100_000, note=EPISODE_NOTE),
            today=today,
        )  # fmt: skip
        back = refer_back(db, charity, served, [GovAidType.TEMPORARY_ASSISTANCE], BACK_NOTE)
        handle_back_referral(db, office, back.id, HANDLED_NOTE)
        complete_referral(db, charity, served, delivered_amount_fen=100_000,
                          delivered_service=DELIVERED)  # fmt: skip

        declined = start_referral(db, station_user, declined_need, project.id).id
        submit_referral(db, station_user, declined)
        return_referral(db, office, declined, RETURN_REASON)
        submit_referral(db, station_user, declined)
        approve_referral(db, office, declined)
        decline_referral(db, charity, declined, DeclineReason.OTHER, DECLINE_NOTE)

        held = start_referral(db, station_user, held_need, project.id).id
        submit_referral(db, station_user, held)
        approve_referral(db, office, held)
        accept_referral(db, charity, held)
        # A second charity's project for the same need: its draft warns of the first.
        other = project_named(db, "从化区急难救助“一事一议”")
        second = start_referral(db, station_user, held_need, other.id).id
        db.commit()
        return Planted(
            household_id=household.id, open_need_id=open_need, project_id=project.id,
            edition_id=edition.id, served_referral_id=served, declined_referral_id=declined,
            held_referral_id=held, second_referral_id=second,
        )  # fmt: skip


@pytest.fixture(scope="module")
def hostile_site(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, engine: Engine
) -> Iterator[tuple[str, Planted]]:
    """A live server on a demo database of its own, with the hostile text planted."""
    from web import create_app

    url = side_database_url(database_url, tmp_path_factory.mktemp("escape"), "escape")
    copy_demo(engine, url).dispose()
    app = create_app(
        {"DATABASE_URL": url, "SECRET_KEY": TEST_SECRET_KEY, "DATA_KEY": TEST_DATA_KEY}
    )
    planted = plant(app)
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", planted
    server.shutdown()
    app.extensions["engine"].dispose()


def assert_inert(page: Page, texts: list[str]) -> None:
    """Nothing planted ran or became an element, and each text reads as it was typed."""
    assert page.evaluate("() => typeof window.__xss") == "undefined", page.url
    assert page.locator(INJECTED).count() == 0, page.url
    body = page.locator("body")
    for text in texts:
        expect(body).to_contain_text(text)


def visit_all(page: Page, visits: list[tuple[str, list[str]]]) -> None:
    for path, texts in visits:
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        # Were anything to slip through, the policy still refuses inline scripts and handlers.
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy, path
        assert_inert(page, texts)


def signed_in(browser: Browser, site: str, username: str) -> Page:
    page = new_page(browser, site)
    sign_in(page, username)
    expect(page.get_by_test_id("current-user")).to_be_visible()
    return page


def test_the_station_sees_every_hostile_text_as_typed_and_nothing_runs(
    browser: Browser, hostile_site: tuple[str, Planted]
) -> None:
    site, planted = hostile_site
    page = signed_in(browser, site, "station_a")
    visit_all(page, [
        ("/home", [STATION]),
        ("/households", [HEAD, STATION]),
        (f"/households/{planted.household_id}", [
            HEAD, STATION, ADDRESS, CONSENT_SCOPE, ILLNESS, SERVED_NEED, DECLINED_NEED,
            HELD_NEED, OPEN_NEED, CLOSED_NEED, CLOSE_REASON, PROJECT,
        ]),
        ("/worklist", [STATION, HEAD, OPEN_NEED, DECLINED_NEED]),
        (f"/needs/{planted.open_need_id}/matches?explain=1",
         [OPEN_NEED, HEAD, PROJECT, ORGANIZATION, EXCLUDED_PROJECT]),
        ("/referrals", [HEAD, PROJECT, ORGANIZATION]),
        (f"/referrals/{planted.served_referral_id}",
         [PROJECT, ORGANIZATION, SERVED_NEED, HEAD, EPISODE_NOTE, UNIT, DELIVERED]),
        (f"/referrals/{planted.declined_referral_id}",
         [DECLINED_NEED, RETURN_REASON, DECLINE_NOTE]),
        (f"/referrals/{planted.second_referral_id}", [HELD_NEED, f"{ORGANIZATION}“{PROJECT}”"]),
        ("/notifications", [PROJECT, RETURN_REASON, DECLINE_NOTE]),
        ("/ledgers/current", [PROJECT, ORGANIZATION]),
    ])  # fmt: skip

    # Typed values come back into the edit form's fields whole, without breaking out of them.
    page.goto(f"/households/{planted.household_id}/edit")
    assert_inert(page, [])
    expect(page.get_by_test_id("household-form").get_by_label("住址")).to_have_value(ADDRESS)
    head = page.get_by_test_id("member-0")
    expect(head.get_by_label("姓名")).to_have_value(HEAD)
    expect(head.get_by_label("疾病", exact=True)).to_have_value(ILLNESS)
    assert page.console_errors == []  # type: ignore[attr-defined]  # set by new_page
    page.context.close()


def import_file() -> bytes:
    """A project sheet whose 帮扶领域 is hostile: the refusal quotes the value back."""
    book = openpyxl.Workbook()
    book.active.append(HEADERS)
    book.active.append([IMPORTED_DOMAIN if h == "帮扶领域" else None for h in HEADERS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_the_charity_sees_every_hostile_text_as_typed_and_nothing_runs(
    browser: Browser, hostile_site: tuple[str, Planted]
) -> None:
    site, planted = hostile_site
    page = signed_in(browser, site, "charity_hostile")
    visit_all(page, [
        ("/home", [ORGANIZATION, CHARITY_STAFF]),
        ("/my/projects", [
            ORGANIZATION, PROJECT, EXCLUDED_PROJECT, REJECTED_PROJECT, REJECT_REASON,
            WAITING_PROJECT,
        ]),
        ("/referrals?box=all", [PROJECT, ORGANIZATION]),
        (f"/referrals/{planted.served_referral_id}",
         [PROJECT, SERVED_NEED, EPISODE_NOTE, UNIT, DELIVERED]),
        # Accepted: the contact the charity needs, typed by the station.
        (f"/referrals/{planted.held_referral_id}", [HELD_NEED, HEAD, ADDRESS, STATION]),
        # Declined, so never accepted: the summary for charities, not the station's text.
        (f"/referrals/{planted.declined_referral_id}", [DECLINE_NOTE]),
        ("/back-referrals?status=all", [BACK_NOTE, HANDLED_NOTE]),
        ("/notifications", [PROJECT]),
        ("/ledgers/current", [PROJECT, ORGANIZATION]),
    ])  # fmt: skip

    page.goto(f"/projects/{planted.project_id}/edit")
    assert_inert(page, [])
    form = page.get_by_test_id("project-form")
    expect(form.get_by_label("项目名称")).to_have_value(PROJECT)
    expect(form.get_by_label("项目简介")).to_have_value(DESCRIPTION)
    expect(form.get_by_label("联系人")).to_have_value(CONTACT)
    expect(form.get_by_label("联系电话")).to_have_value(PHONE)
    assert page.console_errors == []  # type: ignore[attr-defined]  # set by new_page

    # An uploaded file's bad values are quoted back in the list of rows refused.
    page.goto("/imports/projects")
    page.get_by_label("Excel 文件（.xlsx）").set_input_files(
        files=[FilePayload(name="项目.xlsx", mimeType="application/octet-stream",
                           buffer=import_file())]
    )  # fmt: skip
    page.get_by_role("button", name="上传并导入").click()
    expect(page.get_by_test_id("import-errors")).to_contain_text(IMPORTED_DOMAIN)
    assert_inert(page, [])
    page.context.close()


def test_the_office_sees_every_hostile_text_as_typed_in_queues_ledgers_and_charts(
    browser: Browser, hostile_site: tuple[str, Planted]
) -> None:
    site, planted = hostile_site
    page = signed_in(browser, site, "ca_conghua")
    visit_all(page, [
        ("/review", [
            PENDING_ORGANIZATION, CONTACT, PHONE, WAITING_PROJECT, ORGANIZATION, PROJECT,
            CHANGED_DESCRIPTION,
        ]),
        (f"/ledgers/{planted.edition_id}", [PROJECT, EXCLUDED_PROJECT, ORGANIZATION]),
        ("/referrals?box=all", [HEAD, PROJECT, ORGANIZATION]),
        (f"/referrals/{planted.declined_referral_id}",
         [DECLINED_NEED, RETURN_REASON, DECLINE_NOTE]),
        ("/back-referrals?status=all", [BACK_NOTE, HANDLED_NOTE]),
        ("/households", [HEAD, STATION]),
        ("/notifications", [PROJECT, DECLINE_NOTE]),
        (f"/reports/half-year?region={COUNTY}", [ORGANIZATION]),
        (f"/dashboard?region={COUNTY}", [ORGANIZATION]),
    ])  # fmt: skip

    # The charities chart labels its bar with the name as typed, and so does its tooltip.
    expect(page.locator("#dashboard")).to_have_attribute("data-charts-ready", "1")
    canvas = page.locator("canvas[data-chart=charities]")
    canvas.scroll_into_view_if_needed()
    chart = "Chart.getChart(document.querySelector('canvas[data-chart=charities]'))"
    labels = page.evaluate(f"() => {chart}.data.labels")
    assert ORGANIZATION in labels
    # A horizontal bar runs from its base to x; hover over its middle.
    middle = page.evaluate(
        f"i => {{ const b = {chart}.getDatasetMeta(0).data[i];"
        " return [(b.base + b.x) / 2, b.y]; }",
        labels.index(ORGANIZATION),
    )
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + middle[0], box["y"] + middle[1])
    page.wait_for_function(f"() => {chart}.tooltip.getActiveElements().length > 0")
    assert page.evaluate(f"() => {chart}.tooltip.title") == [ORGANIZATION]
    assert_inert(page, [])
    assert page.console_errors == []  # type: ignore[attr-defined]  # set by new_page
    page.context.close()
