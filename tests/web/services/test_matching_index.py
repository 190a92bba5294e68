"""One project index per machine: built once into the index folder, mapped by every process."""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from matcher import Match, ProjectIndex, build_index, rank
from matcher.index_store import MappedVectorizer
from models import LedgerEdition, Need, Project, User, utcnow
from models.enums import ProjectStatus
from models.session import make_session_factory
from tests.conftest import copy_demo, side_database_url
from tests.helpers import get_user
from web.services import matching
from web.services.crypto import PersonalDataCipher
from web.services.ledgers import build_edition
from web.services.matching import (
    BUILT_FILE,
    INDEX_DIR_INFO,
    STALE_INDEX_GRACE_SECONDS,
    clear_cache,
    load_project_records,
    match_need,
    need_record,
    project_index,
)

from .test_matching import NOW, TODAY, dialysis_need, publish_all


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    clear_cache()


@pytest.fixture
def folder(db: Session, tmp_path: Path) -> Path:
    db.info[INDEX_DIR_INFO] = str(tmp_path)
    return tmp_path


def versions(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def first_matches(db: Session, folder: Path) -> tuple[Need, User, list[Match], ProjectIndex, str]:
    """The ledgers published and the dialysis need matched once by its station: the need, the
    station's user, the matches, the index they came from and its version in the folder."""
    publish_all(db)
    need = dialysis_need(db)
    station = get_user(db, "station_a")
    first = match_need(db, station, need.id, today=TODAY).ranking.items
    [version] = versions(folder)
    return need, station, first, project_index(db, TODAY), version


def test_the_first_process_builds_the_index_into_the_folder_and_the_next_maps_it(
    db: Session, folder: Path
) -> None:
    publish_all(db)
    first = project_index(db, TODAY)
    [version] = versions(folder)
    assert first.key == version
    assert isinstance(first.vectorizer, MappedVectorizer)  # the builder maps it too
    built_at = (folder / version / BUILT_FILE).stat().st_mtime_ns

    clear_cache()  # as a second worker would start
    second = project_index(db, TODAY)
    assert second is not first
    assert second.key == version
    assert (folder / version / BUILT_FILE).stat().st_mtime_ns == built_at  # not rebuilt
    assert versions(folder) == [version]


def test_a_mapped_index_ranks_as_one_built_in_the_process(db: Session, folder: Path) -> None:
    publish_all(db)
    need = dialysis_need(db)
    record = need_record(need, TODAY)
    in_memory = build_index(load_project_records(db, TODAY))
    expected = rank(in_memory, record, TODAY, limit=50, explain=True)
    assert rank(project_index(db, TODAY), record, TODAY, limit=50, explain=True) == expected


def test_a_place_taken_shows_in_the_next_match_without_a_rebuild_or_a_write_to_the_folder(
    db: Session, folder: Path
) -> None:
    need, station, first, index, version = first_matches(db, folder)
    stored = (folder / version / "quota_left.npy").read_bytes()
    top = db.get_one(Project, first[0].project.id)
    db.execute(  # as taking the last place does: the project itself is not edited
        sa.update(Project)
        .where(Project.id == top.id)
        .values(quota_used=Project.quota, places_changed_at=utcnow(),
                updated_at=Project.updated_at)
    )  # fmt: skip
    result = match_need(db, station, need.id, today=TODAY, explain=True)
    assert project_index(db, TODAY) is index  # patched, not rebuilt
    assert top.id not in [m.project.id for m in result.ranking.items]
    assert any(e.project.id == top.id and "名额" in e.reason for e in result.ranking.excluded)
    assert (folder / version / "quota_left.npy").read_bytes() == stored
    assert versions(folder) == [version]

    clear_cache()  # a worker mapping the index later patches the same change in
    later = match_need(db, station, need.id, today=TODAY)
    assert top.id not in [m.project.id for m in later.ranking.items]


def test_a_withdrawn_or_refilled_project_and_an_edit_for_review_need_no_rebuild(
    db: Session, folder: Path
) -> None:
    need, station, first, index, version = first_matches(db, folder)
    top = db.get_one(Project, first[0].project.id)

    top.pending_changes = {"description": "新的项目介绍"}  # waits for review: nothing to match
    db.flush()
    assert project_index(db, TODAY) is index

    top.status = ProjectStatus.WITHDRAWN
    db.flush()
    gone = match_need(db, station, need.id, today=TODAY, explain=True).ranking
    assert project_index(db, TODAY) is index
    assert top.id not in [m.project.id for m in gone.items]
    assert top.id not in [e.project.id for e in gone.excluded]  # as if never published
    assert gone.excluded_count == len(gone.excluded)

    top.status = ProjectStatus.VERIFIED
    top.quota_used = top.quota
    db.flush()
    full = match_need(db, station, need.id, today=TODAY, explain=True).ranking
    assert any(e.project.id == top.id and "名额" in e.reason for e in full.excluded)

    top.quota += 10  # the charity adds places
    db.flush()
    back = match_need(db, station, need.id, today=TODAY).ranking
    assert [m.project.id for m in back.items] == [m.project.id for m in first]
    assert project_index(db, TODAY) is index
    assert versions(folder) == [version]

    top.status = ProjectStatus.WITHDRAWN
    db.flush()
    clear_cache()  # a worker mapping the index later patches the same changes in
    assert top.id not in [m.project.id for m in match_need(db, station, need.id,
                                                            today=TODAY).ranking.items]  # fmt: skip
    assert versions(folder) == [version]


def test_a_change_committed_after_a_newer_one_is_read_at_the_recheck(
    db: Session, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_all(db)
    need = dialysis_need(db)
    station = get_user(db, "station_a")
    first, second = match_need(db, station, need.id, today=TODAY).ranking.items[:2]
    seen_at = utcnow()
    db.execute(sa.update(Project).where(Project.id == first.project.id)
               .values(quota_used=Project.quota, places_changed_at=seen_at,
                       updated_at=Project.updated_at))  # fmt: skip
    assert first.project.id not in ids(match_need(db, station, need.id, today=TODAY))
    # Another approval's place, stamped a moment earlier, whose transaction commits only now.
    db.execute(sa.update(Project).where(Project.id == second.project.id)
               .values(quota_used=Project.quota,
                       places_changed_at=seen_at - dt.timedelta(seconds=2),
                       updated_at=Project.updated_at))  # fmt: skip
    assert second.project.id in ids(match_need(db, station, need.id, today=TODAY))
    later = time.monotonic() + matching.STANDING_RECHECK + 1
    monkeypatch.setattr(matching.time, "monotonic", lambda: later)
    assert second.project.id not in ids(match_need(db, station, need.id, today=TODAY))


def ids(matches: matching.NeedMatches) -> list[int | str]:
    return [m.project.id for m in matches.ranking.items]


def test_a_new_edition_makes_a_new_version_and_old_ones_go_after_the_grace_period(
    db: Session, folder: Path
) -> None:
    admin = get_user(db, "admin")
    build_edition(db, admin, "440000000000", "2026H2", NOW)
    project_index(db, TODAY)
    [old] = versions(folder)
    long_ago = NOW.timestamp() - 2 * STALE_INDEX_GRACE_SECONDS
    os.utime(folder / old, (long_ago, long_ago))

    build_edition(db, admin, "440100000000", "2026H2", NOW)
    index = project_index(db, TODAY)
    assert versions(folder) == [index.key]
    assert index.key != old


def test_while_another_process_builds_the_new_version_the_old_index_is_served(
    db: Session, folder: Path
) -> None:
    admin = get_user(db, "admin")
    build_edition(db, admin, "440000000000", "2026H2", NOW)
    old = project_index(db, TODAY)
    build_edition(db, admin, "440100000000", "2026H2", NOW)
    from web.services.matching import _cache_key, index_version

    coming = index_version(_cache_key(db, TODAY))
    with open(folder / f"{coming}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process is building it
        assert project_index(db, TODAY) is old
        fcntl.flock(lock, fcntl.LOCK_UN)
    assert project_index(db, TODAY).key == coming


def test_a_database_loaded_again_does_not_map_the_index_of_the_one_before(
    db: Session, folder: Path
) -> None:
    publish_all(db)
    before = project_index(db, TODAY).key
    # The same editions, by id, published again: as a database emptied and loaded anew.
    for edition in db.scalars(sa.select(LedgerEdition)):
        edition.published_at += dt.timedelta(minutes=30)
    db.flush()
    clear_cache()  # a process started on the new database
    assert project_index(db, TODAY).key != before
    assert len(versions(folder)) == 2


def test_without_a_usable_folder_the_process_builds_its_own(db: Session, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    db.info[INDEX_DIR_INFO] = str(blocker / "index")  # cannot be a folder
    publish_all(db)
    index = project_index(db, TODAY)
    assert len(index) > 0
    assert not isinstance(index.vectorizer, MappedVectorizer)


def test_a_charitys_acceptance_is_read_again_between_editions(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_all(db)
    index = project_index(db, TODAY)
    charity = index.organizations[0].item()
    theirs = index.organizations == charity
    before = index.acceptance[theirs].copy()
    # Referrals to the charity answered since: it now accepts one in ten.
    monkeypatch.setattr(matching, "acceptance_rates", lambda _db: {charity: 0.1})
    assert project_index(db, TODAY) is index
    assert (index.acceptance[theirs] == before).all()  # read again every quarter of an hour
    later = time.monotonic() + matching.ACCEPTANCE_REFRESH_SECONDS + 1
    monkeypatch.setattr(matching.time, "monotonic", lambda: later)
    assert project_index(db, TODAY) is index  # no rebuild for it either
    assert (index.acceptance[theirs] == 0.1).all()
    assert (index.acceptance[~theirs] == 0.7).all()  # no rate for the others: the default


def test_a_change_stamped_long_before_it_commits_is_read_at_the_next_full_read(
    db: Session, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need, station, first, index, _version = first_matches(db, folder)
    top = first[0].project.id
    # A job that took a place ten minutes before the newest change the index has read
    # commits only now (it commits at its end). Stamped from that change, not from the clock:
    # in a long suite run the demo's own changes are themselves more than ten minutes old.
    newest = max(
        stamp
        for stamp in db.execute(
            sa.select(sa.func.max(Project.updated_at), sa.func.max(Project.places_changed_at))
        ).one()
        if stamp is not None
    )
    db.execute(sa.update(Project).where(Project.id == top)
               .values(quota_used=Project.quota,
                       places_changed_at=newest - dt.timedelta(minutes=10),
                       updated_at=Project.updated_at))  # fmt: skip
    assert top in ids(match_need(db, station, need.id, today=TODAY))
    later = time.monotonic() + matching.STANDING_FULL_SECONDS + 1
    monkeypatch.setattr(matching.time, "monotonic", lambda: later)
    assert top not in ids(match_need(db, station, need.id, today=TODAY))
    assert project_index(db, TODAY) is index


def test_two_databases_sharing_a_folder_and_a_process_each_get_their_own_index(
    database_url: str, engine: sa.Engine, cipher: PersonalDataCipher, tmp_path: Path
) -> None:
    """Two copies of the demo publish editions of the same ids, one without a project: each
    is matched against its own ledgers, whichever built first into the folder they share."""
    factories = []
    for name in ("twin_a", "twin_b"):
        copy = copy_demo(engine, side_database_url(database_url, tmp_path, name))
        factories.append(make_session_factory(copy, cipher=cipher))
    dropped = "从化区慈善医疗救助"
    indexes = []
    for n, factory in enumerate(factories):
        with factory() as db:
            db.info[INDEX_DIR_INFO] = str(tmp_path / "index")
            if n == 0:
                db.execute(sa.update(Project).where(Project.name == dropped)
                           .values(status=ProjectStatus.DRAFT))  # fmt: skip
            publish_all(db)
            db.commit()
            indexes.append(project_index(db, TODAY))
    names = [{p.name for p in index.projects} for index in indexes]
    assert (dropped in names[0], dropped in names[1]) == (False, True)
    for factory in factories:
        factory.kw["bind"].dispose()
