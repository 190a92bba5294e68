"""How the warning rules (预警规则) run: the provincial defaults, each county's settings, and
the evaluation of monitoring records into warnings.

Evaluation is set-based so a 200,000-record batch or the nightly run over every record stays
quick: records are read per rule with one query (medical costs summed per person in SQL),
ledger facts are loaded in chunks of ID hashes with ``IN``, the existing warnings likewise,
and new warnings are inserted in bulk. People are matched to members only by the keyed hash
of their ID numbers; the ledger is never decrypted.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from more_itertools import chunked
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models import (
    Household,
    Member,
    MonitoringRecord,
    MonitoringWarning,
    Station,
)
from models.enums import (
    HouseholdStatus,
    MonitoringEvent,
    Relation,
    StationKind,
    WarningRule,
    WarningStatus,
)

from .county_settings import county_code_of
from .crypto import cipher_of
from .id_numbers import id_birth_date
from .notifications import notify, office_users, station_users
from .warning_settings import (
    AID_STOPPED_UNCHANGED_DAYS,
    SCHOOL_AGES,
    Settings,
    yuan_text,
)

T = TypeVar("T")

#: Hashes (or ids) per ``IN`` list: well under every driver's parameter limit.
CHUNK = 5_000
#: Values per array parameter on PostgreSQL.
PG_CHUNK = 100_000
#: Records older than this (days before today) raise nothing any more: they were read when
#: they came, and the 12-month medical window is the longest any rule looks back.
LOOKBACK_DAYS = 365
#: Grades of a severe disability (一、二级).
SEVERE_GRADES = (1, 2)


#: The events each rule reads.
RULE_EVENTS: dict[WarningRule, tuple[MonitoringEvent, ...]] = {
    WarningRule.MEDICAL_COST: (MonitoringEvent.MEDICAL_EXPENSE,),
    WarningRule.SEVERE_DISABILITY: (
        MonitoringEvent.DISABILITY_ISSUED,
        MonitoringEvent.DISABILITY_CHANGED,
    ),
    WarningRule.AID_STOPPED: (MonitoringEvent.AID_STOPPED,),
    WarningRule.SCHOOL_DROPOUT: (MonitoringEvent.SCHOOL_DROPOUT,),
    WarningRule.HEAD_UNEMPLOYED: (MonitoringEvent.UNEMPLOYMENT_REGISTERED,),
    WarningRule.DISASTER_LOSS: (MonitoringEvent.DISASTER_LOSS,),
}


def _is_postgres(db: Session) -> bool:
    return db.get_bind().dialect.name == "postgresql"


def parts(db: Session, items: Sequence[T]) -> Iterator[Sequence[T]]:
    """``items`` in lists for :func:`among`: few and long on PostgreSQL, where the list is one
    array parameter; within the parameter limit elsewhere."""
    return chunked(items, PG_CHUNK if _is_postgres(db) else CHUNK)


def among(db: Session, column: Any, values: Sequence[Any]) -> sa.ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``column = ANY(:array)``, one parameter however
    long the list, so a 200,000-person run is neither compiled nor sent value by value."""
    if _is_postgres(db):
        array = sa.bindparam(None, list(values), type_=postgresql.ARRAY(column.type))
        return cast(sa.ColumnElement[bool], column == sa.any_(array))
    return cast(sa.ColumnElement[bool], column.in_(list(values)))


@dataclass
class Person:
    """A person's place in the ledger, by the hash of the ID number."""

    member_id: int
    household_id: int
    relation: Relation
    disability_grade: int | None
    birth_year: int | None
    station_id: int
    region_code: str
    income_per_head_fen: int
    household_size: int
    household_updated_on: dt.date


