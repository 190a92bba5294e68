"""Township comprehensive-assistance stations and village assistance points."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Region, Station, User
from models.enums import RegionLevel, Role, StationKind
from models.regions import descendant_range

from .audit import write_audit
from .errors import Conflict, NotFound, ValidationFailed
from .scoping import in_region, require_role, scoped

_LEVEL_OF_KIND = {
    StationKind.TOWNSHIP: RegionLevel.TOWNSHIP,
    StationKind.VILLAGE: RegionLevel.VILLAGE,
}


def _check_place(db: Session, actor: User | None, kind: StationKind, region_code: str) -> None:
    """A station of ``kind`` may stand at ``region_code`` for ``actor``.

    :raise ValidationFailed: the region is not a township/village matching the kind, or lies
        outside the actor's region.
    """
    region = db.get(Region, region_code)
    if region is None or region.level != _LEVEL_OF_KIND[kind]:
        raise ValidationFailed(
            fields={"region_code": [f"{kind.label}须设在{_LEVEL_OF_KIND[kind].label}一级。"]}
        )
    if actor is not None and actor.role != Role.ADMIN:
        visible = db.scalar(
            sa.select(Region.code).where(Region.code == region_code, in_region(Region.code, actor))
        )
        if visible is None:
            raise ValidationFailed(fields={"region_code": ["不在您所辖的行政区划内。"]})


def create_station(
    db: Session,
    actor: User | None,
    *,
    name: str,
    kind: StationKind,
    region_code: str,
    contact_name: str | None = None,
    phone: str | None = None,
    address: str | None = None,
) -> Station:
    """Open a station for a township or village; ``actor`` None is command-line administration.

    :raise ValidationFailed: the region is not a township/village matching the kind, or lies
        outside the actor's region.
    """
    if actor is not None:
        require_role(actor, Role.CIVIL_AFFAIRS)
    _check_place(db, actor, kind, region_code)
    station = Station(
        name=name.strip(),
        kind=kind,
        region_code=region_code,
        contact_name=contact_name,
        phone=phone,
        address=address,
    )
    db.add(station)
    db.flush()
    write_audit(db, actor, "station.create", station)
    return station


def station_for(
    db: Session, actor: User, station_id: int | None = None, *, own_first: bool = False
) -> Station:
    """The station a station's staff or the civil-affairs staff above it work on: the actor's
    own by default, or ``station_id``. With ``own_first`` a station's staff get their own
    whatever ``station_id`` says (a page's link may carry one meant for civil affairs).

    :raise NotFound: no such station within the actor's scope, or none given to an actor
        without a station of their own (civil-affairs staff choose one).
    """
    require_role(actor, Role.STATION_STAFF, Role.CIVIL_AFFAIRS)
    if station_id is None or (own_first and actor.station_id is not None):
        station_id = actor.station_id
    if station_id is None:
        raise NotFound("请先选择服务站。")
    station = db.scalar(scoped(sa.select(Station).where(Station.id == station_id), actor))
    if station is None:
        raise NotFound("救助服务站不存在或您无权查看。")
    return station


def station_regions(db: Session, station: Station) -> list[Region]:
    """The regions a station serves (its own and every one below it), by code: where its
    households may live."""
    low, high = descendant_range(station.region_code)
    return list(
        db.scalars(sa.select(Region).where(Region.code.between(low, high)).order_by(Region.code))
    )


def list_stations(db: Session, actor: User) -> list[Station]:
    return list(db.scalars(scoped(sa.select(Station), actor).order_by(Station.region_code)))


def get_station(db: Session, actor: User, station_id: int) -> Station:
    station = db.scalar(scoped(sa.select(Station).where(Station.id == station_id), actor))
    if station is None:
        raise NotFound("救助服务站不存在或您无权查看。")
    return station


def update_station(
    db: Session,
    actor: User,
    station_id: int,
    *,
    name: str,
    contact_name: str | None,
    phone: str | None,
    address: str | None,
    is_active: bool = True,
    kind: StationKind | None = None,
    region_code: str | None = None,
) -> Station:
    """Civil-affairs staff above a station keep its details (name, contact, open or closed,
    and, when given, its kind and place).

    :raise ValidationFailed: no name, or a place as :func:`create_station` refuses it.
    """
    require_role(actor, Role.CIVIL_AFFAIRS)
    station = get_station(db, actor, station_id)
    if not name.strip():
        raise ValidationFailed(fields={"name": ["请填写服务站名称。"]})
    if kind is not None or region_code is not None:
        kind = kind or station.kind
        region_code = region_code or station.region_code
        _check_place(db, actor, kind, region_code)
        station.kind = kind
        station.region_code = region_code
    station.name = name.strip()
    station.contact_name = contact_name
    station.phone = phone
    station.address = address
    station.is_active = is_active
    write_audit(db, actor, "station.update", station)
    return station


def close_station(db: Session, actor: User, station_id: int) -> Station:
    """Close a station: its staff keep their accounts, its households stay on record, and it
    takes no new work. Recorded as ``station.close``.

    :raise NotFound: no such station within the actor's region.
    :raise Conflict: the station is closed already.
    """
    require_role(actor, Role.CIVIL_AFFAIRS)
    station = get_station(db, actor, station_id)
    if not station.is_active:
        raise Conflict("该服务站已关闭。")
    station.is_active = False
    write_audit(db, actor, "station.close", station)
    db.flush()
    return station
