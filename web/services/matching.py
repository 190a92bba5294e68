"""Matching needs to the projects of the current ledgers: the web layer's side of ``matcher``.

The project index is built from the current editions once and kept; it is rebuilt only when
an edition is published or takes effect. What changes a project's standing between editions —
withdrawn, ended, run out of places or taking offers again, its quota edited, a place taken or
given back — is patched into the process's own copy of a few arrays
(``ProjectIndex.update_standing``): one query per request (:func:`_watch`) says whether
anything changed, and only then are the changed projects read (:func:`_patch_standing`). An
edit waiting for review changes nothing the matcher reads until the next edition.
"Current" is the edition in effect on the day asked about (``LedgerEdition.in_effect_on``):
an edition built ahead of its half-year joins the index on its first day, with no job run.

With an index folder configured (``MATCHER_INDEX_DIR``, default ``instance/matcher-index``;
it travels in the session's ``info``), the index is built once per machine: the first process
to see a new version builds it under a file lock and writes it to ``<folder>/<version>/``
(``matcher.index_store``), and every process maps that folder read-only, so the machine holds
one copy however many workers serve. Standing is patched into each process's own copy of
those arrays, never into the shared files. Without a folder (a
session made outside the app: scripts, the matcher's own tests) the index is built in the
process, as before.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, selectinload

from matcher import (
    HouseholdRecord,
    LearnedModel,
    MemberRecord,
    NeedRecord,
    ProjectIndex,
    ProjectRecord,
    Ranking,
    WeightedModel,
    build_index,
    rank,
)
from matcher.evaluation import Benchmark, load_benchmarks
from matcher.index_store import IndexFormatError, index_layout, load_index, save_index
from matcher.reasons import reason_record
from matcher.rules import check
from matcher.scoring import FEATURES, features, learned_model_name
from matcher.training import TrainingResult, enough_outcomes, train_and_compare
from models import Household, LedgerEdition, ModelVersion, Need, Project, Referral, User, clock
from models.base import utcnow
from models.enums import (
    ACCEPTED_BY_CHARITY_STATES,
    ProjectStatus,
    ReferralStatus,
    Role,
)

from .audit import write_audit
from .needs import get_need, mark_gains_seen
from .scoping import require_role

_lock = threading.Lock()
_cache: dict[str, Any] = {}
log = logging.getLogger(__name__)

#: The session ``info`` key naming the folder of shared indexes (set by the app).
INDEX_DIR_INFO = "matcher_index_dir"
#: A superseded index folder is removed this long after it was written: a process that read
#: the old version a moment ago may still be opening it (one that has mapped it keeps its
#: pages after the removal).
STALE_INDEX_GRACE_SECONDS = 600
#: What :func:`_shared_index` says while another process builds the version asked for.
BUILDING_ELSEWHERE: Any = object()
#: Written beside an index: the watermark of project changes it was built with.
BUILT_FILE = "built.json"
#: Project changes are read again this far behind the newest one seen, so one whose
#: transaction committed late (stamped before another's that committed first) is not missed.
STANDING_LOOKBACK = dt.timedelta(seconds=60)
#: ... and once more this many seconds after a change was seen.
STANDING_RECHECK = 10.0
#: Every project's standing is read whole this often, whatever the stamps say: a change whose
#: transaction outlived the lookback (a job that commits at its end), or stamped by a machine
#: whose clock is behind, is then late by this much at most.
STANDING_FULL_SECONDS = 300.0
#: How often a process reads the charities' acceptance again (answers come in between
#: editions; the index is built once per edition).
ACCEPTANCE_REFRESH_SECONDS = 900.0


def _date(value: str | None, default: dt.date) -> dt.date:
    return dt.date.fromisoformat(value) if value else default


def _editions_in_effect(db: Session, today: dt.date) -> dict[str, tuple[int, dt.datetime]]:
    """Each department's edition in effect on ``today``: its id and when it was published."""
    latest: dict[str, tuple[int, dt.datetime]] = {}
    in_effect = db.execute(
        sa.select(LedgerEdition.region_code, LedgerEdition.id, LedgerEdition.published_at)
        .where(LedgerEdition.in_effect_on(today))
        .order_by(LedgerEdition.id)
    )
    for region_code, edition_id, published_at in in_effect:
        # One a day, but the newest wins should two overlap.
        latest[region_code] = (edition_id, published_at)
    return latest