def load_people(db: Session, hashes: Iterable[str]) -> dict[str, Person]:
    """The ledger members with these ID hashes, in active households (the first registered,
    where a number is in two households)."""
    wanted = sorted(set(hashes))
    found: dict[str, Person] = {}
    for part in parts(db, wanted):
        rows = db.execute(
            sa.select(
                Member.id_number_hash,
                Member.id,
                Member.household_id,
                Member.relation,
                Member.disability_grade,
                Member.birth_year,
                Household.station_id,
                Household.region_code,
                Household.income_per_head_fen,
                Household.updated_at,
            )  # fmt: skip
            .join(Household, Household.id == Member.household_id)
            .where(
                among(db, Member.id_number_hash, part), Household.status == HouseholdStatus.ACTIVE
            )
            .order_by(Member.id)
        ).all()
        households = sorted({row[2] for row in rows})
        sizes: dict[int, int] = {}
        for ids in parts(db, households):
            counted = db.execute(
                sa.select(Member.household_id, sa.func.count())
                .where(among(db, Member.household_id, ids))
                .group_by(Member.household_id)
            )
            sizes.update({household: count for household, count in counted})
        for digest, mid, hid, rel, grade, born, station, region, income, updated in rows:
            if digest is None or digest in found:
                continue
            found[digest] = Person(
                mid, hid, rel, grade, born, station, region, income or 0, sizes.get(hid, 1),
                updated.date() if updated is not None else dt.date.min,
            )  # fmt: skip
    return found


@dataclass
class Rec:
    """What a rule reads of one record."""

    id: int
    hash: str
    event: MonitoringEvent
    occurred_on: dt.date
    amount_fen: int | None
    region_code: str
    facts: dict[str, Any]
    id_number_encrypted: bytes


def load_records(
    db: Session,
    events: Collection[MonitoringEvent],
    since: dt.date,
    today: dt.date,
    hashes: Sequence[str] | None,
) -> list[Rec]:
    stmt = sa.select(
        MonitoringRecord.id, MonitoringRecord.id_number_hash, MonitoringRecord.event,
        MonitoringRecord.occurred_on, MonitoringRecord.amount_fen, MonitoringRecord.region_code,
        MonitoringRecord.facts, MonitoringRecord.id_number_encrypted,
    ).where(
        MonitoringRecord.event.in_(list(events)),
        MonitoringRecord.occurred_on > since,
        MonitoringRecord.occurred_on <= today,
    )  # fmt: skip
    if hashes is None:
        return [Rec(*row) for row in db.execute(stmt.order_by(MonitoringRecord.id))]
    found: list[Rec] = []
    for part in parts(db, hashes):
        rows = db.execute(stmt.where(among(db, MonitoringRecord.id_number_hash, part)))
        found.extend(Rec(*row) for row in rows)
    found.sort(key=lambda r: r.id)
    return found


@dataclass
class MedicalTotal:
    hash: str
    total_fen: int
    first_on: dt.date
    latest_id: int
    #: Where the department places the person (of several places, the greatest code: the
    #: same answer on every run).
    region_code: str


def medical_totals(
    db: Session, since: dt.date, today: dt.date, hashes: Sequence[str] | None
) -> list[MedicalTotal]:
    """Each person's self-paid medical costs over the window, summed in the database."""
    stmt = (
        sa.select(
            MonitoringRecord.id_number_hash,
            sa.func.coalesce(sa.func.sum(MonitoringRecord.amount_fen), 0),
            sa.func.min(MonitoringRecord.occurred_on),
            sa.func.max(MonitoringRecord.id),
            sa.func.max(MonitoringRecord.region_code),
        )
        .where(
            MonitoringRecord.event == MonitoringEvent.MEDICAL_EXPENSE,
            MonitoringRecord.occurred_on > since,
            MonitoringRecord.occurred_on <= today,
        )
        .group_by(MonitoringRecord.id_number_hash)
    )
    if hashes is None:
        return [MedicalTotal(h, int(t or 0), f, i, r) for h, t, f, i, r in db.execute(stmt)]
    found: list[MedicalTotal] = []
    for part in parts(db, hashes):
        rows = db.execute(stmt.where(among(db, MonitoringRecord.id_number_hash, part)))
        found.extend(MedicalTotal(h, int(t or 0), f, i, r) for h, t, f, i, r in rows)
    return found


@dataclass
class Finding:
    """A rule fired for a person: the records it read and what it found."""

    rule: WarningRule
    hash: str
    evidence: list[int]
    since_on: dt.date
    region_code: str
    explanation: str
    amount_fen: int | None
    #: Medical costs are one occasion per window (the evidence is every record in it); the
    #: other rules fire on each record.
    is_cumulative: bool = False
    #: Record dates by id, for the earliest day of absorbed evidence.
    days: dict[int, dt.date] = field(default_factory=dict)


