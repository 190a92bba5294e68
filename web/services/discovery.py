"""What the pages of active discovery (主动发现) show beside the feed and warning services:
the batches delivered, a refused batch's rows, a household's warnings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Household, MonitoringBatch, MonitoringWarning, User
from models.enums import Role

from .scoping import actor_prefix, require_role

#: Batches listed at most.
RECENT_BATCHES = 20

#: The API's names of a record's fields, as the source templates head their columns.
RECORD_FIELD_LABELS: dict[str, str] = {
    "id_number": "身份证号",
    "name": "姓名",
    "region_code": "所在乡镇（街道）或村（社区）",
    "event": "事件",
    "occurred_on": "发生日期",
    "amount_yuan": "金额（元）",
    "facts": "事件详情",
    "detail": "情况说明",
    "source": "数据来源",
    "delivered_on": "报送日期",
    "records": "数据",
    "file": "文件",
}


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
    field: str
    reason: str


def row_problems(fields: Mapping[str, Any]) -> list[RowProblem]:
    """A refused batch's errors as (row, field, reason) lines, rows in order.

    Accepts the shapes a batch's refusal names its rows in: ``records.3.amount_yuan`` (or
    ``3.amount_yuan``) keys, or ``rows`` mapping a row to its reasons or to its fields'.
    """
    problems: list[RowProblem] = []

    def add(row: Any, field: str, messages: Any) -> None:
        number = int(row) if str(row).isdigit() else None
        label = RECORD_FIELD_LABELS.get(field.split(".")[0], "") if field else ""
        for message in messages if isinstance(messages, list | tuple) else [messages]:
            if isinstance(message, Mapping):
                for inner, texts in message.items():
                    add(row, str(inner), texts)
            else:
                problems.append(RowProblem(number, label, str(message)))

    for key, value in fields.items():
        if key == "rows" and isinstance(value, Mapping):
            for row, detail in value.items():
                if isinstance(detail, Mapping):
                    for field, messages in detail.items():
                        add(row, str(field), messages)
                else:
                    add(row, "", detail)
            continue
        parts = key.split(".")
        if parts[0] == "records":
            parts = parts[1:]
        if parts and parts[0].isdigit():
            add(parts[0], ".".join(parts[1:]), value)
        else:
            add(None, key, value)
    return sorted(problems, key=lambda p: (p.row is None, p.row or 0))


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