def current_edition_ids(db: Session, today: dt.date) -> list[int]:
    """The edition of each department in effect on ``today``, by id."""
    return sorted(edition_id for edition_id, _ in _editions_in_effect(db, today).values())


def _database_of(db: Session) -> URL:
    """The database ``db`` reads, by its URL (which shows no password, compared or printed)."""
    return db.get_bind().engine.url


def _cache_key(db: Session, today: dt.date) -> tuple[Any, ...]:
    """What an index is built from: the editions in effect, when the newest of them was
    published, and the database they are in (two databases' editions may share ids, and their
    processes an index folder or a process; a database loaded again gives its editions the
    same ids, and the index kept in the folder from the one before is not its own). Projects'
    standing is patched."""
    editions = _editions_in_effect(db, today).values()
    published = max((at for _, at in editions), default=None)
    ids = sorted(edition_id for edition_id, _ in editions)
    return (repr(_database_of(db)), published.isoformat() if published else None, *ids)


@dataclass(frozen=True)
class _Watch:
    editions: tuple[int | None, int]  # the newest edition's id, and how many there are
    newest_change: dt.datetime | None
    model: tuple[Any, ...]  # the active model's kind, params and name (None each: none)


def _active(column: Any) -> Any:
    return sa.select(column).where(ModelVersion.is_active.is_(True)).limit(1).scalar_subquery()


#: What :func:`_watch` reads, each value a subquery read from an index (SQLite reads two
#: maxima in one SELECT by scanning the table). Built once: every match search runs it.
_WATCH_QUERY = sa.select(
    sa.select(sa.func.max(LedgerEdition.id)).scalar_subquery(),
    sa.select(sa.func.count(LedgerEdition.id)).scalar_subquery(),
    sa.select(sa.func.max(Project.updated_at)).scalar_subquery(),
    sa.select(sa.func.max(Project.places_changed_at)).scalar_subquery(),
    _active(ModelVersion.kind),
    _active(ModelVersion.params),
    _active(ModelVersion.name),
)


def _watch(db: Session) -> _Watch:
    """In one round trip: the newest edition's id and the number of editions, one of which
    moves whenever one is published (editions are only ever added, and replaced ones marked
    in the same transaction; the count catches one that commits after an edition with a
    higher id); the newest stamp of a project edit or a place taken or given back; and the
    model in use."""
    # On the session's connection: the ORM's execution path costs three times Core's here.
    # That path would flush first (a project changed in this session counts): so does this.
    db.flush()
    row = db.connection().execute(_WATCH_QUERY).one()
    edition, editions, updated, places, *model = row
    stamps = [stamp for stamp in (updated, places) if stamp is not None]
    return _Watch((edition, editions), max(stamps) if stamps else None, tuple(model))


@dataclass
class _InUse:
    """The index this process serves and what it has read of the projects since its build."""

    index: ProjectIndex
    seen: dt.datetime | None  # the newest change stamp read
    recheck_at: float | None = None  # when to read the last window again
    full_at: float = field(default_factory=lambda: time.monotonic() + STANDING_FULL_SECONDS)
    acceptance_at: float = 0.0  # when to read the charities' acceptance again


def acceptance_rates(db: Session) -> dict[int, float]:
    """Each charity's share of answered referrals it accepted (three answers at least)."""
    answered = (
        sa.select(
            Project.organization_id,
            sa.func.count().filter(Referral.status.in_(ACCEPTED_BY_CHARITY_STATES)),
            sa.func.count().filter(Referral.status == ReferralStatus.DECLINED),
        )
        .join(Referral, Referral.project_id == Project.id)
        .group_by(Project.organization_id)
    )
    rates = {}
    for organization_id, accepted, declined in db.execute(answered):
        if accepted + declined >= 3:
            rates[organization_id] = accepted / (accepted + declined)
    return rates


