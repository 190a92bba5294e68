"""In-app notifications (the bell): each party is told of each step that concerns it."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Notification, User, utcnow
from models.enums import Role
from models.regions import covering_ledger_codes

from .errors import NotFound
from .scoping import scoped


def station_users(db: Session, station_id: int) -> list[int]:
    return list(db.scalars(sa.select(User.id).where(User.station_id == station_id, User.is_active)))


def organization_users(db: Session, organization_id: int) -> list[int]:
    return list(
        db.scalars(
            sa.select(User.id).where(User.organization_id == organization_id, User.is_active)
        )
    )


def office_users(db: Session, region_code: str) -> list[int]:
    """The civil-affairs staff of the nearest office covering ``region_code``: the county's,
    or the city's where the county has no one on the system, or else the province's."""
    offices = covering_ledger_codes(region_code)
    rows = db.execute(
        sa.select(User.id, User.region_code).where(
            User.role == Role.CIVIL_AFFAIRS, User.is_active, User.region_code.in_(offices)
        )
    ).all()
    for office in reversed(offices):
        found = [user_id for user_id, code in rows if code == office]
        if found:
            return found
    return []


def notify(
    db: Session,
    user_ids: Iterable[int],
    kind: str,
    message: str,
    *,
    referral_id: int | None = None,
    link: str | None = None,
) -> int:
    """Put one notification in each user's inbox; returns how many were written."""
    ids = sorted(set(user_ids))
    db.add_all(
        Notification(
            user_id=user_id, kind=kind, message=message[:255], referral_id=referral_id, link=link
        )
        for user_id in ids
    )
    return len(ids)


def unread_count(db: Session, user: User) -> int:
    return (
        db.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        )
        or 0
    )


def list_notifications(
    db: Session, user: User, *, unread_only: bool = False, limit: int = 100
) -> list[Notification]:
    stmt = sa.select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return list(db.scalars(stmt.order_by(Notification.id.desc()).limit(limit)))


def mark_read(db: Session, user: User, ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications read (the given ones, or all); returns how many."""
    stmt = sa.update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )
    if ids is not None:
        stmt = stmt.where(Notification.id.in_(list(ids)))
    result = db.execute(stmt.values(read_at=utcnow()).execution_options(synchronize_session=False))
    return result.rowcount or 0  # type: ignore[attr-defined]  # an UPDATE gives a CursorResult


def open_notification(db: Session, user: User, notification_id: int) -> str | None:
    """Mark one of the user's own notifications read; returns where it points when that is a
    page of this site (a link elsewhere is not followed).

    :raise NotFound: no such notification, or someone else's (an administrator's view of every
        inbox does not make another's notification theirs to open).
    """
    note = db.scalar(
        scoped(sa.select(Notification), user).where(
            Notification.id == notification_id, Notification.user_id == user.id
        )
    )
    if note is None:
        raise NotFound()
    mark_read(db, user, [note.id])
    link = note.link
    return link if link and link.startswith("/") and not link.startswith("//") else None
