"""Figures kept between visits."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class StatsSnapshot(Base):
    """The dashboard overview of a large region (the province, a city) as last counted by
    the scheduler: read on a visit instead of counting every household and referral of the
    region again (``web.services.stats_snapshots``)."""

    __tablename__ = "stats_snapshots"

    region_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), primary_key=True)
    figures: Mapped[dict[str, Any]] = mapped_column()
    counted_at: Mapped[dt.datetime] = mapped_column()
    #: How long counting took, in seconds.
    seconds: Mapped[float] = mapped_column(sa.Float)
