"""The one way to write the audit log.

The web layer sets where a request comes from (:func:`set_origin`) once per request, so
services can record it without reading the request themselves.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from models import AuditLog, User

_origin_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("origin_ip", default=None)


def set_origin(ip: str | None) -> contextvars.Token[str | None]:
    return _origin_ip.set(ip)


def record_refusal(db: Session, actor: User, method: str, path: str, status: int) -> AuditLog:
    """A refused attempt (403 or 404) on personal data: who, from where, at what."""
    return write_audit(
        db, actor, "access.refused", region_code=actor.region_code,
        detail={"method": method, "path": path, "status": status},
    )  # fmt: skip


def looked_at(households: Iterable[Any], *, members: bool = True) -> dict[str, list[int]]:
    """Whom a look showed, for a read record's detail: the households' ids, and their
    members' ids where members were shown."""
    shown = list(households)
    whom = {"households": sorted({h.id for h in shown})}
    if members:
        whom["members"] = sorted({m.id for h in shown for m in h.members})
    return whom


def write_audit(
    db: Session,
    actor: User | None,
    action: str,
    obj: Any = None,
    *,
    actor_name: str | None = None,
    region_code: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditLog:
    """Record that ``actor`` did ``action`` (e.g. ``household.read``) to ``obj``.

    ``region_code`` defaults to the object's own region, so civil-affairs staff can read the
    log of their region. Flushes; the caller's transaction commits it.
    """
    entry = AuditLog(
        actor_id=actor.id if actor is not None else None,
        actor_name=actor_name or (actor.username if actor is not None else None),
        action=action,
        object_type=type(obj).__name__ if obj is not None else None,
        object_id=str(obj.id) if obj is not None and getattr(obj, "id", None) is not None else None,
        region_code=region_code or getattr(obj, "region_code", None),
        ip=_origin_ip.get(),
        detail=detail,
    )
    db.add(entry)
    db.flush()
    return entry
