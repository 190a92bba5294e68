"""Administrative divisions: loading the reference data and walking the tree."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Region
from models.enums import RegionLevel
from models.regions import CODE_LENGTH, descendant_range, is_within

from .errors import NotFound, ValidationFailed


def read_region_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def load_regions(db: Session, rows: Iterable[dict[str, str]]) -> tuple[int, int]:
    """Insert or update regions from rows with code, name, level, parent (parents first).

    Idempotent: running it twice changes nothing the second time.
    :returns: (inserted, updated) counts.
    :raise ValidationFailed: a malformed code, unknown level or missing parent.
    """
    existing = {r.code: r for r in db.scalars(sa.select(Region))}
    inserted = updated = 0
    for row in rows:
        code = row["code"].strip()
        if len(code) != CODE_LENGTH or not code.isdigit():
            raise ValidationFailed(f"行政区划代码格式错误：{code}")
        level = RegionLevel(row["level"].strip())
        parent = (row.get("parent") or "").strip() or None
        if parent is not None and parent not in existing:
            raise ValidationFailed(f"上级区划 {parent} 不存在（{code}）。")
        values = {
            "name": row["name"].strip(),
            "level": level,
            "parent_code": parent,
            "longitude": float(row["longitude"]) if row.get("longitude") else None,
            "latitude": float(row["latitude"]) if row.get("latitude") else None,
        }
        region = existing.get(code)
        if region is None:
            region = Region(code=code, **values)
            db.add(region)
            existing[code] = region
            inserted += 1
        elif any(getattr(region, k) != v for k, v in values.items() if v is not None):
            for key, value in values.items():
                if value is not None:
                    setattr(region, key, value)
            updated += 1
        db.flush()
    return inserted, updated


def get_region(db: Session, code: str) -> Region:
    region = db.get(Region, code)
    if region is None:
        raise NotFound("行政区划不存在。")
    return region


def list_children(db: Session, code: str) -> list[Region]:
    stmt = sa.select(Region).where(Region.parent_code == code).order_by(Region.code)
    return list(db.scalars(stmt))


def ancestors(db: Session, code: str, *, within: str | None = None) -> list[Region]:
    """The region and its ancestors, from the province down; ``within`` keeps those at or
    below that region (a breadcrumb from the user's own region down)."""
    chain: list[Region] = []
    region = db.get(Region, code)
    while region is not None:
        chain.append(region)
        region = db.get(Region, region.parent_code) if region.parent_code else None
    return [r for r in reversed(chain) if within is None or is_within(r.code, within)]


def region_label(db: Session, code: str) -> str:
    """``广东省广州市从化区温泉镇`` for a township code."""
    return "".join(r.name for r in ancestors(db, code))


def descendant_codes(db: Session, code: str) -> list[str]:
    low, high = descendant_range(code)
    return list(db.scalars(sa.select(Region.code).where(Region.code.between(low, high))))