def load_project_records(db: Session, today: dt.date | None = None) -> list[ProjectRecord]:
    """The projects of every department's edition in effect on ``today`` (default: today in
    Guangdong), as published, with live quota."""
    ids = current_edition_ids(db, today or clock.today())
    editions = db.scalars(
        sa.select(LedgerEdition)
        .where(LedgerEdition.id.in_(ids))
        .options(selectinload(LedgerEdition.entries))
    ).all()
    live = {
        pid: (status, quota, used)
        for pid, status, quota, used in db.execute(
            sa.select(Project.id, Project.status, Project.quota, Project.quota_used)
        )
    }
    rates = acceptance_rates(db)
    records = []
    for edition in editions:
        for entry in edition.entries:
            # Withdrawn, ended or full since publication: kept, out of the rankings, so
            # taking offers again is a patch, not a rebuild.
            status, quota, used = live.get(entry.project_id, (None, 0, 0))
            s = entry.snapshot
            records.append(
                ProjectRecord(
                    id=entry.project_id,
                    name=s["name"],
                    organization_id=entry.organization_id,
                    organization_name=s.get("organization_name", ""),
                    ledger_level=edition.level.value,
                    ledger_region_code=edition.region_code,
                    description=s.get("description", ""),
                    domains=tuple(s.get("domains", [])),
                    target_groups=tuple(s.get("target_groups", [])),
                    forms=tuple(s.get("forms", [])),
                    service_types=tuple(s.get("service_types", [])),
                    service_area=tuple(s.get("service_area", [])),
                    min_age=s.get("min_age"),
                    max_age=s.get("max_age"),
                    household_categories=tuple(s.get("household_categories", [])),
                    max_income_per_head_fen=s.get("max_income_per_head_fen"),
                    max_disability_grade=s.get("max_disability_grade"),
                    illness_kinds=tuple(s.get("illness_kinds", [])),
                    school_stages=tuple(s.get("school_stages", [])),
                    # Editions published before the second language hold no such keys.
                    sexes=tuple(s.get("sexes", [])),
                    disability_types=tuple(s.get("disability_types", [])),
                    conditions=tuple(s.get("conditions", [])),
                    child_statuses=tuple(s.get("child_statuses", [])),
                    household_situations=tuple(s.get("household_situations", [])),
                    amount_per_beneficiary_fen=s.get("amount_per_beneficiary_fen"),
                    quota=quota,
                    quota_used=used,
                    starts_on=_date(s.get("starts_on"), dt.date.min),
                    ends_on=_date(s.get("ends_on"), dt.date.max),
                    accepts_simplified=bool(s.get("accepts_simplified")),
                    acceptance_rate=rates.get(entry.organization_id),
                    responsible_station=s.get("responsible_station_name"),
                    active=status == ProjectStatus.VERIFIED,
                )
            )
    return records


def index_version(key: tuple[Any, ...]) -> str:
    """A short name for what an index is built from (and in which layout), for its folder."""
    return hashlib.sha256(repr((index_layout(), key)).encode()).hexdigest()[:20]


def project_index(db: Session, today: dt.date | None = None) -> ProjectIndex:
    """The index of the ledgers in effect on ``today`` (default: today in Guangdong), rebuilt
    when they change and patched as projects' standing changes; shared by the machine's
    processes when the session names an index folder (``INDEX_DIR_INFO``)."""
    return _serving(db, today or clock.today())[0]


