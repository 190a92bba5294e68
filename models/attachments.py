"""Attachments: receipts, photos and signed confirmations kept with a referral's service
episodes, its completion and its follow-up. The bytes live outside the database, in a
content-addressed store (``web.services.storage``); a row says whose they are and what."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, enum_column, utcnow
from .enums import AttachmentKind
from .referrals import Referral


class Attachment(Base):
    """One file attached to a referral: to one of its service episodes, to its completion or
    to its follow-up (回访). ``sha256`` is the hash of the stored bytes (images re-encoded
    without their metadata), ``storage_key`` where the store keeps them."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(
        sa.ForeignKey("referrals.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[AttachmentKind] = mapped_column(enum_column(AttachmentKind))
    episode_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("service_episodes.id", ondelete="CASCADE"), default=None
    )
    follow_up_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("follow_ups.id", ondelete="CASCADE"), default=None
    )
    #: The name it was uploaded under, without any folder, its extension the real type's.
    filename: Mapped[str] = mapped_column(sa.String(128))
    media_type: Mapped[str] = mapped_column(sa.String(64))
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    storage_key: Mapped[str] = mapped_column(sa.String(255))
    caption: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), default=None)
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    referral: Mapped[Referral] = relationship()

    __table_args__ = (
        sa.CheckConstraint("size_bytes > 0", name="size_positive"),
        sa.CheckConstraint(
            "(kind = 'episode') = (episode_id IS NOT NULL)", name="episode_iff_episode_kind"
        ),
        sa.CheckConstraint(
            "(kind = 'follow_up') = (follow_up_id IS NOT NULL)",
            name="follow_up_iff_follow_up_kind",
        ),
    )
