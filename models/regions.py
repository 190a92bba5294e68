"""Administrative divisions (统计用区划代码), 12-digit codes; a region covers its descendants."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, enum_column, utcnow
from .enums import REGION_PREFIX_DIGITS, RegionLevel

CODE_LENGTH = 12


def region_prefix(code: str, level: RegionLevel | str) -> str:
    """The significant leading digits of ``code`` at ``level`` (e.g. ``4401`` for a city)."""
    return code[: REGION_PREFIX_DIGITS[RegionLevel(level)]]


def code_range(prefix: str) -> tuple[str, str]:
    """The inclusive range of 12-digit codes that start with ``prefix``.

    A range comparison uses a plain B-tree index on every backend, unlike ``LIKE 'x%'``.
    """
    return prefix.ljust(CODE_LENGTH, "0"), prefix.ljust(CODE_LENGTH, "9")


def guess_level(code: str) -> RegionLevel:
    """The level a well-formed code implies by its trailing zeros."""
    if code[2:] == "0" * 10:
        return RegionLevel.PROVINCE
    if code[4:] == "0" * 8:
        return RegionLevel.CITY
    if code[6:] == "0" * 6:
        return RegionLevel.COUNTY
    if code[9:] == "000":
        return RegionLevel.TOWNSHIP
    return RegionLevel.VILLAGE


def significant_prefix(code: str) -> str:
    """The digits that identify ``code`` itself (``4401`` for 广州市, all 12 for a village)."""
    return region_prefix(code, guess_level(code))


def descendant_range(code: str) -> tuple[str, str]:
    """The codes of ``code`` and every region below it, as an inclusive range."""
    return code_range(significant_prefix(code))


def is_within(code: str, ancestor: str) -> bool:
    """``code`` is ``ancestor`` or lies below it."""
    low, high = descendant_range(ancestor)
    return low <= code <= high


def ancestor_prefixes(code: str) -> list[str]:
    """The significant prefixes of ``code`` and of every region above it, province first."""
    digits = REGION_PREFIX_DIGITS[guess_level(code)]
    return [code[:n] for n in sorted(REGION_PREFIX_DIGITS.values()) if n <= digits]


def covering_ledger_codes(code: str) -> list[str]:
    """The province, city and county whose civil-affairs ledgers cover ``code``.

    Cities without counties (东莞, 中山) appear once: their office keeps the county ledger too.
    """
    return list(dict.fromkeys(p.ljust(CODE_LENGTH, "0") for p in ancestor_prefixes(code)[:3]))


def township_code(code: str) -> str | None:
    """The township (乡镇/街道) containing ``code``, or None above township level."""
    if guess_level(code) not in (RegionLevel.TOWNSHIP, RegionLevel.VILLAGE):
        return None
    return code[:9].ljust(CODE_LENGTH, "0")


def supply_ledger_codes(code: str) -> list[str]:
    """Every ledger whose resources may be matched for ``code``: the three civil-affairs
    levels (:func:`covering_ledger_codes`) and, under them, the township's own edition of
    local resources (本地资源) for a code at or below a township.

    Offices are found with :func:`covering_ledger_codes`: a township has none.
    """
    township = township_code(code)
    codes = covering_ledger_codes(code)
    return [*codes, township] if township else codes


class Region(Base):
    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(sa.String(CODE_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    level: Mapped[RegionLevel] = mapped_column(enum_column(RegionLevel), index=True)
    parent_code: Mapped[str | None] = mapped_column(
        sa.ForeignKey("regions.code"), index=True, default=None
    )
    longitude: Mapped[float | None] = mapped_column(default=None)
    latitude: Mapped[float | None] = mapped_column(default=None)

    @property
    def prefix(self) -> str:
        return region_prefix(self.code, self.level)

    def covers(self, code: str) -> bool:
        """Whether the region with ``code`` is this region or lies below it."""
        return code.startswith(self.prefix)

    def __repr__(self) -> str:
        return f"<Region {self.code} {self.name}>"


class CountySetting(Base):
    """What one county's civil-affairs office has decided for its area."""

    __tablename__ = "county_settings"

    region_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), primary_key=True)
    #: 允许同一人发起并审批: the guidance lets offices refer directly, so a county may let the
    #: person who created or submitted a referral approve it too (each such approval says so).
    allows_self_approval: Mapped[bool] = mapped_column(default=False)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), default=None)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
