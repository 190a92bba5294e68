"""Accounts, sign-in with throttling, sessions that can be ended, and API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from models import ApiToken, LoginThrottle, Organization, Region, Station, User
from models.enums import MonitoringSource, Role

from .audit import write_audit
from .errors import Conflict, Forbidden, NotFound, Throttled, Unauthorized, ValidationFailed
from .scoping import in_region, may_act, require_role, scoped

_hasher = PasswordHasher()

#: Shortest password accepted.
MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True)
class LoginPolicy:
    """How failed sign-ins for one username from one client address are slowed down: after
    ``max_failures`` in a row the pair waits ``first_delay``; each further failure before a
    success doubles the wait, up to ``max_delay``. A pair quiet for ``forget_after`` starts
    afresh."""

    max_failures: int = 5
    first_delay: dt.timedelta = dt.timedelta(seconds=60)
    max_delay: dt.timedelta = dt.timedelta(minutes=15)
    forget_after: dt.timedelta = dt.timedelta(hours=24)

    def delay(self, lockouts: int) -> dt.timedelta:
        """The wait of the ``lockouts``-th lock (counting from 0)."""
        doubled: dt.timedelta = self.first_delay * (2 ** min(lockouts, 20))
        return min(self.max_delay, doubled)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


#: Checked against when the name has no account, so that a wrong name costs the same work
#: (and time) as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def configure_password_hashing(*, time_cost: int, memory_cost_kib: int) -> None:
    """Use cheaper (or dearer) Argon2 parameters for passwords hashed from now on, and for
    the stand-in hash of unknown names. Tests use it to keep hashing fast but still the
    largest part of a sign-in, as in production; stored hashes keep their own parameters."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost_kib, parallelism=1)
    _DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def _check_password(user: User | None, password: str) -> bool:
    try:
        matches = _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return matches and user is not None