def _serving(db: Session, today: dt.date) -> tuple[ProjectIndex, WeightedModel | LearnedModel]:
    """:func:`project_index` and :func:`active_model` from one watch query."""
    watch = _watch(db)
    with _lock:
        in_use: _InUse | None = _cache.get("in_use")
        known = _cache.get("version_of")
    # Which editions are in effect changes only with the day or a new edition.
    seen = (_database_of(db), today, watch.editions)
    if known is not None and known[0] == seen:
        version = known[1]
    else:
        version = index_version(_cache_key(db, today))
        with _lock:
            _cache["version_of"] = (seen, version)
    if in_use is None or in_use.index.key != version:
        found = None
        folder = db.info.get(INDEX_DIR_INFO)
        if folder is not None:
            found = _shared_index(db, today, Path(folder), version, watch.newest_change,
                                  wait=in_use is None)  # fmt: skip
        if found is None:
            index = build_index(load_project_records(db, today), key=version)
            # Its acceptance was read for the build; a mapped index's may be old.
            found = _InUse(index, watch.newest_change,
                           acceptance_at=time.monotonic() + ACCEPTANCE_REFRESH_SECONDS)  # fmt: skip
        if found is not BUILDING_ELSEWHERE:
            in_use = found
            with _lock:
                _cache["in_use"] = in_use
    assert in_use is not None
    _patch_standing(db, in_use, watch.newest_change)
    if time.monotonic() >= in_use.acceptance_at:
        rates = acceptance_rates(db)
        with _lock:
            in_use.index.update_acceptance(rates)
            in_use.acceptance_at = time.monotonic() + ACCEPTANCE_REFRESH_SECONDS
    return in_use.index, _model(*watch.model)


def _shared_index(
    db: Session, today: dt.date, folder: Path, version: str, watermark: dt.datetime | None,
    *, wait: bool,
) -> Any:  # fmt: skip
    """Map ``folder/version``, building it first under the folder's lock if no process has
    (with ``watermark``, the newest project change read before it).

    Returns the index with the watermark it was built with (:class:`_InUse`);
    ``BUILDING_ELSEWHERE`` when another process holds the lock and ``wait`` is false (the
    caller serves the index it has until the new one is written); None when the folder cannot
    be used (the caller builds in memory).
    """
    target = folder / version
    try:
        if not (target / BUILT_FILE).exists():
            folder.mkdir(parents=True, exist_ok=True)
            with open(folder / f"{version}.lock", "a") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
                except BlockingIOError:
                    return BUILDING_ELSEWHERE
                try:
                    if not (target / BUILT_FILE).exists():
                        _build_into(db, today, folder, version, watermark)
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)
        return _map_version(target)
    except (OSError, IndexFormatError) as error:
        log.warning("matcher index folder %s not usable, building in memory: %s", folder, error)
        return None


def _build_into(
    db: Session, today: dt.date, folder: Path, version: str, watermark: dt.datetime | None
) -> None:
    """Build the index and move it into place whole: a reader sees all of it or nothing. The
    watermark was read before: a change made during the build is patched in after."""
    index = build_index(load_project_records(db, today), key=version)
    building = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=folder))
    try:
        save_index(index, building)
        built = {"changes_seen": watermark.isoformat() if watermark else None}
        (building / BUILT_FILE).write_text(json.dumps(built))
        os.rename(building, folder / version)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    _remove_stale(folder, keep=version)


def _map_version(target: Path) -> _InUse:
    built = json.loads((target / BUILT_FILE).read_text())
    seen = built.get("changes_seen")
    return _InUse(load_index(target), dt.datetime.fromisoformat(seen) if seen else None)


def _remove_stale(folder: Path, keep: str) -> None:
    """Remove the indexes (and lock files, and builds left by a crash) superseded longer than
    the grace period ago."""
    limit = time.time() - STALE_INDEX_GRACE_SECONDS
    for path in folder.iterdir():
        if path.name.startswith((keep, f".{keep}")):
            continue
        try:
            if path.stat().st_mtime >= limit:
                continue
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        except FileNotFoundError:
            continue  # another process removed it first


