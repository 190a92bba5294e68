"""The referral workflow under random sequences of steps, checked against a model of its rules.

Hypothesis drives the services (``web/services/referrals/workflow.py`` and the household's
consent) on the demo data of 从化区: three needs of two 温泉镇 households, three projects of
从化区荔乡慈善会 with few places (and sometimes little money) left. The parties are the
station (station_a), the county office (ca_conghua) and the charity (charity_f); each step is
sometimes taken by someone else (another station, county or charity, or the administrator),
sometimes with a stale version, a missing reason, or after the clock has moved past a deadline.

Each step runs as a request does: its own session, committed when it succeeds, rolled back
when the service refuses it. The model says beforehand whether the step is allowed and, if
not, which refusal the user sees; after every step the database must show:

* each project's places used are the places it had used plus its referrals that hold or have
  used a place, within ``0..quota``, and the money held matches the referrals too;
* every referral is in the model's state, and its timeline is a chain of the workflow's
  transitions ending in that state;
* no need has two open referrals to one project; each need's status follows its referrals;
* a refused step left nothing behind (no service commits half a step).

Every example runs in a savepoint of the test's transaction that is rolled back when the
example ends (Hypothesis reuses the function-scoped connection across examples), so examples
start from the same demo and leave nothing behind. The examples are derandomized so CI sees
the same ones on every run; ``REFERRAL_EXAMPLES`` widens the search locally.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker

from models import Need, Project, Referral, ReferralEvent, User
from models.enums import DeclineReason, Domain, NeedStatus, ReferralStatus, Role
from tests.helpers import need_of, project_named
from web.services import households
from web.services.errors import ServiceError
from web.services.referrals import workflow

S = ReferralStatus

EXAMPLES = int(os.environ.get("REFERRAL_EXAMPLES", "40"))

START = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
NEEDS = (("钟伟明", Domain.MEDICAL), ("钟伟明", Domain.EDUCATION), ("冯建华", Domain.EMERGENCY))
PROJECTS = (
    "从化区慈善医疗救助",
    "从化区急难救助“一事一议”",
    "安居工程·困难老人住房修缮与适老化改造",
)
STATION_SIDE = ("station_a", "ca_conghua")
OFFICE = ("ca_conghua",)
CHARITY = ("charity_f",)
#: Users who may not touch these referrals: another station, another county, another charity
#: of the same county, and the administrator (not a party to the workflow).
OUTSIDERS = ("station_b", "ca_ruyuan", "charity_g", "admin")
EVERYONE = STATION_SIDE + CHARITY + OUTSIDERS

#: The workflow (DESIGN §6). An accepted or in-service referral is cancelled only when the
#: household withdraws its consent.
TRANSITIONS: dict[ReferralStatus | None, set[ReferralStatus]] = {
    None: {S.DRAFT},
    S.DRAFT: {S.SUBMITTED, S.CANCELLED},
    S.RETURNED: {S.SUBMITTED, S.CANCELLED},
    S.SUBMITTED: {S.APPROVED, S.RETURNED, S.CANCELLED},
    S.APPROVED: {S.ACCEPTED, S.DECLINED, S.EXPIRED, S.CANCELLED},
    S.ACCEPTED: {S.IN_SERVICE, S.CANCELLED},
    S.IN_SERVICE: {S.COMPLETED, S.CANCELLED},
}
OPEN = (S.DRAFT, S.SUBMITTED, S.RETURNED, S.APPROVED, S.ACCEPTED, S.IN_SERVICE)
HOLDING = (S.APPROVED, S.ACCEPTED, S.IN_SERVICE)
#: A completed referral keeps the place it used: the help was given.
PLACE_TAKEN = (*HOLDING, S.COMPLETED)


@dataclass(frozen=True)
class World:
    """The demo rows the machine works on, read once per test."""

    users: dict[str, int]
    roles: dict[str, Role]
    need_household: dict[int, int]
    need_gap: dict[int, int | None]
    quota: dict[int, int]
    amount: dict[int, int | None]
    ends_on: dict[int, dt.date]
    response_days: dict[int, int]


def read_world(db: Session) -> World:
    users = {u.username: u for u in db.scalars(sa.select(User).where(User.username.in_(EVERYONE)))}
    needs = [need_of(db, head, domain) for head, domain in NEEDS]
    projects = [project_named(db, name) for name in PROJECTS]
    assert len(users) == len(EVERYONE)
    return World(
        users={name: u.id for name, u in users.items()},
        roles={name: u.role for name, u in users.items()},
        need_household={n.id: n.household_id for n in needs},
        need_gap={n.id: n.amount_gap_fen for n in needs},
        quota={p.id: p.quota for p in projects},
        amount={p.id: p.amount_per_beneficiary_fen for p in projects},
        ends_on={p.id: p.ends_on for p in projects},
        response_days={p.id: p.response_days for p in projects},
    )


@dataclass
class Expected:
    """A referral as the model expects it."""

    need: int
    project: int
    status: ReferralStatus = S.DRAFT
    history: list[tuple[str | None, str]] = field(default_factory=lambda: [(None, "draft")])
    reached_charity: bool = False  # approved once: the charity sees it from then on
    due_at: dt.datetime | None = None
    reserved_fen: int | None = None
    #: Who created or submitted it: none of them may approve it (the county allows no other).
    initiators: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Options:
    """What a user fills in with a step (ignored by the steps that ask for none of it)."""

    is_stale: bool = False  # sent with the version before the last change
    acknowledged: bool = True  # 已知悉 another charity already helps
    reason: str = "家庭情况已变化，另行安排"
    decline_reason: DeclineReason = DeclineReason.NO_CAPACITY
    note: str | None = "本期名额已安排完毕"
    delivered_fen: int | None = None
    service: str | None = "上门探访四次，协助办理医保报销"


#: What a party fills in on the page: complete and current.
proper = st.builds(
    Options,
    acknowledged=st.booleans(),
    decline_reason=st.sampled_from(list(DeclineReason)),
    delivered_fen=st.none() | st.integers(0, 3_000_000),
)
#: Anything at all: stale versions, blank reasons, a decline as 其他 without a word.
anything = st.builds(
    Options,
    is_stale=st.booleans(),
    acknowledged=st.booleans(),
    reason=st.sampled_from(["家庭情况已变化，另行安排", "", "  "]),
    decline_reason=st.sampled_from(list(DeclineReason)),
    note=st.none() | st.just("本期名额已安排完毕"),
    delivered_fen=st.none() | st.integers(0, 3_000_000),
    service=st.none() | st.just("上门探访四次，协助办理医保报销"),
)

#: The buttons the parties see in each state, the one that moves the help along first.
NEXT_STEPS: dict[ReferralStatus, tuple[tuple[str, str], ...]] = {
    S.DRAFT: (("station_a", "submit"), ("ca_conghua", "submit"), ("station_a", "cancel")),
    S.RETURNED: (("station_a", "submit"), ("station_a", "cancel")),
    S.SUBMITTED: (("ca_conghua", "approve"), ("ca_conghua", "send_back"),
                  ("station_a", "cancel")),
    S.APPROVED: (("charity_f", "accept"), ("charity_f", "decline"), ("station_a", "cancel")),
    S.ACCEPTED: (("charity_f", "start_service"),),
    S.IN_SERVICE: (("charity_f", "complete"),),
}  # fmt: skip
#: Every step anyone may try; the household's consent is recorded by its station.
STEPS = ("submit", "approve", "send_back", "accept", "decline", "start_service", "complete",
         "cancel", "withdraw_consent", "give_consent")  # fmt: skip


class ReferralWorkflow(RuleBasedStateMachine):
    referrals = Bundle("referrals")

    def __init__(self, connection: Connection, factory: sessionmaker[Session], world: World):
        super().__init__()
        self.example = connection.begin_nested()
        self.factory = factory
        self.world = world
        self.clock = START
        self.cases: dict[int, Expected] = {}
        self.baseline: dict[int, int] = {}  # places used before the first step
        self.used: dict[int, int] = {}
        self.budget: dict[int, int | None] = {}
        self.reserved: dict[int, int] = {}
        self.consent = dict.fromkeys(world.need_household.values(), True)
        self.fulfilled: set[int] = set()
        self.partial: set[int] = set()  # part of the gap delivered, the rest still open
        self.delivered: dict[int, int] = {}  # money delivered to each need so far
        self.versions: dict[int, int] = {}
        self.before: object = None
        self.refused = False

    def teardown(self) -> None:
        self.example.rollback()

    # --- running a step, and what the model expects of it ---------------------------------

    def attempt(self, step: Callable[[Session, User], Any], actor: str) -> tuple[str, Any]:
        """Run ``step`` as a request does: ``("ok", result)`` committed, or the refusal's
        code with everything rolled back."""
        with self.factory() as db:
            try:
                result = step(db, db.get(User, self.world.users[actor]))
            except ServiceError as error:
                db.rollback()
                self.refused = True
                return error.code, None
            db.commit()
            self.refused = False
            return "ok", result

    def check(self, what: str, got: str, expected: str) -> None:
        assert got == expected, f"{what}: the service said {got!r}, the rules say {expected!r}"

    def version(self, referral_id: int, is_stale: bool) -> int:
        return self.versions[referral_id] - (1 if is_stale else 0)

    def refusal_to_open(
        self, actor: str, case: Expected, roles: tuple[str, ...], is_stale: bool
    ) -> str | None:
        """Who may take a step on a referral, and on which version (checked first)."""
        if self.world.roles[actor] not in {self.world.roles[r] for r in roles}:
            return "forbidden"
        household = self.world.need_household[case.need]
        if actor in CHARITY:
            sees = case.reached_charity and self.consent[household]
        else:
            sees = actor in roles
        if not sees:
            return "not_found"
        return "stale_version" if is_stale else None

    def move(self, referral_id: int, to: ReferralStatus) -> None:
        case = self.cases[referral_id]
        case.history.append((case.status.value, to.value))
        case.status = to

    def may_refer(self, need_id: int) -> bool:
        """The need is not yet met and its household consents to being referred."""
        return need_id not in self.fulfilled and self.consent[self.world.need_household[need_id]]

    def amount_to_hold(self, case: Expected) -> int:
        """A place holds the project's amount per beneficiary, or the need's gap if smaller."""
        gap = self.world.need_gap[case.need]
        left = gap - self.delivered.get(case.need, 0) if gap is not None else None
        amounts = (self.world.amount[case.project], left)
        return min((a for a in amounts if a), default=0)

    def take_place(self, case: Expected) -> None:
        case.reserved_fen = self.amount_to_hold(case)
        self.used[case.project] += 1
        self.reserved[case.project] += case.reserved_fen

    def give_place_back(self, case: Expected) -> None:
        self.used[case.project] -= 1
        self.reserved[case.project] = max(0, self.reserved[case.project] - (case.reserved_fen or 0))
        case.reserved_fen = None

    def places_left(self, case: Expected) -> bool:
        project, budget = case.project, self.budget[case.project]
        return self.used[project] < self.world.quota[project] and (
            budget is None or self.reserved[project] + self.amount_to_hold(case) <= budget
        )

    # --- the steps ---------------------------------------------------------------------------

    @initialize(
        places_left=st.lists(st.sampled_from([1, 2, 0, 3]), min_size=3, max_size=3),
        budgets=st.lists(st.sampled_from([None, None, 3, 1]), min_size=3, max_size=3),
    )
    def few_places_left(self, places_left: list[int], budgets: list[int | None]) -> None:
        """Each project has a few places left, and sometimes money for a few beneficiaries."""
        with self.factory() as db:
            for project_id, left, budget in zip(
                self.world.quota, places_left, budgets, strict=True
            ):
                project = db.get(Project, project_id)
                project.quota_used = project.quota - left
                project.reserved_fen = 0
                amount = project.amount_per_beneficiary_fen or 0
                project.budget_fen = None if budget is None else budget * amount
                self.baseline[project_id] = self.used[project_id] = project.quota_used
                self.budget[project_id] = project.budget_fen
                self.reserved[project_id] = 0
            db.commit()

    @precondition(lambda self: sum(c.status in OPEN for c in self.cases.values()) < 3)
    @rule(
        target=referrals,
        actor=st.sampled_from(STATION_SIDE) | st.sampled_from(EVERYONE),
        need=st.sampled_from(range(len(NEEDS))),
        project=st.sampled_from(range(len(PROJECTS))),
    )
    def someone_starts_a_referral(self, actor: str, need: int, project: int) -> Any:
        need_id = list(self.world.need_household)[need]
        project_id = list(self.world.quota)[project]
        already = any(
            c.need == need_id and c.project == project_id and c.status in OPEN
            for c in self.cases.values()
        )
        expected = "ok"
        if self.world.roles[actor] not in (Role.STATION_STAFF, Role.CIVIL_AFFAIRS):
            expected = "forbidden"
        elif actor not in STATION_SIDE:
            expected = "not_found"
        elif already or not self.may_refer(need_id):
            expected = "conflict"
        got, referral = self.attempt(
            lambda db, user: workflow.start_referral(db, user, need_id, project_id, score=0.8),
            actor,
        )
        self.check(f"{actor} starts a referral", got, expected)
        if got != "ok":
            return multiple()
        self.cases[referral.id] = Expected(need_id, project_id, initiators={actor})
        return referral.id

    @precondition(lambda self: any(c.status in OPEN for c in self.cases.values()))
    @rule(which=st.integers(0, 5), picks=st.lists(st.integers(0, 3), min_size=1, max_size=5),
          options=proper)  # fmt: skip
    def parties_take_their_next_steps(self, which: int, picks: list[int], options: Options) -> None:
        """On one open referral (the oldest, most often), the party whose turn it is presses
        one of the buttons it sees, a few times over."""
        alive = [rid for rid, case in self.cases.items() if case.status in OPEN]
        referral = alive[which % len(alive)]
        for i, pick in enumerate(picks):
            offered = NEXT_STEPS.get(self.cases[referral].status)
            if not offered:
                break
            if i:
                self.the_database_agrees_with_the_rules()
            actor, step = offered[pick % len(offered)]
            getattr(self, step)(referral, actor, options)

    @rule(referral=referrals, step=st.sampled_from(STEPS), actor=st.sampled_from(EVERYONE),
          options=anything)  # fmt: skip
    def anyone_tries_any_step(self, referral: int, step: str, actor: str, options: Options) -> None:
        getattr(self, step)(referral, actor, options)

    def submit(self, referral: int, actor: str, o: Options) -> None:
        case = self.cases[referral]
        expected = self.refusal_to_open(actor, case, STATION_SIDE, o.is_stale)
        if expected is None and case.status in (S.DRAFT, S.RETURNED):
            helped_elsewhere = any(
                c.need == case.need and c.status in HOLDING
                for rid, c in self.cases.items() if rid != referral
            )  # fmt: skip
            if not self.may_refer(case.need):
                expected = "conflict"
            elif helped_elsewhere and not o.acknowledged:
                expected = "already_helped"
        if expected is None:
            expected = "ok" if case.status in (S.DRAFT, S.RETURNED) else "conflict"
        version = self.version(referral, o.is_stale)
        got, _ = self.attempt(
            lambda db, user: workflow.submit_referral(
                db, user, referral, version=version, acknowledge_duplicate=o.acknowledged,
                now=self.clock,
            ),
            actor,
        )  # fmt: skip
        self.check(f"{actor} submits a {case.status.value} referral", got, expected)
        if got == "ok":
            self.move(referral, S.SUBMITTED)
            case.initiators.add(actor)

    def approve(self, referral: int, actor: str, o: Options) -> None:
        case = self.cases[referral]
        expected = self.refusal_to_open(actor, case, OFFICE, o.is_stale)
        if expected is None and case.status == S.SUBMITTED:
            ended = self.world.ends_on[case.project] < self.clock.date()
            if ended or not self.may_refer(case.need):
                expected = "conflict"
            elif actor in case.initiators:
                expected = "forbidden"
        if expected is None:
            if case.status != S.SUBMITTED:
                expected = "conflict"
            else:
                expected = "ok" if self.places_left(case) else "quota_exhausted"
        version = self.version(referral, o.is_stale)
        got, _ = self.attempt(
            lambda db, user: workflow.approve_referral(
                db, user, referral, version=version, now=self.clock
            ),
            actor,
        )
        self.check(f"{actor} approves a {case.status.value} referral", got, expected)
        if got == "ok":
            self.move(referral, S.APPROVED)
            case.reached_charity = True
            case.due_at = self.clock + dt.timedelta(days=self.world.response_days[case.project])
            self.take_place(case)

    def send_back(self, referral: int, actor: str, o: Options) -> None:
        case = self.cases[referral]
        expected = self.refusal_to_open(actor, case, OFFICE, o.is_stale)
        if expected is None and not o.reason.strip():
            expected = "validation_error"
        if expected is None:
            expected = "ok" if case.status == S.SUBMITTED else "conflict"
        version = self.version(referral, o.is_stale)
        got, _ = self.attempt(
            lambda db, user: workflow.return_referral(
                db, user, referral, o.reason, version=version
            ),
            actor,
        )
        self.check(f"{actor} returns a {case.status.value} referral", got, expected)
        if got == "ok":
            self.move(referral, S.RETURNED)

    def accept(self, referral: int, actor: str, o: Options) -> None:
        case = self.cases[referral]
        expected = self.refusal_to_open(actor, case, CHARITY, o.is_stale)
        if expected is None:
            expected = "ok" if case.status == S.APPROVED else "conflict"
        version = self.version(referral, o.is_stale)
        got, _ = self.attempt(
            lambda db, user: workflow.accept_referral(
                db, user, referral, version=version, now=self.clock
            ),
            actor,
        )
        self.check(f"{actor} accepts a {case.status.value} referral", got, expected)
        if got == "ok":
            self.move(referral, S.ACCEPTED)

    def decline(self, referral: int, actor: str, o: Options) -> None:
        case = self.cases[referral]
        expected = self.refusal_to_open(actor, case, CHARITY, o.is_stale)
        if expected is None and o.decline_reason == DeclineReason.OTHER and not o.note:
            expected = "validation_error"
        if expected is None:
            expected = "ok" if case.status == S.APPROVED else "conflict"
        version = self.version(referral, o.is_stale)
        got, _ = self.attempt(
            lambda db, user: workflow.decline_referral(
                db, user, referral, o.decline_reason, o.note, version=version, now=self.clock
            ),
            actor,
        )
        self.check(f"{actor} declines a {case.status.value} referral", got, expected)
        if got == "ok":
            self.move(referral, S.DECLINED)
            self.give_place_back(case)

    def start_service(self, referral: int, actor: str, o: Options) -> None:
        case = self.cases[referral]
        expected = self.refusal_to_open(actor, case, CHARITY, o.is_stale)
        if expected is None:
            expected = "ok" if case.status == S.ACCEPTED else "conflict"
        version = self.version(referral, o.is_stale)
        got, _ = self.attempt(
            lambda db, user: workflow.start_service(
                db, user, referral, version=version, now=self.clock
            ),
            actor,
        )
        self.check(f"{actor} starts serving a {case.status.value} referral", got, expected)
        if got == "ok":
            self.move(referral, S.IN_SERVICE)

    def complete(self, referral: int, actor: str, o: Options) -> None:
        case = self.cases[referral]
        expected = self.refusal_to_open(actor, case, CHARITY, o.is_stale)
        if expected is None and o.delivered_fen is None and o.service is None:
            expected = "validation_error"
        if expected is None:
            expected = "ok" if case.status == S.IN_SERVICE else "conflict"
        version = self.version(referral, o.is_stale)
        got, _ = self.attempt(
            lambda db, user: workflow.complete_referral(
                db, user, referral, delivered_amount_fen=o.delivered_fen,
                delivered_service=o.service, version=version, now=self.clock,
            ),
            actor,
        )  # fmt: skip
        self.check(f"{actor} completes a {case.status.value} referral", got, expected)
        if got == "ok":
            self.move(referral, S.COMPLETED)
            # Met when the money delivered covers the gap (or a service alone was given);
            # otherwise partly met, open for another referral for the rest.
            delivered = self.delivered.get(case.need, 0) + (o.delivered_fen or 0)
            self.delivered[case.need] = delivered
            gap = self.world.need_gap[case.need]
            if o.delivered_fen is None or gap is None or delivered >= gap:
                self.fulfilled.add(case.need)
            else:
                self.partial.add(case.need)
            # The money held becomes the money delivered.
            self.reserved[case.project] += (o.delivered_fen or 0) - (case.reserved_fen or 0)

    def cancel(self, referral: int, actor: str, o: Options) -> None:
        case = self.cases[referral]
        expected = self.refusal_to_open(actor, case, STATION_SIDE, o.is_stale)
        if expected is None and not o.reason.strip():
            expected = "validation_error"
        if expected is None:
            cancellable = (S.DRAFT, S.SUBMITTED, S.RETURNED, S.APPROVED)
            expected = "ok" if case.status in cancellable else "conflict"
        version = self.version(referral, o.is_stale)
        got, _ = self.attempt(
            lambda db, user: workflow.cancel_referral(
                db, user, referral, o.reason, version=version
            ),
            actor,
        )
        self.check(f"{actor} cancels a {case.status.value} referral", got, expected)
        if got == "ok":
            if case.status == S.APPROVED:
                self.give_place_back(case)
            self.move(referral, S.CANCELLED)

    def withdraw_consent(self, referral: int, actor: str, o: Options) -> None:
        """The household withdraws its consent: every open referral of it ends."""
        household_id = self.world.need_household[self.cases[referral].need]
        got, _ = self.attempt(
            lambda db, user: households.withdraw_consent(db, user, household_id, self.clock),
            "station_a",
        )
        self.check("the household withdraws consent", got, "ok")
        self.consent[household_id] = False
        for other, case in self.cases.items():
            if self.world.need_household[case.need] == household_id and case.status in OPEN:
                if case.status in HOLDING:
                    self.give_place_back(case)
                self.move(other, S.CANCELLED)

    def give_consent(self, referral: int, actor: str, o: Options) -> None:
        household_id = self.world.need_household[self.cases[referral].need]
        got, _ = self.attempt(
            lambda db, user: households.record_consent(
                db, user, household_id, self.clock.date(), "困难情况核实、慈善帮扶转介"
            ),
            "station_a",
        )
        self.check("the household gives consent", got, "ok")
        self.consent[household_id] = True

    @precondition(lambda self: any(c.status == S.APPROVED for c in self.cases.values()))
    @rule(days=st.integers(1, 10))
    def days_pass_and_unanswered_referrals_expire(self, days: int) -> None:
        self.clock += dt.timedelta(days=days)
        due = [
            rid for rid, c in self.cases.items()
            if c.status == S.APPROVED and c.due_at is not None and c.due_at < self.clock
        ]  # fmt: skip
        with self.factory() as db:
            expired = workflow.expire_unanswered(db, self.clock)
            db.commit()
        self.refused = False
        assert expired == len(due), (expired, due)
        for referral in due:
            self.give_place_back(self.cases[referral])
            self.move(referral, S.EXPIRED)

    # --- what must hold after every step ---------------------------------------------------

    @invariant()
    def the_database_agrees_with_the_rules(self) -> None:
        if not self.used:
            return  # before the projects are set up
        with self.factory() as db:
            rows = db.execute(
                sa.select(Referral.id, Referral.need_id, Referral.project_id, Referral.status,
                          Referral.version, Referral.reserved_amount_fen,
                          Referral.delivered_amount_fen)
                .order_by(Referral.id)
            ).all()  # fmt: skip
            events = db.execute(
                sa.select(ReferralEvent.referral_id, ReferralEvent.from_status,
                          ReferralEvent.to_status)
                .order_by(ReferralEvent.id)
            ).all()  # fmt: skip
            projects = db.execute(
                sa.select(Project.id, Project.quota, Project.quota_used, Project.reserved_fen)
                .where(Project.id.in_(self.world.quota))
                .order_by(Project.id)
            ).all()
            needs = db.execute(
                sa.select(Need.id, Need.status)
                .where(Need.id.in_(self.world.need_household))
                .order_by(Need.id)
            ).all()
        snapshot = (rows, events, projects, needs)
        if self.refused:
            assert snapshot == self.before, "a refused step changed the database"
        self.before = snapshot
        self.versions = {r.id: r.version for r in rows}

        # Every referral is where the rules put it, by the allowed transitions only.
        assert {r.id: r.status for r in rows} == {rid: c.status for rid, c in self.cases.items()}
        timelines: dict[int, list[tuple[str | None, str]]] = {r.id: [] for r in rows}
        for referral_id, from_status, to_status in events:
            timelines[referral_id].append((from_status, to_status))
        for r in rows:
            assert r.status in ReferralStatus
            timeline = timelines[r.id]
            assert timeline == self.cases[r.id].history, (r.id, timeline)
            for (_, previous), (source, target) in zip(
                [(None, None), *timeline], timeline, strict=False
            ):
                assert source == previous, (r.id, timeline)
                allowed = TRANSITIONS.get(S(source) if source else None, set())
                assert S(target) in allowed, (r.id, source, target)
            assert timeline[-1][1] == r.status.value

        # Places and money held follow the referrals.
        for project_id, quota, quota_used, reserved_fen in projects:
            mine = [r for r in rows if r.project_id == project_id]
            taken = sum(1 for r in mine if r.status in PLACE_TAKEN)
            held = sum(r.reserved_amount_fen or 0 for r in mine if r.status in HOLDING)
            spent = sum(r.delivered_amount_fen or 0 for r in mine if r.status == S.COMPLETED)
            assert 0 <= quota_used <= quota
            assert quota_used == self.baseline[project_id] + taken == self.used[project_id]
            assert 0 <= reserved_fen == held + spent == self.reserved[project_id]

        # One open referral per need and project; the need's status follows its referrals.
        open_pairs = Counter((r.need_id, r.project_id) for r in rows if r.status in OPEN)
        assert all(n == 1 for n in open_pairs.values()), open_pairs
        for need_id, status in needs:
            statuses = {r.status for r in rows if r.need_id == need_id}
            if need_id in self.fulfilled:
                expected = NeedStatus.FULFILLED
            elif S.IN_SERVICE in statuses:
                expected = NeedStatus.IN_SERVICE
            elif statuses & {S.SUBMITTED, S.APPROVED, S.ACCEPTED}:
                expected = NeedStatus.REFERRED
            elif need_id in self.partial:
                expected = NeedStatus.PARTIAL
            else:
                expected = NeedStatus.OPEN
            assert status == expected, (need_id, status, statuses)


def test_random_referral_steps_keep_places_states_and_timelines_consistent(
    connection: Connection, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as db:
        world = read_world(db)
    # The machine takes the test's fixtures as plain arguments (there is no @given here, so
    # no function-scoped-fixture health check applies) and isolates each example itself, in a
    # savepoint of ``connection`` that it rolls back in ``teardown``.
    # (Hypothesis calls any factory of machines; its hint asks for the class: the ignore.)
    run_state_machine_as_test(
        lambda: ReferralWorkflow(connection, session_factory, world),  # type: ignore[arg-type]
        settings=settings(
            max_examples=EXAMPLES, stateful_step_count=30, deadline=None, derandomize=True,
            database=None,
        ),
    )  # fmt: skip