class Router:
    """Which station a person not in the ledger goes to: the township's active station, else
    an active village station in the township, else none (the county office sees it)."""

    def __init__(self, db: Session) -> None:
        rows = db.execute(
            sa.select(Station.id, Station.region_code, Station.kind)
            .where(Station.is_active)
            .order_by(Station.id)
        ).all()
        self._township: dict[str, int] = {}
        self._village: dict[str, int] = {}
        for station_id, code, kind in rows:
            township = township_of(code)
            if kind == StationKind.TOWNSHIP and code == township:
                self._township.setdefault(township, station_id)
            else:
                self._village.setdefault(township, station_id)

    def station_for(self, region_code: str) -> int | None:
        township = township_of(region_code)
        return self._township.get(township) or self._village.get(township)


def township_of(region_code: str) -> str:
    """The township (乡镇/街道) a township or village code lies in."""
    return region_code[:9] + "000"


def evaluate(
    db: Session,
    today: dt.date,
    settings: Settings,
    hashes: Sequence[str] | None,
) -> tuple[list[Finding], dict[str, Person]]:
    """Every finding of the six rules for these people (everyone with records when None),
    and the ledger places of the people read."""
    since = today - dt.timedelta(days=LOOKBACK_DAYS)
    events = [e for rule in WarningRule if rule != WarningRule.MEDICAL_COST
              for e in RULE_EVENTS[rule]]  # fmt: skip
    records = load_records(db, events, since, today, hashes)
    totals = medical_totals(db, since, today, hashes)
    people = load_people(db, {r.hash for r in records} | {t.hash for t in totals})
    findings = _medical(db, totals, people, settings, since, today)
    findings += _events(db, records, people, settings)
    return findings, people


def _medical(
    db: Session,
    totals: list[MedicalTotal],
    people: dict[str, Person],
    settings: Settings,
    since: dt.date,
    today: dt.date,
) -> list[Finding]:
    fired: list[tuple[MedicalTotal, str, str]] = []
    for total in totals:
        person = people.get(total.hash)
        region = person.region_code if person else total.region_code
        setting = settings.of(region, WarningRule.MEDICAL_COST)
        if not setting.enabled:
            continue
        reasons = []
        if setting.threshold_fen is not None and total.total_fen >= setting.threshold_fen:
            reasons.append(f"超过 {yuan_text(setting.threshold_fen)}")
        if person is not None and setting.income_share_percent is not None:
            yearly = person.income_per_head_fen * person.household_size * 12
            if yearly > 0 and total.total_fen * 100 >= setting.income_share_percent * yearly:
                share = total.total_fen * 100 // yearly
                reasons.append(
                    f"占家庭年收入 {yuan_text(yearly)} 的 {share}%"
                    f"（达到 {setting.income_share_percent}%）"
                )
        if reasons:
            text = f"近12个月医保个人自付 {yuan_text(total.total_fen)}，" + "，".join(reasons)
            fired.append((total, region, text))
    evidence = _window_records(db, [t.hash for t, _r, _x in fired], since, today)
    return [
        Finding(
            WarningRule.MEDICAL_COST,
            total.hash,
            [i for i, _d in evidence[total.hash]],
            total.first_on,
            region,
            text,
            total.total_fen,
            is_cumulative=True,
            days=dict(evidence[total.hash]),
        )  # fmt: skip
        for total, region, text in fired
    ]


def _window_records(
    db: Session, hashes: Sequence[str], since: dt.date, today: dt.date
) -> dict[str, list[tuple[int, dt.date]]]:
    found: dict[str, list[tuple[int, dt.date]]] = defaultdict(list)
    for part in parts(db, sorted(hashes)):
        rows = db.execute(
            sa.select(
                MonitoringRecord.id_number_hash, MonitoringRecord.id, MonitoringRecord.occurred_on
            )
            .where(
                MonitoringRecord.event == MonitoringEvent.MEDICAL_EXPENSE,
                among(db, MonitoringRecord.id_number_hash, part),
                MonitoringRecord.occurred_on > since,
                MonitoringRecord.occurred_on <= today,
            )
            .order_by(MonitoringRecord.id)
        )
        for digest, record_id, day in rows:
            found[digest].append((record_id, day))
    return found


