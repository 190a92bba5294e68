"""What the pages of active discovery (主动发现) show beside the feed and warning services:
the batches delivered, a refused batch's rows, a household's warnings."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Household, MonitoringBatch, MonitoringWarning, User
from models.enums import Role
from web.schemas.monitoring import FIELD_LABELS

from .scoping import actor_prefix, require_role

#: Batches listed at most.
RECENT_BATCHES = 20


def list_batches(db: Session, actor: User, limit: int = RECENT_BATCHES) -> list[MonitoringBatch]:
    """The latest batches delivered in the actor's reach, newest first: a department account
    sees its own deliveries, civil-affairs staff those of their region.

    :raise Forbidden: a role that neither delivers nor oversees deliveries.
    """
    require_role(actor, Role.DATA_PROVIDER, Role.CIVIL_AFFAIRS)
    stmt = sa.select(MonitoringBatch).order_by(
        MonitoringBatch.created_at.desc(), MonitoringBatch.id.desc()
    )
    if actor.role == Role.DATA_PROVIDER:
        stmt = stmt.where(MonitoringBatch.delivered_by_id == actor.id)
    elif actor.role == Role.CIVIL_AFFAIRS:
        stmt = stmt.where(MonitoringBatch.region_code.startswith(actor_prefix(actor)))
    return list(db.scalars(stmt.limit(limit)))


@dataclass(frozen=True)
class RowProblem:
    row: int | None
    #: The field as the template heads its column (empty when the reason names none).
    field: str
    reason: str


#: A reason that names its field first, in quotes (“身份证号”校验位不正确).
_NAMED = re.compile(r"^“([^”]+)”(.+)$", re.S)


def row_problems(fields: Mapping[str, Any]) -> list[RowProblem]:
    """A refused batch's errors as (row, field, reason) lines, rows in order: the rows it
    names (``fields["rows"]``: row number → reasons), then what concerns the whole file."""
    problems: list[RowProblem] = []
    for row, reasons in (fields.get("rows") or {}).items():
        for reason in reasons:
            named = _NAMED.match(str(reason))
            problems.append(RowProblem(
                int(row), FIELD_LABELS.get(named[1], named[1]) if named else "",
                named[2] if named else str(reason),
            ))  # fmt: skip
    problems.sort(key=lambda p: p.row or 0)
    for key, reasons in fields.items():
        if key != "rows" and isinstance(reasons, list):
            problems += [RowProblem(None, FIELD_LABELS.get(key, ""), str(r)) for r in reasons]
    return problems


def household_warnings(db: Session, actor: User, household: Household) -> list[MonitoringWarning]:
    """The warnings raised for a household, newest first, for its 救助链. The caller has
    already read the household within scope.

    :raise Forbidden: a role that keeps no households.
    """
    require_role(actor, Role.STATION_STAFF, Role.CIVIL_AFFAIRS)
    stmt = (
        sa.select(MonitoringWarning)
        .where(MonitoringWarning.household_id == household.id)
        .order_by(MonitoringWarning.raised_at.desc(), MonitoringWarning.id.desc())
    )
    return list(db.scalars(stmt))