def _patch_standing(db: Session, in_use: _InUse, newest: dt.datetime | None) -> None:
    """Patch in the projects edited, or with a place taken or given back, since the index last
    looked (``in_use.seen``), when the newest change (``newest``, read with the editions each
    request) is later: the changed rows are read from ``STANDING_LOOKBACK`` before ``seen``.
    The same window is read once more ``STANDING_RECHECK`` later, for a change whose
    transaction committed after a newer one's, and every project every
    ``STANDING_FULL_SECONDS``."""
    now = time.monotonic()
    with _lock:
        seen, recheck, full = in_use.seen, in_use.recheck_at, now >= in_use.full_at
    advanced = newest is not None and (seen is None or newest > seen)
    if not (advanced or full or (recheck is not None and now >= recheck)):
        return
    changed = sa.select(Project.id, Project.status, Project.quota, Project.quota_used)
    if seen is not None and not full:
        since = seen - STANDING_LOOKBACK
        changed = changed.where(
            sa.or_(Project.updated_at > since, Project.places_changed_at > since)
        )
    standing = {
        pid: (status == ProjectStatus.VERIFIED, quota, quota - used)
        for pid, status, quota, used in db.execute(changed)
    }
    with _lock:
        in_use.index.update_standing(standing)
        if advanced:
            in_use.seen = newest
        in_use.recheck_at = now + STANDING_RECHECK if advanced else None
        if full:
            in_use.full_at = now + STANDING_FULL_SECONDS


def clear_cache() -> None:
    """Forget the index this process holds (the shared folders are left alone)."""
    with _lock:
        _cache.clear()


def need_record(need: Need, today: dt.date) -> NeedRecord:
    household: Household = need.household
    members = list(household.members)
    member_index = next((i for i, m in enumerate(members) if m.id == need.member_id), None)
    return NeedRecord(
        id=need.id,
        domain=need.domain.value,
        text=need.text,
        household=HouseholdRecord(
            region_code=household.region_code,
            categories=tuple(household.categories),
            income_per_head_fen=household.income_per_head_fen,
            members=tuple(
                MemberRecord(
                    relation=m.relation.value,
                    age=m.age_on(today),
                    sex=m.sex.value if m.sex else None,
                    disability_type=m.disability_type.value if m.disability_type else None,
                    disability_grade=m.disability_grade,
                    illness=m.illness,
                    illness_kind=m.illness_kind.value if m.illness_kind else None,
                    self_care=m.self_care.value,
                    school_stage=m.school_stage.value if m.school_stage else None,
                    conditions=None if m.conditions is None else tuple(m.conditions),
                    child_status=m.child_status.value if m.child_status else None,
                )
                for m in members
            ),
            gov_aid_types=tuple(a.aid_type.value for a in household.gov_aid),
            situations=tuple(household.situations),
        ),
        member_index=member_index,
        amount_gap_fen=need.remaining_gap_fen,
        urgency=need.urgency.value,
    )


def active_model(db: Session) -> WeightedModel | LearnedModel:
    """The model in use: the active learned one, or the default weights."""
    return _model(*_watch(db).model)


def _model(kind: str | None, params: Any, name: str | None) -> WeightedModel | LearnedModel:
    if kind != "logistic" or not params:
        return WeightedModel()
    return LearnedModel(coef=list(params["coef"]), intercept=float(params["intercept"]),
                        name=name or "")  # fmt: skip


@dataclass(frozen=True)
class NeedMatches:
    need: Need
    ranking: Ranking


def match_need(
    db: Session, actor: User, need_id: int, *, limit: int = 10, explain: bool = False,
    today: dt.date | None = None,
) -> NeedMatches:  # fmt: skip
    """The ranked projects for one need the actor may see, from the ledgers in effect on
    ``today`` (default: today in Guangdong). Station staff opening them have seen what the
    last re-match gained for it (:func:`mark_gains_seen`).

    :raise NotFound: the need is not visible to the actor.
    """
    require_role(actor, Role.STATION_STAFF, Role.CIVIL_AFFAIRS)
    # Audited as a read of the household's need; its members and aid come with it.
    need = get_need(db, actor, need_id, with_profile=True)
    mark_gains_seen(db, actor, need)
    today = today or clock.today()
    index, model = _serving(db, today)
    ranking = rank(index, need_record(need, today), today, limit=limit, explain=explain,
                   model=model)  # fmt: skip
    return NeedMatches(need, ranking)