def _events(
    db: Session, records: list[Rec], people: dict[str, Person], settings: Settings
) -> list[Finding]:
    stops = [r for r in records if r.event == MonitoringEvent.AID_STOPPED and r.hash in people]
    restarted = _aid_restarts(db, {people[r.hash].household_id for r in stops})
    cipher = cipher_of(db)
    findings: list[Finding] = []
    for record in records:
        person = people.get(record.hash)
        region = person.region_code if person else record.region_code
        rule, text, amount = _check(record, person, settings, restarted, cipher)
        if rule is None or not settings.of(region, rule).enabled:
            continue
        findings.append(
            Finding(rule, record.hash, [record.id], record.occurred_on, region, text, amount,
                    days={record.id: record.occurred_on})
        )  # fmt: skip
    return findings


def _check(
    record: Rec,
    person: Person | None,
    settings: Settings,
    restarted: dict[int, dt.date],
    cipher: Any,
) -> tuple[WarningRule | None, str, int | None]:
    """The rule ``record`` fires, what it found, and the amount it suggests."""
    event = record.event
    region = person.region_code if person else record.region_code
    if event in RULE_EVENTS[WarningRule.SEVERE_DISABILITY]:
        grade = _int(record.facts.get("grade"))
        if grade not in SEVERE_GRADES:
            return None, "", None
        if person is not None and person.disability_grade in SEVERE_GRADES:
            return None, "", None
        was = (
            f"，台账登记为{person.disability_grade}级"
            if person is not None and person.disability_grade
            else ("，台账未登记残疾" if person is not None else "")
        )
        verb = "新办" if event == MonitoringEvent.DISABILITY_ISSUED else "变更为"
        return (
            WarningRule.SEVERE_DISABILITY,
            f"{record.occurred_on} 残联{verb}{grade}级残疾证{was}",
            None,
        )
    if event == MonitoringEvent.AID_STOPPED:
        if person is None:
            return None, "", None
        unchanged_since = record.occurred_on - dt.timedelta(days=AID_STOPPED_UNCHANGED_DAYS)
        if person.household_updated_on >= unchanged_since:
            return None, "", None
        restart = restarted.get(person.household_id)
        if restart is not None and restart > record.occurred_on:
            return None, "", None
        return WarningRule.AID_STOPPED, (
            f"{record.occurred_on} 民政救助停止，家庭情况自 {person.household_updated_on} "
            "以来未变更，此后没有新的救助"
        ), None  # fmt: skip
    if event == MonitoringEvent.SCHOOL_DROPOUT:
        born = person.birth_year if person and person.birth_year else _birth_year(record, cipher)
        if born is None or record.occurred_on.year - born not in SCHOOL_AGES:
            return None, "", None
        age = record.occurred_on.year - born
        return (
            WarningRule.SCHOOL_DROPOUT,
            f"{record.occurred_on} 教育部门登记辍学，当年 {age} 岁",
            None,
        )
    if event == MonitoringEvent.UNEMPLOYMENT_REGISTERED:
        if person is not None and person.relation != Relation.HEAD:
            return None, "", None
        who = "户主" if person is not None else "未在册人员"
        return WarningRule.HEAD_UNEMPLOYED, f"{record.occurred_on} {who}在人社部门登记失业", None
    if event == MonitoringEvent.DISASTER_LOSS:
        threshold = settings.of(region, WarningRule.DISASTER_LOSS).threshold_fen
        loss = record.amount_fen or 0
        if threshold is None or loss < threshold:
            return None, "", None
        return WarningRule.DISASTER_LOSS, (
            f"{record.occurred_on} 受灾损失 {yuan_text(loss)}，超过 {yuan_text(threshold)}"
        ), loss  # fmt: skip
    return None, "", None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _birth_year(record: Rec, cipher: Any) -> int | None:
    """The birth year in a feed record's own ID number (a person not in the ledger)."""
    try:
        return id_birth_date(cipher.decrypt(record.id_number_encrypted)).year
    except Exception:  # an unreadable number is no reason to stop the run
        return None