def _validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            fields={"password": [f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符。"]}
        )


def create_user(
    db: Session,
    actor: User | None,
    *,
    username: str,
    password: str,
    display_name: str,
    role: Role,
    region_code: str,
    station_id: int | None = None,
    organization_id: int | None = None,
    feed_source: MonitoringSource | None = None,
) -> User:
    """Create an account bound to a region (and a station or organization where the role needs;
    a department's account, ``Role.DATA_PROVIDER``, to the one source it delivers).

    ``actor`` is None for command-line administration.

    :raise ValidationFailed: bad password, unknown region, missing station/organization.
    :raise Conflict: the username is taken.
    """
    _validate_password(password)
    errors: dict[str, list[str]] = {}
    if db.get(Region, region_code) is None:
        errors["region_code"] = ["行政区划代码不存在。"]
    if role == Role.STATION_STAFF:
        station = db.get(Station, station_id) if station_id else None
        if station is None:
            errors["station_id"] = ["救助服务站工作人员必须指定所属服务站。"]
        else:
            region_code = station.region_code
    if role == Role.CHARITY_STAFF and (
        not organization_id or db.get(Organization, organization_id) is None
    ):
        errors["organization_id"] = ["慈善组织工作人员必须指定所属组织。"]
    if role == Role.DATA_PROVIDER and feed_source is None:
        errors["feed_source"] = ["部门数据报送账号必须指定报送哪个部门的数据。"]
    if errors:
        raise ValidationFailed(fields=errors)
    if db.scalar(sa.select(User.id).where(User.username == username)) is not None:
        raise Conflict("用户名已被使用。", fields={"username": ["用户名已被使用。"]})
    user = User(
        username=username,
        display_name=display_name,
        password_hash=hash_password(password),
        role=role,
        region_code=region_code,
        station_id=station_id if role == Role.STATION_STAFF else None,
        organization_id=organization_id if role == Role.CHARITY_STAFF else None,
        feed_source=feed_source if role == Role.DATA_PROVIDER else None,
    )
    db.add(user)
    db.flush()
    write_audit(db, actor, "user.create", user, detail={"username": username, "role": role.value})
    return user


def _throttle_for(db: Session, username: str, address: str) -> LoginThrottle:
    """The pair's row, made on first use (a concurrent first failure may make it first)."""
    stmt = sa.select(LoginThrottle).where(
        LoginThrottle.username == username, LoginThrottle.address == address
    )
    row = db.scalar(stmt)
    if row is None:
        try:
            with db.begin_nested():
                row = LoginThrottle(username=username, address=address, failures=0, lockouts=0)
                db.add(row)
        except IntegrityError:
            row = db.scalars(stmt).one()
    return row


def _wait_message(seconds: float) -> str:
    if seconds < 90:
        return f"连续登录失败次数过多，已暂时锁定，请 {max(1, int(seconds) + 1)} 秒后再试。"
    return f"连续登录失败次数过多，已暂时锁定，请 {int(seconds // 60) + 1} 分钟后再试。"


def authenticate(
    db: Session,
    username: str,
    password: str,
    now: dt.datetime,
    policy: LoginPolicy,
    address: str | None = None,
) -> User:
    """Check a username and password typed from client ``address``.

    Known and unknown names get the same work (a password hash is checked either way), the
    same answers and the same throttling, which counts failures per (username, address): a
    stranger's failures make only the stranger wait, and the owner signs in from another
    address. Every failure and refusal is audited. The caller must commit even when this
    raises, so the count sticks.

    :raise Throttled: this name was failed too often from this address; wait.
    :raise Unauthorized: wrong name or password, or a disabled account (one message for all).
    """
    username = username[:64]
    throttle = _throttle_for(db, username, (address or "unknown")[:45])
    if now - throttle.updated_at > policy.forget_after:
        throttle.failures, throttle.lockouts = 0, 0
    user = db.scalar(sa.select(User).where(User.username == username))
    # An unknown name is recorded as typed; a known one by its account.
    who: dict[str, Any] = {"region_code": user.region_code} if user else {"actor_name": username}
    if throttle.locked_until is not None and throttle.locked_until > now:
        write_audit(db, user, "auth.login_throttled", user, **who)
        raise Throttled(_wait_message((throttle.locked_until - now).total_seconds()))
    good = _check_password(user, password)
    if user is None or not may_act(user) or not good:
        throttle.updated_at = now
        throttle.failures += 1
        detail: dict[str, Any] = {"failures": throttle.failures}
        if throttle.failures >= policy.max_failures or throttle.lockouts > 0:
            throttle.locked_until = now + policy.delay(throttle.lockouts)
            throttle.lockouts += 1
            throttle.failures = 0
            detail["locked_until"] = throttle.locked_until.isoformat()
        write_audit(db, user, "auth.login_failed", user, detail=detail, **who)
        raise Unauthorized("用户名或密码错误。")
    db.delete(throttle)
    user.last_login_at = now
    write_audit(db, user, "auth.login", user, region_code=user.region_code)
    return user


def session_id_of(user: User) -> str:
    """What the session cookie carries: the id and the session version it was issued under."""
    return f"{user.id}:{user.session_version}"


def load_session_user(db: Session, session_id: str) -> User | None:
    """The user behind a session id, or None when it was ended (sign-out, password, disable)."""
    try:
        user_id, version = (int(part) for part in session_id.split(":", 1))
    except ValueError:
        return None
    user = db.get(User, user_id)
    if user is None or not may_act(user) or user.session_version != version:
        return None
    return user


def sign_out(db: Session, user: User) -> None:
    """End every session and token of the user."""
    user.session_version += 1
    write_audit(db, user, "auth.logout", user, region_code=user.region_code)
    db.flush()


def change_password(db: Session, user: User, current: str, new: str) -> None:
    """Change the user's own password; ends all their other sessions and tokens.

    :raise ValidationFailed: the current password is wrong or the new one too short.
    """
    if not _check_password(user, current):
        raise ValidationFailed(fields={"current_password": ["当前密码不正确。"]})
    _validate_password(new)
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.session_version += 1
    write_audit(db, user, "auth.password_changed", user, region_code=user.region_code)
    db.flush()


def set_user_active(db: Session, actor: User | None, username: str, active: bool) -> User:
    """Disable (ending its sessions) or re-enable an account.

    :raise NotFound: no such user visible to ``actor``.
    """
    stmt = sa.select(User).where(User.username == username)
    user = db.scalar(stmt if actor is None else scoped(stmt, actor))
    if user is None:
        raise NotFound("用户不存在。")
    user.is_active = active
    if not active:
        user.session_version += 1
    write_audit(db, actor, "user.enable" if active else "user.disable", user)
    db.flush()
    return user


def list_users(db: Session, actor: User | None) -> list[User]:
    stmt = sa.select(User).order_by(User.username)
    return list(db.scalars(stmt if actor is None else scoped(stmt, actor)))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    db: Session, user: User, now: dt.datetime, ttl: dt.timedelta
) -> tuple[str, ApiToken]:
    """A new Bearer token for ``user``; the clear token is returned once and never stored.

    :raise Forbidden: the user has yet to replace the password an administrator gave them.
    """
    if user.must_change_password:
        raise Forbidden("请先登录网页修改初始密码，再申请接口令牌。")
    token = secrets.token_urlsafe(32)
    record = ApiToken(
        user_id=user.id,
        token_hash=_digest(token),
        created_at=now,
        expires_at=now + ttl,
        session_version=user.session_version,
    )
    db.add(record)
    write_audit(db, user, "auth.token_issued", user, region_code=user.region_code)
    db.flush()
    return token, record


