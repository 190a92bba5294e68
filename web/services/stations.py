"""Township comprehensive-assistance stations and village assistance points."""

from __future__ import annotations

from sqlalchemy.orm import Session

from models import Region, Station, User
from models.enums import RegionLevel, Role, StationKind

from .audit import write_audit
from .errors import ValidationFailed
from .scoping import in_region, require_role

_LEVEL_OF_KIND = {
    StationKind.TOWNSHIP: RegionLevel.TOWNSHIP,
    StationKind.VILLAGE: RegionLevel.VILLAGE,
}


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
    region = db.get(Region, region_code)
    if region is None or region.level != _LEVEL_OF_KIND[kind]:
        raise ValidationFailed(
            fields={"region_code": [f"{kind.label}须设在{_LEVEL_OF_KIND[kind].label}一级。"]}
        )
    if actor is not None and actor.role != Role.ADMIN:
        visible = (
            db.query(Region)
            .filter(Region.code == region_code, in_region(Region.code, actor))
            .first()
        )
        if visible is None:
            raise ValidationFailed(fields={"region_code": ["不在您所辖的行政区划内。"]})
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