def _aid_restarts(db: Session, household_ids: Collection[int]) -> dict[int, dt.date]:
    """The latest ``aid_started`` day of any member of each household."""
    hashes: dict[str, int] = {}
    for part in parts(db, sorted(household_ids)):
        rows = db.execute(
            sa.select(Member.id_number_hash, Member.household_id).where(
                among(db, Member.household_id, part), Member.id_number_hash.is_not(None)
            )
        )
        hashes.update({str(digest): household for digest, household in rows if digest})
    latest: dict[int, dt.date] = {}
    for names in parts(db, sorted(hashes)):
        started = db.execute(
            sa.select(MonitoringRecord.id_number_hash, sa.func.max(MonitoringRecord.occurred_on))
            .where(
                MonitoringRecord.event == MonitoringEvent.AID_STARTED,
                among(db, MonitoringRecord.id_number_hash, names),
            )
            .group_by(MonitoringRecord.id_number_hash)
        )
        for name, day in started:
            household = hashes[name]
            if day is not None and (household not in latest or day > latest[household]):
                latest[household] = day
    return latest


@dataclass
class Outcome:
    #: The new warnings' rows as inserted (``id`` added).
    raised: list[dict[str, Any]]
    absorbed: int


@dataclass
class Known:
    """A warning already raised, as far as deciding on new evidence needs it."""

    id: int
    status: WarningStatus
    evidence: list[int]


def record_findings(
    db: Session,
    findings: list[Finding],
    settings: Settings,
    ledger: dict[str, Person],
    router: Router,
    today: dt.date,
    now: dt.datetime,
) -> Outcome:
    """Turn findings into warnings: evidence already behind a warning of the same rule and
    person raises nothing; an open warning absorbs new evidence; the rest are inserted in
    bulk (a ``dedupe_key`` already taken, by a run at the same moment, is skipped)."""
    by_key: dict[tuple[WarningRule, str], list[Finding]] = defaultdict(list)
    for finding in findings:
        by_key[(finding.rule, finding.hash)].append(finding)
    existing = _existing(db, sorted({h for _r, h in by_key}))
    rows: list[dict[str, Any]] = []
    to_absorb: dict[int, tuple[list[Finding], list[int], dict[int, dt.date]]] = {}
    for (rule, digest), found in by_key.items():
        warnings = existing.get((rule, digest), [])
        seen = {i for w in warnings for i in w.evidence}
        fresh = [f for f in found if set(f.evidence) - seen]
        if not fresh:
            continue
        latest = fresh[-1]
        new_ids = sorted({i for f in fresh for i in f.evidence} - seen)
        days = {k: v for f in fresh for k, v in f.days.items()}
        open_one = next((w for w in warnings if w.status == WarningStatus.OPEN), None)
        if open_one is not None:
            to_absorb[open_one.id] = (fresh, new_ids, days)
            continue
        evidence = sorted({i for f in fresh for i in f.evidence})
        if not latest.is_cumulative:
            evidence = new_ids
        person = ledger.get(digest)
        setting = settings.of(latest.region_code, rule)
        rows.append(
            {
                "rule": rule,
                "status": WarningStatus.OPEN,
                "dedupe_key": f"{rule.value}:{digest}:{max(evidence)}",
                "id_number_hash": digest,
                "household_id": person.household_id if person else None,
                "member_id": person.member_id if person else None,
                "record_id": max(evidence),
                "evidence": evidence,
                "station_id": person.station_id if person else router.station_for(
                    latest.region_code),
                "region_code": latest.region_code,
                "explanation": _joined([f.explanation for f in fresh], latest.is_cumulative),
                "amount_fen": _amount(fresh),
                "raised_at": now,
                "since_on": min(days[i] for i in evidence),
                "due_on": today + dt.timedelta(days=setting.due_days),
            }
        )  # fmt: skip
    for part in parts(db, sorted(to_absorb)):
        for warning in db.scalars(sa.select(MonitoringWarning).where(
                among(db, MonitoringWarning.id, part))):  # fmt: skip
            _absorb(warning, *to_absorb[warning.id])
    db.flush()
    keys = [row["dedupe_key"] for row in rows]
    for part in parts(db, keys):  # taken by a run at the same moment
        taken = set(db.scalars(sa.select(MonitoringWarning.dedupe_key).where(
            among(db, MonitoringWarning.dedupe_key, part))))  # fmt: skip
        rows = [row for row in rows if row["dedupe_key"] not in taken]
    for batch in chunked(rows, CHUNK):
        db.execute(_insert_ignoring_duplicates(db), batch)
    inserted: dict[str, int] = {}
    for part in parts(db, [row["dedupe_key"] for row in rows]):
        got = db.execute(sa.select(MonitoringWarning.dedupe_key, MonitoringWarning.id).where(
            among(db, MonitoringWarning.dedupe_key, part)))  # fmt: skip
        inserted.update({key: new_id for key, new_id in got})
    raised = [{**row, "id": inserted[row["dedupe_key"]]} for row in rows
              if row["dedupe_key"] in inserted]  # fmt: skip
    return Outcome(raised, len(to_absorb))


