"""Pages: Chinese sign-in, per-role home pages, scoped households, sessions that end."""

from __future__ import annotations

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from models import Household
from tests.helpers import csrf_token, get_user, sign_in


def household_of(db: Session, username: str) -> int:
    station_id = get_user(db, username).station_id
    return db.scalar(sa.select(Household.id).where(Household.station_id == station_id).limit(1))


def test_sign_in_page_is_chinese_with_security_headers(client: FlaskClient) -> None:
    response = client.get("/login")
    assert response.status_code == 200
    assert "登录" in response.text and "用户名" in response.text
    assert 'lang="zh-CN"' in response.text
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_header_needs_no_emoji_font(client: FlaskClient) -> None:
    # Office computers on closed networks often lack an emoji font: such a character is a box.
    sign_in(client, "station_a")
    page = client.get("/", follow_redirects=True)
    assert page.status_code == 200
    emoji = [c for c in page.text if 0x1F000 <= ord(c) <= 0x1FAFF or 0x2600 <= ord(c) <= 0x27BF]
    assert emoji == []
    assert 'data-testid="bell"' in page.text and "<svg" in page.text


def test_pages_need_sign_in(client: FlaskClient) -> None:
    response = client.get("/households")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_session_cookie_is_httponly_and_samesite(client: FlaskClient) -> None:
    response = sign_in(client, "station_a")
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_each_role_gets_its_home_page(client: FlaskClient) -> None:
    expectations = {
        "station_a": "温泉镇综合救助服务站",
        "ca_conghua": "从化区 · 民政部门工作台",
        "admin": "系统管理",
    }
    for username, title in expectations.items():
        fresh = client.application.test_client()
        sign_in(fresh, username)
        page = fresh.get("/home")
        assert page.status_code == 200
        assert title in page.text, username


def test_charity_home_names_its_organization(client: FlaskClient, db: Session) -> None:
    sign_in(client, "charity_a")
    organization = get_user(db, "charity_a").organization
    page = client.get("/home")
    assert organization is not None and organization.name in page.text
    assert client.get("/households").status_code == 403


def test_another_stations_household_page_is_404(client: FlaskClient, db: Session) -> None:
    sign_in(client, "station_b")
    assert client.get(f"/households/{household_of(db, 'station_b')}").status_code == 200
    response = client.get(f"/households/{household_of(db, 'station_a')}")
    assert response.status_code == 404
    assert "页面不存在" in response.text or "不存在" in response.text
    assert "Traceback" not in response.text


def test_household_page_masks_id_numbers(client: FlaskClient, db: Session) -> None:
    sign_in(client, "station_a")
    page = client.get(f"/households/{household_of(db, 'station_a')}")
    assert "************" in page.text
    household = db.get(Household, household_of(db, "station_a"))
    assert household is not None
    assert household.phone_masked in page.text


def test_the_session_ends_at_sign_out_even_if_the_cookie_is_replayed(
    client: FlaskClient,
) -> None:
    sign_in(client, "station_a")
    assert client.get("/home").status_code == 200
    saved = client.get_cookie("session")
    assert saved is not None
    token = csrf_token(client, "/home")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    client.set_cookie("session", saved.value)
    assert client.get("/home").status_code == 302  # back to the sign-in page


def test_wrong_password_keeps_the_username_and_says_why(client: FlaskClient) -> None:
    response = sign_in(client, "station_a", "wrong-password")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert 'value="station_a"' in response.text


def test_forms_without_csrf_token_are_refused(client: FlaskClient) -> None:
    response = client.post("/login", data={"username": "station_a", "password": "x" * 10})
    assert response.status_code == 400
    assert "页面已过期" in response.text


def test_password_change_ends_other_sessions(client: FlaskClient) -> None:
    other = client.application.test_client()
    sign_in(client, "station_c")
    sign_in(other, "station_c")
    token = csrf_token(client, "/account/password")
    response = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": "cishan-demo-2026",
            "new_password": "another-password",
            "confirm": "another-password",
        },
    )
    assert response.status_code == 302
    assert client.get("/home").status_code == 200
    assert other.get("/home").status_code == 302


def test_english_is_available(client: FlaskClient) -> None:
    token = csrf_token(client, "/login")
    client.post("/language", data={"csrf_token": token, "lang": "en", "next": "/login"})
    page = client.get("/login")
    assert "Sign in" in page.text
    assert 'lang="en"' in page.text


def test_the_language_switch_offers_only_the_language_not_in_use(client: FlaskClient) -> None:
    chinese = client.get("/login").text
    assert 'value="en"' in chinese and 'value="zh_CN"' not in chinese
    token = csrf_token(client, "/login")
    client.post("/language", data={"csrf_token": token, "lang": "en", "next": "/login"})
    english = client.get("/login").text
    assert 'value="zh_CN"' in english and 'value="en"' not in english


def test_unknown_page_is_a_chinese_404(client: FlaskClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "页面不存在" in response.text


def test_an_english_browser_still_gets_chinese_until_english_is_chosen(
    client: FlaskClient,
) -> None:
    page = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "用户名" in page.text and 'lang="zh-CN"' in page.text
