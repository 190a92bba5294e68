"""Plain records the matcher works on; the web layer and jobs build them from the database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ProjectRecord:
    """A project as published in a ledger edition (with its live quota)."""

    id: int | str
    name: str
    organization_id: int | str
    organization_name: str
    ledger_level: str  # province / city / county, or township for a local resource (本地资源)
    ledger_region_code: str  # the department whose ledger lists it
    description: str = ""
    domains: tuple[str, ...] = ()
    target_groups: tuple[str, ...] = ()
    forms: tuple[str, ...] = ()
    service_types: tuple[str, ...] = ()
    service_area: tuple[str, ...] = ()
    min_age: int | None = None
    max_age: int | None = None
    household_categories: tuple[str, ...] = ()
    max_income_per_head_fen: int | None = None
    max_disability_grade: int | None = None
    illness_kinds: tuple[str, ...] = ()
    school_stages: tuple[str, ...] = ()
    # The second eligibility language; an empty tuple puts no restriction.
    sexes: tuple[str, ...] = ()
    disability_types: tuple[str, ...] = ()  # any of; with max_disability_grade, of that grade
    conditions: tuple[str, ...] = ()  # condition catalogue codes; a parent covers its children
    child_statuses: tuple[str, ...] = ()
    household_situations: tuple[str, ...] = ()
    amount_per_beneficiary_fen: int | None = None
    quota: int = 0
    quota_used: int = 0
    starts_on: dt.date = dt.date.min
    ends_on: dt.date = dt.date.max
    accepts_simplified: bool = False
    acceptance_rate: float | None = None  # the charity's past share of referrals accepted
    #: A local resource: the station answerable for it (it answers the referrals).
    responsible_station: str | None = None
    #: Verified now: false for a project withdrawn, ended or full since its edition was
    #: published (kept in the index, out of the rankings, so taking offers again needs no
    #: rebuild).
    active: bool = True


@dataclass(frozen=True)
class MemberRecord:
    relation: str
    age: int | None = None
    sex: str | None = None
    disability_type: str | None = None
    disability_grade: int | None = None
    illness: str | None = None
    illness_kind: str | None = None
    self_care: str = "independent"
    school_stage: str | None = None
    # Condition catalogue codes; None when never recorded, and then ``illness`` is read.
    conditions: tuple[str, ...] | None = None
    child_status: str | None = None


@dataclass(frozen=True)
class HouseholdRecord:
    region_code: str
    categories: tuple[str, ...] = ()
    income_per_head_fen: int = 0
    members: tuple[MemberRecord, ...] = ()
    gov_aid_types: tuple[str, ...] = ()
    situations: tuple[str, ...] = ()


@dataclass(frozen=True)
class NeedRecord:
    id: int | str
    domain: str
    text: str
    household: HouseholdRecord
    member_index: int | None = None  # the member concerned, or None for the whole household
    amount_gap_fen: int | None = None
    urgency: str = "normal"
    extra: dict[str, object] = field(default_factory=dict, compare=False)

    @property
    def subjects(self) -> tuple[MemberRecord, ...]:
        """Whose attributes the eligibility rules look at."""
        members = self.household.members
        if self.member_index is not None and 0 <= self.member_index < len(members):
            return (members[self.member_index],)
        return members
