"""系统管理 pages: accounts, charities, stations, the audit log, and the region picker's
answers, as administrators and civil-affairs offices use them and as other roles are refused."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from models import AuditLog, Household, Station, User
from models.enums import OrganizationStatus
from tests.helpers import csrf_token, get_user, sign_in

WENQUAN = "440117103000"  # 从化区温泉镇
XINTIAN = "440117103217"  # 温泉镇新田村委会
RUYUAN_TOWNSHIP = "440232100000"  # 乳源县乳城镇
NEW_PASSWORD = "my-own-pass-2026"


def post(client: FlaskClient, path: str, data: dict[str, str], page: str = "/home") -> object:
    return client.post(path, data={"csrf_token": csrf_token(client, page), **data})


def create_station_user(client: FlaskClient, db: Session, username: str = "wq_xintian") -> User:
    station = db.scalar(sa.select(Station).where(Station.name.contains("温泉镇")))
    assert station is not None
    response = post(
        client, "/users/new",
        {"username": username, "display_name": "黎秀英", "role": "station_staff",
         "station_id": str(station.id), "password": "handed-over-2026", "region_code": ""},
        page="/users/new",
    )  # fmt: skip
    assert response.status_code == 302, response.text  # type: ignore[attr-defined]
    return get_user(db, username)


def test_admin_creates_an_account_whose_user_must_choose_a_password_first(
    client: FlaskClient, db: Session
) -> None:
    sign_in(client, "admin")
    created = create_station_user(client, db)
    assert created.must_change_password and created.station is not None
    assert "wq_xintian" in client.get("/users").text

    user_client = client.application.test_client()
    sign_in(user_client, "wq_xintian", "handed-over-2026")
    home = user_client.get("/households")
    assert home.status_code == 302 and home.headers["Location"].endswith("/account/password")
    handed = {"username": "wq_xintian", "password": "handed-over-2026"}
    refused = user_client.post("/api/v1/auth/token", json=handed)
    assert refused.status_code == 403

    changed = post(
        user_client, "/account/password",
        {"current_password": "handed-over-2026", "new_password": NEW_PASSWORD,
         "confirm": NEW_PASSWORD},
        page="/account/password",
    )  # fmt: skip
    assert changed.status_code == 302  # type: ignore[attr-defined]
    assert user_client.get("/households").status_code == 200
    db.refresh(created)
    assert not created.must_change_password


def test_a_disabled_account_cannot_sign_in_and_its_session_ends(
    client: FlaskClient, db: Session
) -> None:
    target = get_user(db, "station_b")
    victim = client.application.test_client()
    sign_in(victim, "station_b")
    assert victim.get("/households").status_code == 200

    sign_in(client, "admin")
    done = post(client, f"/users/{target.id}/disable", {}, page="/users")
    assert done.status_code == 302  # type: ignore[attr-defined]
    assert victim.get("/households").status_code == 302  # sent to sign in again
    again = sign_in(client.application.test_client(), "station_b")
    assert again.status_code == 401 and "用户名或密码错误" in again.text
    assert db.scalar(
        sa.select(AuditLog).where(AuditLog.action == "user.disable",
                                  AuditLog.object_id == str(target.id))
    ) is not None  # fmt: skip


def test_a_reset_password_replaces_the_old_one_and_must_be_changed(
    client: FlaskClient, db: Session
) -> None:
    target = get_user(db, "station_a")
    sign_in(client, "ca_conghua")
    done = post(client, f"/users/{target.id}/password", {"password": "temporary-2026"}, "/users")
    assert done.status_code == 302  # type: ignore[attr-defined]
    assert sign_in(client.application.test_client(), "station_a").status_code == 401
    fresh = client.application.test_client()
    assert sign_in(fresh, "station_a", "temporary-2026").status_code == 302
    assert fresh.get("/worklist").headers["Location"].endswith("/account/password")


def test_a_password_reset_lifts_the_sign_in_wait(client: FlaskClient, db: Session) -> None:
    """The owner who forgot the password and was locked out gets in with the new one at once."""
    target = get_user(db, "station_a")
    locked_out = client.application.test_client()
    for _ in range(5):
        assert sign_in(locked_out, "station_a", "forgotten").status_code == 401
    assert sign_in(locked_out, "station_a", "forgotten").status_code == 429
    sign_in(client, "ca_conghua")
    post(client, f"/users/{target.id}/password", {"password": "temporary-2026"}, "/users")
    assert sign_in(locked_out, "station_a", "temporary-2026").status_code == 302


def test_civil_affairs_keep_only_their_region_and_never_administrators(
    client: FlaskClient, db: Session
) -> None:
    sign_in(client, "ca_conghua")
    listed = client.get("/users").text
    assert "station_a" in listed and "station_c" not in listed and ">admin<" not in listed
    ruyuan = get_user(db, "station_c")
    assert post(client, f"/users/{ruyuan.id}/disable", {}, "/users").status_code == 302  # type: ignore[attr-defined]
    db.refresh(ruyuan)
    assert ruyuan.is_active  # refused: not found in 从化
    outside = post(
        client, "/users/new",
        {"username": "ruyuan_x", "display_name": "邓志强", "role": "station_staff",
         "station_id": str(ruyuan.station_id), "password": "handed-over-2026"},
        page="/users/new",
    )  # fmt: skip
    assert outside.status_code == 422 and "不在您所辖" in outside.text  # type: ignore[attr-defined]
    admin_role = post(
        client, "/users/new",
        {"username": "boss", "display_name": "管理员", "role": "admin",
         "password": "handed-over-2026", "region_code": "440117000000"},
        page="/users/new",
    )  # fmt: skip
    assert admin_role.status_code in (403, 422)  # type: ignore[attr-defined]
    assert db.scalar(sa.select(User).where(User.username.in_(["ruyuan_x", "boss"]))) is None


@pytest.mark.parametrize("username", ["station_a", "charity_f"])
@pytest.mark.parametrize("path", ["/users", "/users/new", "/stations", "/organizations", "/audit"])
def test_station_and_charity_staff_have_no_administration(
    client: FlaskClient, username: str, path: str
) -> None:
    sign_in(client, username)
    assert client.get(path).status_code == 403


def test_a_station_is_opened_at_a_real_village_edited_and_closed(
    client: FlaskClient, db: Session
) -> None:
    sign_in(client, "ca_conghua")
    made = post(
        client, "/stations/new",
        {"name": "新田村救助服务点", "kind": "village", "region_code": XINTIAN,
         "contact_name": "黎秀英"},
        page="/stations/new",
    )  # fmt: skip
    assert made.status_code == 302  # type: ignore[attr-defined]
    station = db.scalar(sa.select(Station).where(Station.name == "新田村救助服务点"))
    assert station is not None and station.region_code == XINTIAN
    assert (
        "温泉镇 新田村委会" in client.get("/stations").text
        or "新田村委会" in client.get("/stations").text
    )

    outside = post(
        client, "/stations/new",
        {"name": "乳城镇综合救助服务站", "kind": "township", "region_code": RUYUAN_TOWNSHIP},
        page="/stations/new",
    )  # fmt: skip
    assert outside.status_code == 422 and "不在您所辖" in outside.text  # type: ignore[attr-defined]

    moved = post(
        client, f"/stations/{station.id}/edit",
        {"name": "温泉镇综合救助服务站（二）", "kind": "township", "region_code": WENQUAN},
        page=f"/stations/{station.id}/edit",
    )  # fmt: skip
    assert moved.status_code == 302  # type: ignore[attr-defined]
    db.refresh(station)
    assert station.region_code == WENQUAN and station.name == "温泉镇综合救助服务站（二）"

    closed = post(client, f"/stations/{station.id}/close", {}, page="/stations")
    assert closed.status_code == 302  # type: ignore[attr-defined]
    db.refresh(station)
    assert not station.is_active
    page = client.get("/stations").text
    assert "已关闭" in page and 'data-confirm="关闭' in page


def test_the_registering_office_suspends_a_verified_charity(
    client: FlaskClient, db: Session
) -> None:
    charity = get_user(db, "charity_f").organization
    assert charity is not None and charity.status == OrganizationStatus.VERIFIED
    sign_in(client, "ca_ruyuan")
    refused = post(client, f"/organizations/{charity.id}/suspend", {"reason": "年检未通过"})
    assert refused.status_code == 302  # type: ignore[attr-defined]
    db.refresh(charity)
    assert charity.status == OrganizationStatus.VERIFIED

    office = client.application.test_client()
    sign_in(office, "ca_conghua")
    page = office.get("/organizations").text
    assert charity.name in page and 'data-confirm="暂停' in page
    done = post(office, f"/organizations/{charity.id}/suspend", {"reason": "年检未通过"})
    assert done.status_code == 302  # type: ignore[attr-defined]
    db.refresh(charity)
    assert charity.status == OrganizationStatus.SUSPENDED
    assert "已暂停" in office.get("/organizations").text


def test_the_audit_log_filters_by_person_household_action_and_day_and_records_reading(
    client: FlaskClient, db: Session
) -> None:
    household = db.scalar(
        sa.select(Household).where(Household.station_id == get_user(db, "station_a").station_id)
    )
    assert household is not None
    station_client = client.application.test_client()
    sign_in(station_client, "station_a")
    assert station_client.get(f"/households/{household.id}").status_code == 200

    admin = get_user(db, "admin")
    sign_in(client, "admin")
    page = client.get(
        "/audit", query_string={"person": "station_a", "household": household.id,
                                "action": "household.read", "from_on": "2020-01-01"},
    )  # fmt: skip
    assert page.status_code == 200
    assert "查看困难家庭" in page.text and f"困难家庭 {household.id}" in page.text
    assert "household.read" not in page.text.split('data-testid="audit">')[1]
    nothing = client.get("/audit", query_string={"person": "station_a", "to_on": "2020-01-01"})
    assert "没有符合条件的记录" in nothing.text
    backwards = client.get("/audit", query_string={"from_on": "2026-02-01", "to_on": "2026-01-01"})
    assert backwards.status_code == 422 and "结束日期不能早于开始日期" in backwards.text

    reads = db.scalars(
        sa.select(AuditLog).where(AuditLog.action == "audit.read", AuditLog.actor_id == admin.id)
    ).all()
    assert any((r.detail or {}).get("household_id") == household.id for r in reads)


def test_the_audit_export_holds_the_filtered_entries_safe_from_formulas(
    client: FlaskClient, db: Session
) -> None:
    sign_in(client.application.test_client(), '=HYPERLINK("http://x")', "whatever-2026")
    sign_in(client, "admin")
    export = client.get("/audit/export.xlsx", query_string={"action": "auth.login_failed"})
    assert export.status_code == 200
    assert "attachment" in export.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(export.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("时间", "操作人", "操作", "对象", "所在区划", "来源地址")
    assert any(r[1] == '\'=HYPERLINK("http://x")' and r[2] == "登录失败" for r in rows[1:])
    assert all(r[2] == "登录失败" for r in rows[1:])
    assert db.scalar(sa.select(AuditLog).where(AuditLog.action == "audit.export")) is not None


def test_civil_affairs_read_the_log_of_their_region_only(client: FlaskClient) -> None:
    sign_in(client.application.test_client(), "station_c")  # 乳源
    sign_in(client.application.test_client(), "station_a")  # 从化
    sign_in(client, "ca_conghua")
    page = client.get("/audit", query_string={"action": "auth.login"}).text
    assert "station_a" in page and "station_c" not in page


def test_the_region_picker_offers_the_places_below_and_finds_them_by_name(
    client: FlaskClient,
) -> None:
    assert client.get("/regions/children?parent=" + WENQUAN).status_code == 302  # sign in first
    sign_in(client, "station_a")
    villages = client.get("/regions/children", query_string={"parent": WENQUAN}).json
    assert {"code": XINTIAN, "name": "新田村委会", "level": "village", "level_label": "村（社区）",
            "has_children": False, "path": "广州市 从化区 温泉镇"} in villages  # fmt: skip
    top = client.get("/regions/children").json
    assert [r["name"] for r in top] == ["广东省"] and top[0]["has_children"]
    found = client.get("/regions/search", query_string={"q": "新田", "within": "440117000000"}).json
    assert XINTIAN in [r["code"] for r in found]
    assert all(r["code"].startswith("440117") for r in found)
    assert client.get("/regions/children", query_string={"parent": "12"}).status_code == 422


def test_the_admin_home_count_of_accounts_opens_the_account_list(client: FlaskClient) -> None:
    sign_in(client, "admin")
    home = client.get("/home").text
    assert 'href="/users"' in home and 'data-testid="fig-users"' in home


def test_service_areas_ledger_departments_and_the_dashboard_pick_regions(
    client: FlaskClient,
) -> None:
    sign_in(client, "charity_f")
    project = client.get("/projects/new").text
    assert "data-region-picker" in project and "data-multiple" in project
    assert "服务区域代码" not in project and "顿号" not in project
    office = client.application.test_client()
    sign_in(office, "ca_conghua")
    for path in ("/ledgers", "/dashboard"):
        page = office.get(path).text
        assert 'data-region-picker data-root="440117000000"' in page
        assert 'data-root-label="广东省广州市从化区"' in page
        assert "region-picker.js" in page
