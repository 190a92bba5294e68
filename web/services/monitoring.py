"""Monitoring feeds (政务数据共享): batches of records other departments deliver, checked
whole, kept once, and matched to ledger members by the keyed hash of the ID number."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from models import MonitoringBatch, MonitoringRecord, User
from models.enums import MonitoringSource


@dataclass(frozen=True)
class BatchResult:
    batch: MonitoringBatch
    #: The same batch was delivered before: nothing was added or raised.
    is_repeat: bool
    record_count: int
    matched_count: int
    warnings_raised: int


def deliver_batch(
    db: Session,
    actor: User,
    source: MonitoringSource,
    delivered_on: dt.date,
    records: Sequence[Mapping[str, Any]],
    now: dt.datetime,
) -> BatchResult:
    """Check and keep a batch, all or nothing, then run the warning rules on its people.

    ``records`` are in the API's shape (``id_number``, ``name``, ``region_code``, ``event``,
    ``occurred_on``, ``amount_yuan``, ``facts``, ``detail``).

    :raise ValidationFailed: naming every bad row, its field and the reason; nothing kept.
    :raise Forbidden: the actor may not deliver for this source or region.
    """
    raise NotImplementedError


def read_batch_file(source: MonitoringSource, filename: str, data: bytes) -> list[dict[str, Any]]:
    """The records of an ``.xlsx`` or ``.csv`` file made from the source's template, in the
    API's shape.

    :raise ValidationFailed: the file is unreadable or has bad rows, every one named.
    """
    raise NotImplementedError


def batch_template(source: MonitoringSource) -> bytes:
    """The source's ``.xlsx`` template: Chinese headers, the events it may report, examples."""
    raise NotImplementedError


def household_records(db: Session, actor: User, household_id: int) -> list[MonitoringRecord]:
    """The feed records of a household's members, newest first, for its 救助链 (scoped)."""
    raise NotImplementedError
