"""Sign-in throttling, ended sessions and tokens."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import ApiToken, AuditLog, LoginThrottle
from models.base import utcnow
from tests.helpers import DEMO_PASSWORD, get_user
from web.services.errors import Throttled, Unauthorized, ValidationFailed
from web.services.users import (
    LoginPolicy,
    authenticate,
    change_password,
    issue_token,
    load_session_user,
    load_token_user,
    set_user_active,
    sign_out,
)

POLICY = LoginPolicy()


def audit_actions(db: Session, username: str) -> list[str]:
    return list(
        db.scalars(
            sa.select(AuditLog.action).where(AuditLog.actor_name == username).order_by(AuditLog.id)
        )
    )


STRANGER, OWNER = "203.0.113.7", "198.51.100.20"


def test_five_wrong_passwords_make_that_address_wait_even_with_the_right_one(
    db: Session,
) -> None:
    now = utcnow()
    for _ in range(5):
        with pytest.raises(Unauthorized):
            authenticate(db, "station_a", "wrong-password", now, POLICY, STRANGER)
    with pytest.raises(Throttled, match="锁定"):
        authenticate(db, "station_a", DEMO_PASSWORD, now + dt.timedelta(seconds=30), POLICY,
                     STRANGER)  # fmt: skip
    assert audit_actions(db, "station_a")[-6:] == ["auth.login_failed"] * 5 + [
        "auth.login_throttled"
    ]
    # After the first wait the right password works again and clears the count.
    user = authenticate(db, "station_a", DEMO_PASSWORD, now + dt.timedelta(seconds=61), POLICY,
                        STRANGER)  # fmt: skip
    assert user.username == "station_a"
    assert db.scalar(sa.select(LoginThrottle).where(LoginThrottle.address == STRANGER)) is None


def test_each_further_failure_doubles_the_wait_up_to_fifteen_minutes(db: Session) -> None:
    now = utcnow()
    for _ in range(5):
        with pytest.raises(Unauthorized):
            authenticate(db, "admin", "wrong-password", now, POLICY, STRANGER)
    waits = []
    for _ in range(6):
        throttle = db.scalars(
            sa.select(LoginThrottle).where(LoginThrottle.username == "admin")
        ).one()
        assert throttle.locked_until is not None
        waits.append(round((throttle.locked_until - now).total_seconds()))
        now = throttle.locked_until
        with pytest.raises(Unauthorized):
            authenticate(db, "admin", "wrong-password", now, POLICY, STRANGER)
    assert waits == [60, 120, 240, 480, 900, 900]


def test_a_strangers_failures_do_not_stop_the_owner_elsewhere(db: Session) -> None:
    now = utcnow()
    for _ in range(20):
        with pytest.raises((Unauthorized, Throttled)):
            authenticate(db, "admin", "guess", now, POLICY, STRANGER)
    assert authenticate(db, "admin", DEMO_PASSWORD, now, POLICY, OWNER).username == "admin"
    with pytest.raises(Throttled):
        authenticate(db, "admin", DEMO_PASSWORD, now, POLICY, STRANGER)


def test_an_unknown_name_is_throttled_exactly_like_a_known_one(db: Session) -> None:
    now = utcnow()
    answers = {}
    for name in ("station_b", "nobody-here"):
        seen = []
        for _ in range(6):
            try:
                authenticate(db, name, "wrong-password", now, POLICY, STRANGER)
            except (Unauthorized, Throttled) as error:
                seen.append((error.status, error.message))
        answers[name] = seen
    assert answers["station_b"] == answers["nobody-here"]


def test_unknown_user_gets_the_same_answer_and_is_audited(db: Session) -> None:
    with pytest.raises(Unauthorized, match="用户名或密码错误"):
        authenticate(db, "nobody", "whatever-password", utcnow(), POLICY)
    assert audit_actions(db, "nobody") == ["auth.login_failed"]


def test_sign_out_ends_the_session_and_tokens(db: Session) -> None:
    user = get_user(db, "station_a")
    session_id = user.get_id()
    token, _ = issue_token(db, user, utcnow(), dt.timedelta(hours=1))
    assert load_session_user(db, session_id) is user
    assert load_token_user(db, token, utcnow()) is user
    sign_out(db, user)
    assert load_session_user(db, session_id) is None
    assert load_token_user(db, token, utcnow()) is None


def test_tokens_expire_and_are_stored_hashed(db: Session) -> None:
    user = get_user(db, "station_b")
    now = utcnow()
    token, record = issue_token(db, user, now, dt.timedelta(hours=1))
    stored = db.scalars(sa.select(ApiToken.token_hash).where(ApiToken.id == record.id)).one()
    assert token not in stored
    assert load_token_user(db, token, now + dt.timedelta(minutes=59)) is user
    assert load_token_user(db, token, now + dt.timedelta(minutes=61)) is None


def test_password_change_and_disabling_end_sessions(db: Session) -> None:
    user = get_user(db, "station_c")
    session_id = user.get_id()
    with pytest.raises(ValidationFailed):
        change_password(db, user, "not-the-password", "a-new-password")
    change_password(db, user, DEMO_PASSWORD, "a-new-password")
    assert load_session_user(db, session_id) is None
    session_id = user.get_id()
    set_user_active(db, None, "station_c", False)
    assert load_session_user(db, session_id) is None
    with pytest.raises(Unauthorized):
        authenticate(db, "station_c", "a-new-password", utcnow(), POLICY)
