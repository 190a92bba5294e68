"""Referral steps racing each other in real threads, each with its own connection and commit;
and two requests with one API token at once.

On PostgreSQL the steps truly overlap (row locks and the version check decide); on SQLite
they queue for the one write lock, and must come out just as consistent.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from models import ApiToken, Household, Need, Project, Referral, User, utcnow
from models.enums import Domain, NeedStatus, ReferralStatus
from models.session import make_session_factory
from tests.conftest import copy_demo, side_database_url
from web.services.audit import write_audit
from web.services.crypto import PersonalDataCipher
from web.services.errors import ServiceError
from web.services.referrals.workflow import (
    accept_referral,
    approve_referral,
    cancel_referral,
    submit_referral,
)
from web.services.users import issue_token, load_token_user

PROJECT = "从化区慈善医疗救助"


@pytest.fixture(scope="module")
def race_factory(
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    cipher: PersonalDataCipher,
    engine: Engine,
) -> Iterator[sessionmaker[Session]]:
    url = side_database_url(database_url, tmp_path_factory.mktemp("race"), "race")
    copy = copy_demo(engine, url)
    yield make_session_factory(copy, cipher=cipher)
    copy.dispose()


def user_id(db: Session, username: str) -> int:
    return db.scalar(sa.select(User.id).where(User.username == username))


def submitted_referrals(db: Session, count: int, places_left: int) -> tuple[int, list[int]]:
    """``count`` submitted referrals of distinct needs of one household to a project with
    ``places_left`` places; committed. Returns the project id and the referral ids."""
    project = db.scalar(sa.select(Project).where(Project.name == PROJECT))
    assert project is not None
    project.quota_used = project.quota - places_left
    project.reserved_fen = 0
    household = db.scalar(sa.select(Household).where(Household.head_name == "钟伟明"))
    assert household is not None
    ids = []
    for i in range(count):
        need = Need(
            household_id=household.id, domain=Domain.MEDICAL, text=f"住院费用缺口 第{i + 1}项",
            amount_gap_fen=100_000, status=NeedStatus.REFERRED,
        )  # fmt: skip
        db.add(need)
        db.flush()
        referral = Referral(
            need_id=need.id, project_id=project.id, status=ReferralStatus.SUBMITTED,
            submitted_at=utcnow(),
        )  # fmt: skip
        db.add(referral)
        db.flush()
        ids.append(referral.id)
    db.commit()
    return project.id, ids


def race(factory: sessionmaker[Session], steps: list[Callable[[Session], object]]) -> list[str]:
    """Run each step in its own thread and session, all released at once; each outcome is
    ``ok`` or the refusal's code."""
    barrier = threading.Barrier(len(steps))
    outcomes: list[str] = [""] * len(steps)

    def run(i: int) -> None:
        with factory() as db:
            barrier.wait()
            try:
                steps[i](db)
                db.commit()
                outcomes[i] = "ok"
            except ServiceError as error:
                db.rollback()
                outcomes[i] = error.code
            except Exception as error:  # noqa: BLE001 - reported in the assertion
                db.rollback()
                outcomes[i] = f"error: {error!r}"

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(steps))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


def test_twenty_approvals_for_five_places_approve_exactly_five(
    race_factory: sessionmaker[Session],
) -> None:
    with race_factory() as db:
        project_id, ids = submitted_referrals(db, 20, places_left=5)
        office = user_id(db, "ca_conghua")

    def approve(rid: int) -> Callable[[Session], object]:
        return lambda db: approve_referral(db, db.get(User, office), rid, version=1)

    outcomes = race(race_factory, [approve(rid) for rid in ids])

    assert Counter(outcomes) == {"ok": 5, "quota_exhausted": 15}, outcomes
    with race_factory() as db:
        project = db.get(Project, project_id)
        statuses = Counter(db.scalars(sa.select(Referral.status).where(Referral.id.in_(ids))).all())
        reserved = db.scalar(
            sa.select(sa.func.sum(Referral.reserved_amount_fen)).where(Referral.id.in_(ids))
        )
        assert project.quota_used == project.quota  # 5 taken, none lost
        assert statuses == {ReferralStatus.APPROVED: 5, ReferralStatus.SUBMITTED: 15}
        assert project.reserved_fen == reserved


