"""Guangdong's divisions: loaded again without change, and from a later edition of the codes
only when every row of it is sound."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Region
from models.enums import RegionLevel
from seed.demo import TOWNSHIPS_VILLAGES, load_all_regions
from tests.helpers import later_edition
from web.services.errors import ValidationFailed

#: The line of a later edition's first added row: after the header and the shipped rows.
FIRST_ADDED = len(TOWNSHIPS_VILLAGES.read_text(encoding="utf-8").splitlines()) + 1


def region_counts(db: Session) -> dict[RegionLevel, int]:
    rows = db.execute(sa.select(Region.level, sa.func.count()).group_by(Region.level))
    return {level: n for level, n in rows}


def place(db: Session, code: str) -> tuple[str, str | None] | None:
    """The stored name and parent of ``code`` (None when there is no such region)."""
    row = db.execute(sa.select(Region.name, Region.parent_code).where(Region.code == code)).first()
    return None if row is None else (row.name, row.parent_code)


def test_loading_the_regions_again_inserts_and_changes_nothing(db: Session) -> None:
    before = db.execute(sa.select(Region.__table__).order_by(Region.code)).all()
    assert load_all_regions(db) == (0, 0)
    assert db.execute(sa.select(Region.__table__).order_by(Region.code)).all() == before


def test_a_later_edition_renames_a_village_and_adds_a_new_one(db: Session, tmp_path: Path) -> None:
    later = later_edition(
        tmp_path,
        rename={"440117101201": "新田村民委员会"},
        extra=["440117101299,温泉新村委会,village,440117101000"],
    )
    reports: list[tuple[int, int]] = []
    assert load_all_regions(db, later, progress=lambda *p: reports.append(p)) == (1, 1)
    assert place(db, "440117101201") == ("新田村民委员会", "440117101000")
    assert place(db, "440117101299") == ("温泉新村委会", "440117101000")
    assert reports and reports[-1][0] == reports[-1][1]
    assert load_all_regions(db, later) == (0, 0)


def test_a_bad_row_in_a_later_edition_is_named_and_nothing_is_loaded(
    db: Session, tmp_path: Path
) -> None:
    later = later_edition(
        tmp_path,
        rename={"440117101201": "新田村民委员会"},
        extra=[
            "440117101299,温泉新村委会,village,440117101000",
            "44011710130,短码村委会,village,440117101000",
            "440117199201,无镇村委会,village,440117199000",
            "440232108299,错挂村委会,village,440117101000",
            "440117101298,温泉新村委会,hamlet,440117101000",
        ],
    )
    before = region_counts(db)
    with pytest.raises(ValidationFailed) as raised:
        load_all_regions(db, later)
    assert raised.value.fields == {
        f"townships_2024.csv 第 {FIRST_ADDED + 1} 行": ["代码应为 12 位数字：44011710130"],
        f"townships_2024.csv 第 {FIRST_ADDED + 2} 行": ["上级区划 440117199000 不存在"],
        f"townships_2024.csv 第 {FIRST_ADDED + 3} 行": [
            "上级区划 440117101000 不是 440232108299 的上级"
        ],
        f"townships_2024.csv 第 {FIRST_ADDED + 4} 行": ["级别无效：hamlet"],
    }
    assert "4 行错误，未载入任何区划" in raised.value.message
    assert region_counts(db) == before
    assert place(db, "440117101201") == ("新田村", "440117101000")
    assert place(db, "440117101299") is None


def test_a_file_without_the_parent_column_is_refused(db: Session, tmp_path: Path) -> None:
    bad = tmp_path / "towns.csv"
    bad.write_text("code,name,level\n440117101000,温泉镇,township\n", encoding="utf-8")
    with pytest.raises(ValidationFailed, match="towns.csv 缺少列：parent"):
        load_all_regions(db, bad)