_with_user = joinedload(ApiToken.user)
#: A token's record with its user and what ``may_act`` reads. Built once: every API request
#: runs it.
_TOKEN_QUERY = (
    sa.select(ApiToken)
    .where(ApiToken.token_hash == sa.bindparam("digest"))
    .options(_with_user.joinedload(User.station), _with_user.joinedload(User.organization))
)


#: How stale a token's ``last_used_at`` may grow before a request stamps it again.
TOKEN_STAMP_EVERY = dt.timedelta(minutes=5)


def load_token_user(db: Session, token: str, now: dt.datetime) -> User | None:
    """The user a Bearer token acts for, or None if unknown, expired, revoked or ended.

    When the token's ``last_used_at`` is older than :data:`TOKEN_STAMP_EVERY`, it is stamped
    and the session committed at once, so the stamp is a transaction of its own: call this
    before the request writes anything (the app loads the user before any view runs; a
    session with changes pending is refused). Stamped in the request's transaction, the
    token's row stayed locked until the request ended, and every other request with the same
    token waited for it: ten seconds behind a request that built the project index. Several
    requests stamping at the same moment update the row once; the others find it fresh.
    """
    record = db.scalar(_TOKEN_QUERY, {"digest": _digest(token)})
    if record is None or record.revoked_at is not None or record.expires_at <= now:
        return None
    user = record.user
    if not may_act(user) or user.session_version != record.session_version:
        return None
    if record.last_used_at is None or now - record.last_used_at > TOKEN_STAMP_EVERY:
        if db.new or db.dirty or db.deleted:
            raise RuntimeError("a token's use is stamped before the request writes anything")
        stale = sa.or_(
            ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - TOKEN_STAMP_EVERY
        )
        stamped = db.execute(
            sa.update(ApiToken).where(ApiToken.id == record.id, stale).values(last_used_at=now),
            execution_options={"synchronize_session": False},
        )
        db.commit()
        if stamped.rowcount:  # type: ignore[attr-defined]
            set_committed_value(record, "last_used_at", now)
        else:  # another request stamped it first
            db.refresh(record, ["last_used_at"])
    return user


def revoke_token(db: Session, token: str, now: dt.datetime) -> None:
    record = db.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if record is not None and record.revoked_at is None:
        record.revoked_at = now
        write_audit(db, record.user, "auth.token_revoked", record.user)
        db.flush()


# --- administration: accounts kept by administrators and civil-affairs offices ---------------


def _within(db: Session, actor: User, code: str) -> bool:
    """Whether region ``code`` is ``actor``'s own or below it."""
    stmt = sa.select(Region.code).where(Region.code == code, in_region(Region.code, actor))
    return db.scalar(stmt) is not None