def accept_against_cancel(factory: sessionmaker[Session]) -> ReferralStatus:
    """One approved referral; the charity accepts while the station cancels."""
    with factory() as db:
        project_id, (rid,) = submitted_referrals(db, 1, places_left=1)
        office, station, charity = (
            db.get(User, user_id(db, n)) for n in ("ca_conghua", "station_a", "charity_f")
        )
        approve_referral(db, office, rid, version=1)
        db.commit()
        version = db.get(Referral, rid).version
        need_id = db.get(Referral, rid).need_id

    outcomes = race(
        factory,
        [
            lambda db: accept_referral(db, db.get(User, charity.id), rid, version=version),
            lambda db: cancel_referral(
                db, db.get(User, station.id), rid, "家属已自行筹到费用", version=version
            ),
        ],
    )

    assert sorted(outcomes) == ["ok", "stale_version"], outcomes
    with factory() as db:
        referral = db.get(Referral, rid)
        project = db.get(Project, project_id)
        need = db.get(Need, need_id)
        if outcomes[0] == "ok":  # the charity won
            assert referral.status == ReferralStatus.ACCEPTED
            assert need.status == NeedStatus.REFERRED
            assert project.quota_used == project.quota
        else:
            assert referral.status == ReferralStatus.CANCELLED
            assert need.status == NeedStatus.OPEN
            assert project.quota_used == project.quota - 1
        assert [e.to_status for e in referral.events][0] == "approved"
        assert len(referral.events) == 2  # approved, then the one winner
        return referral.status


def test_a_charity_accepting_while_the_station_cancels_lets_one_win(
    race_factory: sessionmaker[Session],
) -> None:
    # The interleaving differs from run to run; every run must leave one consistent winner.
    winners = Counter(accept_against_cancel(race_factory) for _ in range(6))
    assert sum(winners.values()) == 6
    assert set(winners) <= {ReferralStatus.ACCEPTED, ReferralStatus.CANCELLED}


def test_a_stale_submit_after_a_concurrent_one_is_refused(
    race_factory: sessionmaker[Session],
) -> None:
    with race_factory() as db:
        _project_id, (rid,) = submitted_referrals(db, 1, places_left=1)
        referral = db.get(Referral, rid)
        referral.status = ReferralStatus.DRAFT
        db.commit()
        version = referral.version
        station = user_id(db, "station_a")

    def submit(db: Session) -> object:
        return submit_referral(db, db.get(User, station), rid, version=version)

    outcomes = race(race_factory, [submit, submit])
    assert sorted(outcomes) in (["conflict", "ok"], ["ok", "stale_version"]), outcomes


def test_a_request_stamping_its_token_does_not_hold_back_the_next_with_the_same_token(
    race_factory: sessionmaker[Session],
) -> None:
    """The first request in five minutes with a token stamps its last use, committed at once:
    kept if the request then fails, and, on PostgreSQL, not a row lock that another request
    with the same token waits behind (SQLite runs one transaction at a time anyway)."""
    with race_factory() as db:
        station = db.get(User, user_id(db, "station_a"))
        token, record = issue_token(db, station, utcnow(), dt.timedelta(hours=1))
        db.commit()
        token_id = record.id
    later = utcnow() + dt.timedelta(minutes=10)  # the token's last use is due a new stamp

    first = race_factory()  # a request that stamps the token, then goes on working
    assert load_token_user(first, token, later) is not None
    first.scalar(sa.select(sa.func.count(Need.id)))
    if first.get_bind().dialect.name == "postgresql":
        done = threading.Event()

        def second_request() -> None:
            with race_factory() as db:
                user = load_token_user(db, token, later + dt.timedelta(seconds=1))
                write_audit(db, user, "household.list")
                db.commit()
                done.set()

        thread = threading.Thread(target=second_request)
        thread.start()
        try:
            assert done.wait(10), "the second request waited for the first to end"
        finally:
            first.rollback()
            thread.join(60)
    first.rollback()  # the first request fails after all
    first.close()
    with race_factory() as db:
        assert db.get(ApiToken, token_id).last_used_at == later  # stamped once, and kept


def test_a_request_that_read_the_token_before_another_stamped_it_does_not_stamp_it_again(
    race_factory: sessionmaker[Session],
) -> None:
    with race_factory() as db:
        station = db.get(User, user_id(db, "station_a"))
        token, record = issue_token(db, station, utcnow(), dt.timedelta(hours=1))
        db.commit()
        token_id = record.id
    later = utcnow() + dt.timedelta(minutes=10)

    second = race_factory()
    held = second.get(ApiToken, token_id)  # read while the token was due a stamp
    assert held is not None and held.last_used_at is None
    second.commit()
    with race_factory() as first:
        assert load_token_user(first, token, later) is not None  # stamps and commits
    assert load_token_user(second, token, later + dt.timedelta(seconds=1)) is not None
    assert held.last_used_at == later  # and knows it
    second.close()
    with race_factory() as db:
        assert db.get(ApiToken, token_id).last_used_at == later
