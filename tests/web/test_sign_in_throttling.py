"""Signing in gives nothing away: a wrong password costs the same time and gets the same
answer whether or not the name has an account, and a stranger's failures make only the
stranger wait, by the API and the sign-in page alike."""

from __future__ import annotations

import statistics
import time

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from models import AuditLog
from tests.helpers import DEMO_PASSWORD, csrf_token

STRANGER = {"REMOTE_ADDR": "203.0.113.7"}
OWNER = {"REMOTE_ADDR": "198.51.100.20"}


def test_a_wrong_password_takes_as_long_for_a_real_account_as_for_an_unknown_name(
    client: FlaskClient,
) -> None:
    timings: dict[str, list[float]] = {"station_a": [], "no_such_user": []}
    answers: dict[str, set[tuple[int, str]]] = {name: set() for name in timings}
    for attempt in range(50):
        for name in timings:  # interleaved, so load on the machine hits both alike
            # A fresh address each time: every try takes the whole path, none is throttled.
            address = {"REMOTE_ADDR": f"10.1.{attempt}.{len(name)}"}
            started = time.perf_counter()
            response = client.post(
                "/api/v1/auth/token", json={"username": name, "password": "wrong-password"},
                environ_base=address,
            )  # fmt: skip
            timings[name].append(time.perf_counter() - started)
            answers[name].add((response.status_code, response.get_data(as_text=True)))
    assert (
        answers["station_a"]
        == answers["no_such_user"]
        == {(401, answers["station_a"].copy().pop()[1])}
    )
    known, unknown = (statistics.median(t) for t in timings.values())
    assert abs(known - unknown) <= 0.2 * max(known, unknown), (known, unknown)


def test_a_strangers_five_failures_do_not_stop_the_owner_using_the_api(
    client: FlaskClient,
) -> None:
    def token(password: str, where: dict[str, str]) -> int:
        return client.post(
            "/api/v1/auth/token", json={"username": "admin", "password": password},
            environ_base=where,
        ).status_code  # fmt: skip

    assert [token("guess", STRANGER) for _ in range(5)] == [401] * 5
    assert token(DEMO_PASSWORD, STRANGER) == 429
    assert token(DEMO_PASSWORD, OWNER) == 201


def test_a_strangers_five_failures_do_not_stop_the_owner_on_the_sign_in_page(
    client: FlaskClient,
) -> None:
    def sign_in(password: str, where: dict[str, str]) -> int:
        token = csrf_token(client, "/login")
        return client.post(
            "/login", data={"username": "ca_conghua", "password": password, "csrf_token": token},
            environ_base=where,
        ).status_code  # fmt: skip

    assert [sign_in("guess", STRANGER) for _ in range(5)] == [401] * 5
    assert sign_in(DEMO_PASSWORD, STRANGER) == 429
    assert sign_in(DEMO_PASSWORD, OWNER) == 302


def proxied_app(app: Flask, proxies: int) -> Flask:
    """The test app's settings, as started behind ``proxies`` reverse proxies."""
    from web import create_app

    return create_app({**app.config, "PROXY_COUNT": proxies})


def test_behind_a_proxy_each_client_is_counted_by_its_own_address(app: Flask, db: Session) -> None:
    """nginx passes the client's address on in X-Forwarded-For; read, a stranger's failures
    stop only the stranger, and the audit records where each attempt came from."""
    proxy = {"REMOTE_ADDR": "127.0.0.1"}
    client = proxied_app(app, proxies=1).test_client()

    def token(password: str, client_address: str) -> int:
        return client.post(
            "/api/v1/auth/token", json={"username": "admin", "password": password},
            environ_base=proxy, headers={"X-Forwarded-For": client_address},
        ).status_code  # fmt: skip

    assert [token("guess", "203.0.113.7") for _ in range(5)] == [401] * 5
    assert token(DEMO_PASSWORD, "203.0.113.7") == 429
    assert token(DEMO_PASSWORD, "198.51.100.20") == 201
    origins = db.scalars(
        sa.select(AuditLog.ip).where(AuditLog.action.like("auth.%")).order_by(AuditLog.id)
    ).all()
    assert origins[-1] == "198.51.100.20" and "203.0.113.7" in origins
    assert "127.0.0.1" not in origins


def test_without_proxies_set_a_forwarded_address_is_not_believed(app: Flask) -> None:
    """Any client can send the header: unless the app is told a proxy adds it, the address
    is the connection's, so a stranger cannot dodge the count by inventing addresses."""
    client = proxied_app(app, proxies=0).test_client()
    stranger = {"REMOTE_ADDR": "203.0.113.7"}
    answers = [
        client.post(
            "/api/v1/auth/token", json={"username": "admin", "password": "guess"},
            environ_base=stranger, headers={"X-Forwarded-For": f"10.9.0.{n}"},
        ).status_code
        for n in range(6)
    ]  # fmt: skip
    assert answers == [401] * 5 + [429]
