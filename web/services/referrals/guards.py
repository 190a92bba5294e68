"""What every referral step checks before it acts: the actor's part in the workflow, the
referral within the actor's scope (one the actor may not see is simply not found), the
version the caller read, that the case is not archived (read-only), and the state of the
need and the household's consent.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from models import Household, Need, Referral, User
from models.clock import local_date
from models.enums import SETTLED_NEED_STATES, Role

from ..errors import Archived, Conflict, Forbidden, NotFound, ValidationFailed
from ..needs import require_live_need
from ..scoping import scoped

#: The parties on the station's side of the workflow: they draft, submit and cancel.
STATION_SIDE = (Role.STATION_STAFF, Role.CIVIL_AFFAIRS)
#: The parties that answer and deliver: a charity, or the station answerable for a local
#: resource (本地资源).
PROVIDER_SIDE = (Role.CHARITY_STAFF, Role.STATION_STAFF)


class StaleVersion(Conflict):
    """The referral changed since the caller read it (HTTP 409)."""

    code = "stale_version"
    default_message = "该转介已被他人更新，请刷新页面后重试。"


def require_live(referral: Referral) -> None:
    """An archived referral takes no step, episode, attachment, follow-up or note: every
    change to a referral passes here (its reads do not).

    :raise Archived: the referral was archived.
    """
    if referral.archived_at is not None:
        on = local_date(referral.archived_at).isoformat()
        raise Archived(f"该转介已归档，只读（{on} 归档）。")


def load_referral(db: Session, actor: User, referral_id: int) -> Referral:
    """The referral with its timeline and episodes, if the actor may see it (not audited:
    callers that show it audit the read).

    :raise NotFound: no such referral within the actor's scope.
    """
    referral = db.scalar(
        scoped(sa.select(Referral).where(Referral.id == referral_id), actor).options(
            selectinload(Referral.events), selectinload(Referral.episodes)
        )
    )
    if referral is None:
        raise NotFound("转介不存在或您无权查看。")
    return referral


def require_party(actor: User, *roles: Role) -> None:
    """The workflow's parties only: unlike elsewhere, an administrator is not one."""
    if actor.role not in roles:
        raise Forbidden("您的角色不能执行这一步。")


def _check_version(referral: Referral, version: int | None) -> None:
    if version is not None and version != referral.version:
        raise StaleVersion()


def referral_for_step(
    db: Session, actor: User, referral_id: int, version: int | None, *roles: Role
) -> Referral:
    """The referral a step acts on: the actor's role may take the step, the referral is in
    the actor's scope (404 otherwise), not archived (409), and the caller read its current
    version. A station takes the station's steps for its own households only (it may see
    another station's referral as the provider of a local resource,
    :func:`referral_for_provider`)."""
    require_party(actor, *roles)
    referral = load_referral(db, actor, referral_id)
    if actor.role == Role.STATION_STAFF and referral.need.household.station_id != actor.station_id:
        raise Forbidden("只有该户所属服务站可以执行这一步。")
    require_live(referral)
    _check_version(referral, version)
    return referral


def provides(actor: User, referral: Referral) -> bool:
    """Whether ``actor`` answers the referral for the help it names: staff of the charity
    owning the project, or, for a local resource (本地资源), staff of the station answerable
    for it."""
    organization = referral.project.organization
    if actor.role == Role.CHARITY_STAFF:
        return organization.id == actor.organization_id
    if actor.role == Role.STATION_STAFF:
        return organization.is_local and organization.responsible_station_id == actor.station_id
    return False


def sees_as_provider(actor: User, referral: Referral) -> bool:
    """Whether ``actor`` sees the household only as a charity would: a charity, or a station
    answering for a local resource referred a household of another station (before
    acceptance the public summary only, after it what an accepting charity sees)."""
    if actor.role == Role.CHARITY_STAFF:
        return True
    return (
        actor.role == Role.STATION_STAFF and referral.need.household.station_id != actor.station_id
    )


def referral_for_provider(
    db: Session, actor: User, referral_id: int, version: int | None, *, changes: bool = True
) -> Referral:
    """The referral a provider's step (accept, decline, start, log, complete) acts on: the
    actor is its charity's staff or, for a local resource, the responsible station's, and
    read its current version. A step that ``changes`` it refuses an archived referral.

    :raise Forbidden: any other party (a station: any referral not to its own resources).
    :raise NotFound: not within a charity's scope.
    :raise Archived: archived, and the step would change it.
    """
    require_party(actor, *PROVIDER_SIDE)
    try:
        referral = load_referral(db, actor, referral_id)
    except NotFound:
        if actor.role == Role.STATION_STAFF:
            # A station answers only for its own local resources: for any other referral,
            # seen or not, the step is simply not its to take (as before there were any).
            raise Forbidden("您的角色不能执行这一步。") from None
        raise
    if not provides(actor, referral):
        raise Forbidden("您的角色不能执行这一步。")
    if changes:
        require_live(referral)
    _check_version(referral, version)
    return referral


def require_reason(value: str | None, field: str = "reason", what: str = "原因") -> str:
    """``value`` stripped; an empty one is a field error on ``field`` asking for ``what``."""
    text = (value or "").strip()
    if not text:
        raise ValidationFailed(fields={field: [f"请填写{what}。"]})
    return text


def require_unsettled(need: Need) -> None:
    """A fulfilled or closed need takes no referral step that would reopen it (nor, of course,
    an archived one)."""
    require_live_need(need)
    if need.status in SETTLED_NEED_STATES:
        raise Conflict(f"该需求已{need.status.label}，不能再转介。")


def require_consent(household: Household, step: str) -> None:
    """No consent on record (or consent withdrawn) stops ``step``, named in the message."""
    if not household.has_consent:
        raise Conflict(f"该户尚未授权（或已撤回授权），不能{step}。")
