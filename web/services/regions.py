"""Administrative divisions: loading the reference data and walking the tree."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Region
from models.enums import RegionLevel
from models.regions import (
    CODE_LENGTH,
    ancestor_prefixes,
    descendant_range,
    guess_level,
    is_within,
)

from .errors import NotFound, ValidationFailed

#: ``progress(done, total)``, called as work goes on; the command line draws a bar with it.
Progress = Callable[[int, int], None]


#: Columns a region file must have; ``longitude`` and ``latitude`` are optional.
REGION_COLUMNS = ("code", "name", "level", "parent")
#: Rows written per statement, and between two progress reports.
REGION_BATCH = 2_000
#: How many bad rows an error names; the count says how many there are in all.
REGION_ERRORS_SHOWN = 20

_DEPTH = {level: n for n, level in enumerate(RegionLevel)}
_FIELDS = ("name", "level", "parent_code", "longitude", "latitude")


@dataclass(frozen=True)
class RegionRow:
    """One checked line of a region file."""

    code: str
    name: str
    level: RegionLevel
    parent_code: str | None
    longitude: float | None
    latitude: float | None

    def values(self) -> dict[str, Any]:
        return {"code": self.code, **{f: getattr(self, f) for f in _FIELDS}}


def read_region_csv(path: Path) -> list[tuple[str, dict[str, str]]]:
    """The rows of a UTF-8 region CSV, each with where it stands (``file.csv 第 5 行``).

    :raise ValidationFailed: the file is not UTF-8 text or lacks a column.
    """
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in REGION_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise ValidationFailed(
                    f"{path.name} 缺少列：{'、'.join(missing)}（应有 {','.join(REGION_COLUMNS)}）。"
                )
            return [(f"{path.name} 第 {reader.line_num} 行", row) for row in reader]
    except UnicodeDecodeError:
        raise ValidationFailed(f"{path.name} 不是 UTF-8 编码的 CSV 文件。") from None


def _float(text: str | None, errors: list[str], column: str) -> float | None:
    if not text or not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        errors.append(f"{column} 不是数字：{text}")
        return None


def _check_rows(
    rows: Sequence[tuple[str, dict[str, str]]], known: dict[str, RegionLevel]
) -> list[RegionRow]:
    """Every row checked against the others and the regions already stored (``known``).

    :raise ValidationFailed: naming each bad row (the first ``REGION_ERRORS_SHOWN``).
    """
    # A parent may stand anywhere in the files, or be stored already.
    levels = dict(known)
    names = {level.value: level for level in RegionLevel}
    for _, row in rows:
        code, written = (row.get("code") or "").strip(), (row.get("level") or "").strip()
        if written in names:
            levels.setdefault(code, names[written])
    checked: list[RegionRow] = []
    seen: set[str] = set()
    problems: dict[str, list[str]] = {}
    for where, row in rows:
        errors: list[str] = []
        code = (row.get("code") or "").strip()
        name = (row.get("name") or "").strip()
        parent = (row.get("parent") or "").strip() or None
        level = names.get((row.get("level") or "").strip())
        if len(code) != CODE_LENGTH or not code.isdigit():
            errors.append(f"代码应为 12 位数字：{code or '（空）'}")
        elif code in seen:
            errors.append(f"代码 {code} 重复出现")
        seen.add(code)
        if level is None:
            errors.append(f"级别无效：{row.get('level') or '（空）'}")
        if level is not None and not errors and guess_level(code) != level:
            errors.append(f"代码 {code} 不是{level.label}级代码")
        if not name or len(name) > 64:
            errors.append("名称不能为空，且不超过 64 个字" if not name else f"名称过长：{name}")
        if level is not None and level != RegionLevel.PROVINCE and parent is None:
            errors.append("缺少上级区划代码")
        if parent is not None and level is not None and not errors:
            if parent not in levels:
                errors.append(f"上级区划 {parent} 不存在")
            elif _DEPTH[levels[parent]] >= _DEPTH[level] or not is_within(code, parent):
                errors.append(f"上级区划 {parent} 不是 {code} 的上级")
        longitude = _float(row.get("longitude"), errors, "经度")
        latitude = _float(row.get("latitude"), errors, "纬度")
        if errors:
            problems[where] = errors
        elif level is not None:
            checked.append(RegionRow(code, name, level, parent, longitude, latitude))
    if problems:
        shown = dict(list(problems.items())[:REGION_ERRORS_SHOWN])
        more = len(problems) - len(shown)
        raise ValidationFailed(
            f"行政区划文件有 {len(problems)} 行错误，未载入任何区划"
            + (f"（以下列出前 {len(shown)} 行）。" if more else "。"),
            fields=shown,
        )
    return checked


def load_regions(
    db: Session, paths: Sequence[Path], progress: Progress | None = None
) -> tuple[int, int]:
    """Insert or update the regions of the CSV files ``paths`` (columns code, name, level,
    parent, optionally longitude and latitude), in one pass: all files are checked first, then
    written a batch of ``REGION_BATCH`` rows per statement, parents before children.

    Idempotent: a second run changes nothing. A region whose name, level or parent differs in
    a later file is updated; an empty longitude or latitude keeps the stored one; a region
    missing from the files is kept (stations and households may point at it).
    ``progress(done, total)`` is called after each batch, in rows.

    :returns: (inserted, updated) counts.
    :raise ValidationFailed: a bad row (malformed code, unknown level, missing parent …) in any
        file, named by file and line; nothing is written.
    """
    rows = [row for path in paths for row in read_region_csv(path)]
    stored = {
        code: values
        for code, *values in db.execute(
            sa.select(Region.code, *(getattr(Region, f) for f in _FIELDS))
        )
    }
    checked = _check_rows(rows, {code: values[1] for code, values in stored.items()})
    checked.sort(key=lambda r: (_DEPTH[r.level], r.code))
    inserted = updated = 0
    for start in range(0, len(checked), REGION_BATCH):
        batch = checked[start : start + REGION_BATCH]
        new = [r.values() for r in batch if r.code not in stored]
        changed = [
            {"code": r.code, **{f: v for f, v in r.values().items() if v is not None}}
            for r in batch
            if r.code in stored and _differs(r, stored[r.code])
        ]
        if new:
            db.execute(sa.insert(Region), new)
        if changed:
            db.execute(sa.update(Region), changed)
        inserted, updated = inserted + len(new), updated + len(changed)
        if progress is not None:
            progress(start + len(batch), len(checked))
    return inserted, updated


def _differs(row: RegionRow, stored: Sequence[Any]) -> bool:
    return any(
        getattr(row, f) is not None and getattr(row, f) != value
        for f, value in zip(_FIELDS, stored, strict=True)
    )


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
    # The usual chain in one query: a code's ancestors are its prefixes, padded. A parent
    # outside it is read on its own.
    usual = [p.ljust(CODE_LENGTH, "0") for p in ancestor_prefixes(code)]
    known = {r.code: r for r in db.scalars(sa.select(Region).where(Region.code.in_(usual)))}
    chain: list[Region] = []
    region = known.get(code) or db.get(Region, code)
    while region is not None:
        chain.append(region)
        parent = region.parent_code
        region = (known.get(parent) or db.get(Region, parent)) if parent else None
    return [r for r in reversed(chain) if within is None or is_within(r.code, within)]


def region_label(db: Session, code: str) -> str:
    """``广东省广州市从化区温泉镇`` for a township code."""
    return "".join(r.name for r in ancestors(db, code))


def descendant_codes(db: Session, code: str) -> list[str]:
    low, high = descendant_range(code)
    return list(db.scalars(sa.select(Region.code).where(Region.code.between(low, high))))


#: Most places a name search answers with.
SEARCH_LIMIT = 20


@dataclass(frozen=True)
class RegionChoice:
    """A place as a picker offers it: its code, name, level, whether it has places below it,
    and the names of its ancestors from the province down (``广州市 从化区 温泉镇``)."""

    code: str
    name: str
    level: RegionLevel
    has_children: bool
    path: str


def _above(code: str) -> list[str]:
    """The codes of the city, county and township above ``code`` (some may not exist, or be
    the same, as for 东莞市's towns), from the top down."""
    above: list[str] = []
    for width in (4, 6, 9):
        candidate = code[:width].ljust(CODE_LENGTH, "0")
        if candidate != code and candidate not in above:
            above.append(candidate)
    return above


def _choices(db: Session, regions: Sequence[Region]) -> list[RegionChoice]:
    codes = [r.code for r in regions]
    parents = set(
        db.scalars(sa.select(Region.parent_code).where(Region.parent_code.in_(codes)).distinct())
    )
    wanted = {c for r in regions for c in _above(r.code)}
    names = {
        k: v
        for k, v in db.execute(sa.select(Region.code, Region.name).where(Region.code.in_(wanted)))
    }
    return [
        RegionChoice(
            r.code,
            r.name,
            r.level,
            r.code in parents,
            " ".join(names[c] for c in _above(r.code) if c in names and is_within(r.code, c)),
        )
        for r in regions
    ]


def region_children(db: Session, parent: str | None) -> list[RegionChoice]:
    """The places one level below ``parent`` (the province itself when ``parent`` is None).

    :raise NotFound: no region ``parent``.
    """
    if parent is None:
        top = db.scalars(sa.select(Region).where(Region.parent_code.is_(None))).all()
        return _choices(db, top)
    get_region(db, parent)
    return _choices(db, list_children(db, parent))


def search_regions(
    db: Session, text: str, *, within: str | None = None, limit: int = SEARCH_LIMIT
) -> list[RegionChoice]:
    """Places whose name contains ``text``, at or below ``within``, highest level first."""
    text = text.strip()
    if not text:
        return []
    stmt = sa.select(Region).where(Region.name.contains(text, autoescape=True))
    if within is not None:
        low, high = descendant_range(within)
        stmt = stmt.where(Region.code.between(low, high))
    depth = sa.case({level: n for n, level in enumerate(RegionLevel)}, value=Region.level)
    stmt = stmt.order_by(depth, Region.code).limit(limit)
    return _choices(db, list(db.scalars(stmt)))