def outcome_matrix(db: Session, today: dt.date) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels of every answered referral (accepted/completed = 1, declined = 0)."""
    index = project_index(db, today)
    position = index.positions()
    referrals = db.scalars(
        sa.select(Referral)
        .where(Referral.status.in_((*ACCEPTED_BY_CHARITY_STATES, ReferralStatus.DECLINED)))
        .order_by(Referral.id)
    ).all()
    by_need: dict[int, list[Referral]] = {}
    for referral in referrals:
        if referral.project_id in position:
            by_need.setdefault(referral.need_id, []).append(referral)
    needs = db.scalars(
        sa.select(Need)
        .where(Need.id.in_(by_need))
        .options(selectinload(Need.household).selectinload(Household.members))
        .options(selectinload(Need.household).selectinload(Household.gov_aid))
    )
    rows: list[np.ndarray] = []
    labels: list[int] = []
    for need in needs:
        # The need's side (rules, text) once, then one feature row per referral of it.
        record = need_record(need, today)
        locality = check(index, record, today).locality
        text = index.text_similarity(record)
        answered = by_need[need.id]
        at = np.array([position[r.project_id] for r in answered])
        rows.extend(features(index, record, at, locality, text, today))
        labels.extend(1 if r.status in ACCEPTED_BY_CHARITY_STATES else 0 for r in answered)
    return np.array(rows).reshape(-1, len(FEATURES)), np.array(labels)


def train_matcher(
    db: Session,
    actor: User | None,
    today: dt.date | None = None,
    benchmarks: Sequence[Benchmark] | None = None,
) -> TrainingResult:
    """Fit a model on referral outcomes and promote it only if it predicts acceptance better
    than the active one and ranks every case file (``benchmarks``, default every shipped one
    in ``seed/eval``) no more than ``NDCG_TOLERANCE`` worse. The candidate is stored either
    way, with both measures and, when refused, why.
    """
    today = today or clock.today()
    matrix, labels = outcome_matrix(db, today)
    now = utcnow()
    number = (db.scalar(sa.select(sa.func.count(ModelVersion.id))) or 0) + 1
    if benchmarks is None:
        # Read (once per process) only when there is something to judge.
        benchmarks = load_benchmarks() if enough_outcomes(labels) else []
    result = train_and_compare(
        matrix, labels, active_model(db), name=learned_model_name(number, now),
        benchmarks=benchmarks,
    )  # fmt: skip
    if result.model is not None:
        metrics = {**result.model.metrics, **training_figures(result)}
        version = ModelVersion(
            name=result.model.name, kind="logistic", created_at=now, is_active=result.promoted,
            feature_names=list(FEATURES),
            params={"coef": result.model.coef, "intercept": result.model.intercept},
            metrics=metrics,
        )  # fmt: skip
        if result.promoted:
            db.execute(sa.update(ModelVersion).values(is_active=False))
        db.add(version)
        db.flush()
        write_audit(db, actor, "matcher.train", version, actor_name=None if actor else "system",
                    detail={"promoted": result.promoted, **metrics})  # fmt: skip
    return result


def training_figures(result: TrainingResult) -> dict[str, Any]:
    """What a training run measured, as plain data for the model version and the job run:
    the acceptance measure and NDCG@5 per case file, candidate against active, and the
    reasons it was not promoted."""
    return {
        "auc": {"candidate": _round(result.candidate_auc), "active": _round(result.active_auc)},
        "ndcg@5": {
            c.case_file: {"candidate": c.candidate, "active": c.active} for c in result.case_files
        },
        "promoted": result.promoted,
        "refusals": [str(r) for r in result.refusals],
        # The same with their templates and figures, so a page says them in its language.
        "refusal_reasons": [reason_record(r) for r in result.refusals],
        "not_fitted": reason_record(result.not_fitted) if result.not_fitted else None,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
