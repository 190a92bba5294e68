"""Users, their role and region scope, and API tokens."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, TimestampMixin, enum_column, utcnow
from .enums import MonitoringSource, Role
from .households import Station
from .projects import Organization


class User(TimestampMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(64))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    #: The region the user acts for; civil-affairs users see it and everything below it.
    region_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"))
    station_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stations.id"), default=None)
    organization_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organizations.id"), default=None
    )
    #: A department account (部门数据报送) delivers only this source's monitoring batches.
    feed_source: Mapped[MonitoringSource | None] = mapped_column(
        enum_column(MonitoringSource), default=None
    )
    is_active: Mapped[bool] = mapped_column(default=True)
    #: Set when an administrator chose the password (new account, reset): the user must pick
    #: their own before anything else.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    #: Bumped at sign-out, password change and disabling; sessions carrying an older one end.
    session_version: Mapped[int] = mapped_column(default=1)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    locale: Mapped[str | None] = mapped_column(sa.String(8), default=None)

    station: Mapped[Station | None] = relationship()
    organization: Mapped[Organization | None] = relationship(foreign_keys=[organization_id])

    __table_args__ = (
        sa.CheckConstraint(
            "role <> 'station_staff' OR station_id IS NOT NULL", name="station_staff_has_station"
        ),
        sa.CheckConstraint(
            "role <> 'charity_staff' OR organization_id IS NOT NULL",
            name="charity_staff_has_organization",
        ),
    )

    # The user protocol Flask-Login expects, kept here as plain attributes (no Flask import).
    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        """The session id: the user id and the session version it was issued under.

        Raising ``session_version`` (sign-out, password change, disabling) ends every session.
        """
        return f"{self.id}:{self.session_version}"

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role.value}>"


class ApiToken(Base):
    """A Bearer token; only its SHA-256 digest is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column()
    expires_at: Mapped[dt.datetime] = mapped_column()
    last_used_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    #: The user's session version when issued: sign-out everywhere also ends tokens.
    session_version: Mapped[int] = mapped_column(default=1)

    user: Mapped[User] = relationship()


class LoginThrottle(Base):
    """Failed sign-ins for one typed username from one client address, and the wait they
    earned. Keyed by both, so a stranger's failures never lock the owner out elsewhere, and
    kept for names with no account too, so the answer does not tell which exist."""

    __tablename__ = "login_throttles"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64))
    address: Mapped[str] = mapped_column(sa.String(45))
    #: Failures since the last success or lock.
    failures: Mapped[int] = mapped_column(default=0)
    #: Locks so far without a success in between: each doubles the next wait.
    lockouts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(default=None)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (sa.UniqueConstraint("username", "address"),)