def _insert_ignoring_duplicates(db: Session) -> Any:
    table = cast(sa.Table, MonitoringWarning.__table__)
    insert = postgresql.insert if _is_postgres(db) else sqlite.insert
    return insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"])


def _existing(db: Session, hashes: Sequence[str]) -> dict[tuple[WarningRule, str], list[Known]]:
    found: dict[tuple[WarningRule, str], list[Known]] = defaultdict(list)
    for part in parts(db, hashes):
        rows = db.execute(
            sa.select(
                MonitoringWarning.id, MonitoringWarning.rule, MonitoringWarning.id_number_hash,
                MonitoringWarning.status, MonitoringWarning.evidence,
            )
            .where(among(db, MonitoringWarning.id_number_hash, part))
            .order_by(MonitoringWarning.id)
        )  # fmt: skip
        for warning_id, rule, digest, status, evidence in rows:
            found[(rule, digest)].append(Known(warning_id, status, list(evidence or [])))
    return found


def _joined(texts: list[str], cumulative: bool) -> str:
    # A running total says it all in its latest words; events are listed one by one.
    return texts[-1] if cumulative else "；".join(dict.fromkeys(texts))


def _amount(found: list[Finding]) -> int | None:
    if found[-1].is_cumulative:
        return found[-1].amount_fen
    amounts = [f.amount_fen for f in found if f.amount_fen is not None]
    return sum(amounts) if amounts else None


def _absorb(
    warning: MonitoringWarning, fresh: list[Finding], new_ids: list[int], days: dict[int, dt.date]
) -> None:
    latest = fresh[-1]
    warning.evidence = sorted(set(warning.evidence or []) | set(new_ids))
    warning.record_id = max(warning.evidence)
    if latest.is_cumulative:
        warning.explanation = latest.explanation
        warning.amount_fen = latest.amount_fen
    else:
        added = [f for f in fresh if set(f.evidence) & set(new_ids)]
        warning.explanation = "；".join([warning.explanation, *(f.explanation for f in added)])
        amounts = [f.amount_fen for f in added if f.amount_fen is not None]
        if amounts:
            warning.amount_fen = (warning.amount_fen or 0) + sum(amounts)
    earliest = min((days[i] for i in new_ids if i in days), default=warning.since_on)
    warning.since_on = min(warning.since_on, earliest)


def notify_stations(db: Session, raised: Sequence[Mapping[str, Any]]) -> int:
    """One notification per station (and per county office for warnings no station holds)
    for this run's new warnings; returns how many were written."""
    per_station: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
    per_office: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for warning in raised:
        if warning["station_id"] is not None:
            per_station[warning["station_id"]].append(warning)
        else:
            per_office[county_code_of(warning["region_code"])].append(warning)
    written = 0
    for station_id, found in per_station.items():
        unlisted = sum(1 for w in found if w["household_id"] is None)
        message = f"新增 {len(found)} 条预警待核实"
        if unlisted:
            message += f"，其中 {unlisted} 条为未在册人员，请入户核查"
        written += notify(db, station_users(db, station_id), "warning", message, link="/warnings")
    for county, found in per_office.items():
        message = f"新增 {len(found)} 条未在册人员预警，所在乡镇没有服务站，请安排入户核查"
        written += notify(db, office_users(db, county), "warning", message, link="/warnings")
    return written
