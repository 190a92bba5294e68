"""The audit log: who did what to which record, and from where."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    #: Kept as typed, so failed sign-ins with unknown names are on record too.
    actor_name: Mapped[str | None] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(sa.String(32))
    object_id: Mapped[str | None] = mapped_column(sa.String(64))
    region_code: Mapped[str | None] = mapped_column(sa.String(12))
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    detail: Mapped[dict[str, Any] | None] = mapped_column()

    __table_args__ = (sa.Index("ix_audit_log_object", "object_type", "object_id"),)
