"""Signing in gives nothing away: a wrong password costs the same time and gets the same
answer whether or not the name has an account, and a stranger's failures make only the
stranger wait, by the API and the sign-in page alike."""

from __future__ import annotations

import statistics
import time

from flask.testing import FlaskClient

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
