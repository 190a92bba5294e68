"""Monitoring feeds (政务数据共享): batches of records other departments deliver, checked
whole, kept once, and matched to ledger members by the keyed hash of the ID number.

A batch is all or nothing: every record is checked with one schema
(:class:`web.schemas.monitoring.MonitoringRecordSchema`) and the region against the
delivering account's, and any bad row refuses the batch, every bad row named. A batch's digest
(SHA-256 over the source and its records in a canonical form) recognises the same batch
delivered again, which then changes nothing. ID numbers are kept encrypted, as the keyed hash
members are found by, and masked; the ledger is never decrypted to match.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from marshmallow import ValidationError
from more_itertools import chunked
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Household, Member, MonitoringBatch, MonitoringRecord, Region, User, clock
from models.enums import (
    HouseholdStatus,
    MonitoringEvent,
    MonitoringSource,
    RegionLevel,
    Role,
)
from models.regions import descendant_range
from web.schemas.monitoring import record_schema

from . import warnings as warning_rules
from .audit import write_audit
from .crypto import cipher_of, mask_id_number
from .errors import Forbidden, NotFound, ValidationFailed
from .id_numbers import normalize_id_number
from .monitoring_files import (
    MAX_BATCH_RECORDS,
    RowProblems,
    read_file_batch,
    row_refusal,
    write_template,
)
from .scoping import may_act, scoped

#: ID hashes looked up per ``IN`` query: well below SQLite's limit on bound parameters.
LOOKUP_CHUNK = 1_000
#: Records inserted per statement.
INSERT_CHUNK = 10_000


@dataclass(frozen=True)
class BatchResult:
    batch: MonitoringBatch
    #: The same batch was delivered before: nothing was added or raised.
    is_repeat: bool
    record_count: int
    matched_count: int
    warnings_raised: int


def check_may_deliver(actor: User, source: MonitoringSource) -> None:
    """A department's account delivers its own source; civil-affairs staff (and admins) any.

    :raise Forbidden: anyone else, or a department account delivering another source.
    """
    if not may_act(actor):
        raise Forbidden()
    if actor.role == Role.DATA_PROVIDER:
        if actor.feed_source != source:
            own = actor.feed_source.label if actor.feed_source else "（未指定）"
            raise Forbidden(f"本账号只能报送{own}的数据，不能报送{source.label}的数据。")
        return
    if actor.role not in (Role.CIVIL_AFFAIRS, Role.ADMIN):
        raise Forbidden("只有部门数据报送账号和民政部门可以报送监测数据。")


def deliver_batch(
    db: Session,
    actor: User,
    source: MonitoringSource,
    delivered_on: dt.date,
    records: Sequence[Mapping[str, Any]],
    now: dt.datetime,
    *,
    row_numbers: Sequence[int] | None = None,
    row_problems: RowProblems | None = None,
) -> BatchResult:
    """Check and keep a batch, all or nothing, then run the warning rules on its people.

    ``records`` are in the API's shape (``id_number``, ``name``, ``region_code``, ``event``,
    ``occurred_on``, ``amount_yuan``, ``facts``, ``detail``). ``row_numbers`` name them in
    errors (a file's row numbers; by default 1, 2, … in order) and ``row_problems`` are
    problems already found reading them (a file's cells), reported with the others.

    :raise ValidationFailed: naming every bad row, its field and the reason
        (``fields["rows"]``: row number → reasons, each naming its field); nothing kept.
    :raise Forbidden: the actor may not deliver for this source or region.
    """
    check_may_deliver(actor, source)
    today = clock.local_date(now)
    if not records and not row_problems:
        raise ValidationFailed(fields={"records": ["批次中没有记录。"]})
    if len(records) > MAX_BATCH_RECORDS:
        raise ValidationFailed(
            fields={"records": [f"一个批次最多 {MAX_BATCH_RECORDS:,} 条记录，请分批报送。"]}
        )
    numbers = list(row_numbers) if row_numbers is not None else list(range(1, len(records) + 1))
    loaded, problems = _check_records(db, actor, source, today, records, numbers)
    for number, found in (row_problems or {}).items():
        # A cell the file could not read is reported as such, not again as missing.
        merged = problems.setdefault(number, {})
        for field in found:
            merged.pop(field, None)
        merged.update(found)
    if problems:
        raise row_refusal(problems)

    prepared = _prepare(loaded)
    digest = _digest(source, prepared)
    earlier = db.scalar(sa.select(MonitoringBatch).where(MonitoringBatch.digest == digest))
    if earlier is not None:
        return _repeat(db, actor, earlier)
    protected = _protect(db, {p.id_number for p in prepared})
    hashes = {id_hash for id_hash, _encrypted in protected.values()}
    matches = _match_members(db, hashes)
    matched = sum(1 for p in prepared if protected[p.id_number][0] in matches)
    batch = MonitoringBatch(
        source=source, delivered_on=delivered_on, digest=digest, record_count=len(prepared),
        matched_count=matched, delivered_by_id=actor.id, region_code=actor.region_code,
        created_at=now,
    )  # fmt: skip
    try:
        with db.begin_nested():
            db.add(batch)
            db.flush()
    except IntegrityError:
        # The same batch, delivered at the same moment by another request, won.
        earlier = db.scalar(sa.select(MonitoringBatch).where(MonitoringBatch.digest == digest))
        if earlier is None:
            raise
        return _repeat(db, actor, earlier)
    rows = (
        p.row(batch.id, source, number, protected[p.id_number], matches)
        for number, p in zip(numbers, prepared, strict=True)
    )
    _insert_records(db, rows)
    raised = warning_rules.raise_warnings(db, today, now, hashes=hashes)
    batch.warnings_raised = raised
    write_audit(
        db, actor, "monitoring.deliver", batch, region_code=actor.region_code,
        detail={"source": source.value, "records": len(prepared), "matched": matched,
                "warnings": raised, "is_repeat": False},
    )  # fmt: skip
    db.flush()
    return BatchResult(batch, False, len(prepared), matched, raised)


#: The columns of ``monitoring_records`` a delivery writes, in the order ``COPY`` sends them.
_RECORD_COLUMNS = (
    "batch_id", "row_number", "source", "event", "id_number_hash", "id_number_encrypted",
    "id_number_masked", "name", "region_code", "occurred_on", "amount_fen", "facts", "detail",
    "member_id", "household_id",
)  # fmt: skip


def _insert_records(db: Session, rows: Iterable[dict[str, Any]]) -> None:
    """Insert the batch's records in bulk: by ``COPY`` on PostgreSQL (about four times
    faster than a multi-row ``INSERT`` for 200,000 records), else by chunked inserts."""
    connection = db.connection()
    if connection.dialect.name != "postgresql":
        for chunk in chunked(rows, INSERT_CHUNK):
            db.execute(sa.insert(MonitoringRecord), chunk)
        return
    table = MonitoringRecord.__tablename__
    statement = f"COPY {table} ({', '.join(_RECORD_COLUMNS)}) FROM STDIN"
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([_copy_value(column, row[column]) for column in _RECORD_COLUMNS])


def _copy_value(column: str, value: Any) -> Any:
    if column == "facts":
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _repeat(db: Session, actor: User, batch: MonitoringBatch) -> BatchResult:
    write_audit(
        db, actor, "monitoring.deliver", batch, region_code=actor.region_code,
        detail={"source": batch.source.value, "records": batch.record_count,
                "matched": batch.matched_count, "warnings": 0, "is_repeat": True},
    )  # fmt: skip
    return BatchResult(batch, True, batch.record_count, batch.matched_count, 0)


def _check_records(
    db: Session,
    actor: User,
    source: MonitoringSource,
    today: dt.date,
    records: Sequence[Mapping[str, Any]],
    numbers: Sequence[int],
) -> tuple[list[dict[str, Any]], RowProblems]:
    """The records as loaded by the schema, and every row's problems."""
    schema = record_schema(source, today)
    problems: RowProblems = {}
    try:
        loaded: list[dict[str, Any]] = schema.load(records)
    except ValidationError as error:
        loaded = error.valid_data  # type: ignore[assignment]  # one entry per record
        messages = error.messages
        assert isinstance(messages, dict)
        for index, found in messages.items():
            number = numbers[int(index)]
            if not isinstance(found, dict) or "_schema" in found:
                problems[number] = {"_row": ["应为一条记录（JSON 对象）。"]}
                continue
            problems[number] = {
                field: [str(m) for m in (found_messages if isinstance(found_messages, list)
                                         else [found_messages])]
                for field, found_messages in found.items()
            }  # fmt: skip
    known = _known_places(db, actor)
    for index, record in enumerate(loaded):
        code = record.get("region_code") if isinstance(record, dict) else None
        row = problems.get(numbers[index], {})
        if code is not None and "region_code" not in row and code not in known:
            problems.setdefault(numbers[index], {})["region_code"] = [
                f"{code} 不是本账号辖区内的乡镇（街道）或村（社区）代码。"
            ]
    return loaded, problems


def _known_places(db: Session, actor: User) -> set[str]:
    """The township and village codes within the actor's region."""
    low, high = descendant_range(actor.region_code)
    return set(
        db.scalars(
            sa.select(Region.code).where(
                Region.code.between(low, high),
                Region.level.in_((RegionLevel.TOWNSHIP, RegionLevel.VILLAGE)),
            )
        )
    )


@dataclass(frozen=True)
class _Prepared:
    """A checked record in canonical form."""

    id_number: str
    name: str
    region_code: str
    event: MonitoringEvent
    occurred_on: dt.date
    amount_fen: int | None
    facts: dict[str, Any]
    detail: str | None

    def canonical(self) -> str:
        return json.dumps(
            {
                "id_number": self.id_number, "name": self.name, "region_code": self.region_code,
                "event": self.event.value, "occurred_on": self.occurred_on.isoformat(),
                "amount_fen": self.amount_fen, "facts": self.facts, "detail": self.detail,
            },
            sort_keys=True, ensure_ascii=False, separators=(",", ":"),
        )  # fmt: skip

    def row(
        self,
        batch_id: int,
        source: MonitoringSource,
        number: int,
        protected: tuple[str, bytes],
        matches: Mapping[str, tuple[int, int]],
    ) -> dict[str, Any]:
        id_hash, encrypted = protected
        match = matches.get(id_hash)
        return {
            "batch_id": batch_id, "row_number": number, "source": source, "event": self.event,
            "id_number_hash": id_hash, "id_number_encrypted": encrypted,
            "id_number_masked": mask_id_number(self.id_number), "name": self.name,
            "region_code": self.region_code, "occurred_on": self.occurred_on,
            "amount_fen": self.amount_fen, "facts": self.facts, "detail": self.detail,
            "member_id": match[0] if match else None, "household_id": match[1] if match else None,
        }  # fmt: skip


def _prepare(loaded: Sequence[dict[str, Any]]) -> list[_Prepared]:
    prepared = []
    for record in loaded:
        number = normalize_id_number(record["id_number"])
        amount: decimal.Decimal | None = record.get("amount_yuan")
        detail = (record.get("detail") or "").strip() or None
        prepared.append(
            _Prepared(
                id_number=number, name=record["name"].strip(),
                region_code=record["region_code"], event=MonitoringEvent(record["event"]),
                occurred_on=record["occurred_on"],
                amount_fen=None if amount is None else int(amount * 100),
                facts=dict(sorted((record.get("facts") or {}).items())), detail=detail,
            )
        )  # fmt: skip
    return prepared


def _protect(db: Session, numbers: set[str]) -> dict[str, tuple[str, bytes]]:
    """Each ID number's keyed hash and encryption: one per person, however many records."""
    cipher = cipher_of(db)
    return {n: (cipher.lookup_hash(n), cipher.encrypt(n)) for n in numbers}


def _digest(source: MonitoringSource, prepared: Sequence[_Prepared]) -> str:
    """SHA-256 over the source and the records in canonical form, in any order."""
    digest = hashlib.sha256(f"{source.value}\n".encode())
    for line in sorted(p.canonical() for p in prepared):
        digest.update(line.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def _match_members(db: Session, hashes: set[str]) -> dict[str, tuple[int, int]]:
    """ID hash → (member id, household id) of the ledger members with those hashes, by one
    ``IN`` query per chunk; a person in several households is matched to an active one."""
    found: dict[str, tuple[int, int, bool]] = {}
    for chunk in chunked(sorted(hashes), LOOKUP_CHUNK):
        rows = db.execute(
            sa.select(Member.id_number_hash, Member.id, Member.household_id, Household.status)
            .join(Household, Household.id == Member.household_id)
            .where(Member.id_number_hash.in_(chunk))
            .order_by(Member.id)
        )
        for id_hash, member_id, household_id, status in rows:
            assert id_hash is not None  # found by it
            active = status == HouseholdStatus.ACTIVE
            if id_hash not in found or (active and not found[id_hash][2]):
                found[id_hash] = (member_id, household_id, active)
    return {h: (m, hh) for h, (m, hh, _active) in found.items()}


# --- files ---------------------------------------------------------------------------------


def read_batch_file(source: MonitoringSource, filename: str, data: bytes) -> list[dict[str, Any]]:
    """The records of an ``.xlsx`` or ``.csv`` file made from the source's template, in the
    API's shape.

    :raise ValidationFailed: the file is unreadable or has bad rows, every one named.
    """
    batch = read_file_batch(source, filename, data)
    if batch.problems:
        raise row_refusal(batch.problems)
    return batch.records


def deliver_batch_file(
    db: Session,
    actor: User,
    source: MonitoringSource,
    delivered_on: dt.date,
    filename: str,
    data: bytes,
    now: dt.datetime,
) -> BatchResult:
    """Deliver a batch from a template file: every bad row named by its row in the file.

    :raise ValidationFailed: as :func:`read_file_batch` and :func:`deliver_batch`.
    :raise Forbidden: as :func:`deliver_batch`.
    """
    check_may_deliver(actor, source)
    batch = read_file_batch(source, filename, data)
    return deliver_batch(
        db, actor, source, delivered_on, batch.records, now,
        row_numbers=batch.row_numbers, row_problems=batch.problems,
    )  # fmt: skip


def batch_template(source: MonitoringSource) -> bytes:
    """The source's ``.xlsx`` template: Chinese headers, the events it may report, examples."""
    return write_template(source)


def household_records(db: Session, actor: User, household_id: int) -> list[MonitoringRecord]:
    """The feed records of a household's members, newest first, for its 救助链 (scoped).

    :raise NotFound: the household is not within the actor's reach.
    """
    household = db.scalar(scoped(sa.select(Household).where(Household.id == household_id), actor))
    if household is None:
        raise NotFound("困难家庭不存在或您无权查看。")
    records = list(
        db.scalars(
            sa.select(MonitoringRecord)
            .where(MonitoringRecord.household_id == household.id)
            .order_by(MonitoringRecord.occurred_on.desc(), MonitoringRecord.id.desc())
        )
    )
    write_audit(db, actor, "monitoring.records_read", household, detail={"records": len(records)})
    return records


def check_may_download(actor: User) -> None:
    """Templates are for those who deliver: departments' accounts, civil affairs, admins.

    :raise Forbidden: anyone else.
    """
    if not may_act(actor) or actor.role not in (Role.DATA_PROVIDER, Role.CIVIL_AFFAIRS, Role.ADMIN):
        raise Forbidden("只有部门数据报送账号和民政部门可以下载监测数据模板。")