def get_account(db: Session, actor: User, user_id: int) -> User:
    """An account ``actor`` keeps: any for administrators; for civil-affairs staff the
    non-administrator accounts of their region.

    :raise Forbidden: station and charity staff.
    :raise NotFound: no such account within reach.
    """
    require_role(actor, Role.CIVIL_AFFAIRS)
    stmt = scoped(sa.select(User).where(User.id == user_id), actor)
    if actor.role != Role.ADMIN:
        stmt = stmt.where(User.role != Role.ADMIN)
    user = db.scalar(stmt)
    if user is None:
        raise NotFound("账号不存在或您无权查看。")
    return user


def list_accounts(db: Session, actor: User) -> list[User]:
    """The accounts ``actor`` keeps, by role then username.

    :raise Forbidden: station and charity staff.
    """
    require_role(actor, Role.CIVIL_AFFAIRS)
    stmt = scoped(sa.select(User), actor).order_by(User.role, User.username)
    if actor.role != Role.ADMIN:
        stmt = stmt.where(User.role != Role.ADMIN)
    return list(db.scalars(stmt))


def create_account(
    db: Session,
    actor: User,
    *,
    username: str,
    password: str,
    display_name: str,
    role: Role,
    region_code: str,
    station_id: int | None = None,
    organization_id: int | None = None,
    feed_source: MonitoringSource | None = None,
) -> User:
    """An account made by an administrator, or by civil-affairs staff for their region (a
    station's, a charity's registered there, or an office below theirs). The password is
    handed to its user, who must choose their own at first sign-in.

    :raise Forbidden: station or charity staff; civil-affairs staff creating an administrator.
    :raise ValidationFailed: as :func:`create_user`, or a region, station or organization
        outside the actor's region.
    :raise Conflict: the username is taken.
    """
    require_role(actor, Role.CIVIL_AFFAIRS)
    if actor.role != Role.ADMIN:
        if role == Role.ADMIN:
            raise Forbidden("只有系统管理员可以创建系统管理员账号。")
        outside = "不在您所辖的行政区划内。"
        if role == Role.STATION_STAFF:
            if (
                station_id is not None
                and db.scalar(scoped(sa.select(Station.id).where(Station.id == station_id), actor))
                is None
            ):
                raise ValidationFailed(fields={"station_id": [outside]})
        elif role == Role.CHARITY_STAFF:
            organization = db.get(Organization, organization_id) if organization_id else None
            if organization is not None and not _within(
                db, actor, organization.registered_region_code
            ):
                raise ValidationFailed(fields={"organization_id": [outside]})
        elif not _within(db, actor, region_code):
            raise ValidationFailed(fields={"region_code": [outside]})
    if role == Role.CHARITY_STAFF and organization_id:
        organization = db.get(Organization, organization_id)
        if organization is not None:
            region_code = organization.registered_region_code
    user = create_user(
        db, actor, username=username.strip(), password=password,
        display_name=display_name.strip(), role=role, region_code=region_code,
        station_id=station_id, organization_id=organization_id, feed_source=feed_source,
    )  # fmt: skip
    user.must_change_password = True
    db.flush()
    return user


def reset_password(db: Session, actor: User, user_id: int, new_password: str) -> User:
    """Give an account a password chosen by ``actor``; its user must change it at the next
    sign-in. Ends the account's sessions and tokens and lifts a sign-in lock.

    :raise NotFound: as :func:`get_account`.
    :raise ValidationFailed: the password is too short.
    """
    user = get_account(db, actor, user_id)
    _validate_password(new_password)
    user.password_hash = hash_password(new_password)
    user.must_change_password = True
    user.session_version += 1
    # The owner who was locked out signs in with the new password from anywhere at once.
    db.execute(sa.delete(LoginThrottle).where(LoginThrottle.username == user.username))
    write_audit(db, actor, "user.password_reset", user)
    db.flush()
    return user


def set_account_active(db: Session, actor: User, user_id: int, active: bool) -> User:
    """Disable an account (ending its sessions and tokens at once) or enable it again.

    :raise NotFound: as :func:`get_account`.
    :raise Conflict: disabling one's own account.
    """
    user = get_account(db, actor, user_id)
    if user.id == actor.id and not active:
        raise Conflict("不能停用自己正在使用的账号。")
    return set_user_active(db, actor, user.username, active)
