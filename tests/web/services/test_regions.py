"""Guangdong's divisions down to every village: loaded whole, again without change, and from
a later edition of the codes only when every row of it is sound."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Region
from models.enums import RegionLevel
from seed.demo import DEMO_FILE, GUANGDONG_REGIONS, TOWNSHIPS_VILLAGES, load_all_regions
from tests.helpers import later_edition
from web.services.errors import ValidationFailed
from web.services.regions import ancestors

EVERY_LEVEL = {
    RegionLevel.PROVINCE: 1,
    RegionLevel.CITY: 21,
    RegionLevel.COUNTY: 122,
    RegionLevel.TOWNSHIP: 1_757,
    RegionLevel.VILLAGE: 26_842,
}
#: The line of a later edition's first added row: after the header and the shipped rows.
FIRST_ADDED = len(TOWNSHIPS_VILLAGES.read_text(encoding="utf-8").splitlines()) + 1


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def region_counts(db: Session) -> dict[RegionLevel, int]:
    rows = db.execute(sa.select(Region.level, sa.func.count()).group_by(Region.level))
    return {level: n for level, n in rows}


def place(db: Session, code: str) -> tuple[str, str | None] | None:
    """The stored name and parent of ``code`` (None when there is no such region)."""
    row = db.execute(sa.select(Region.name, Region.parent_code).where(Region.code == code)).first()
    return None if row is None else (row.name, row.parent_code)


def test_the_database_holds_every_township_and_village_of_guangdong(db: Session) -> None:
    assert region_counts(db) == EVERY_LEVEL
    assert place(db, "440117103000") == ("温泉镇", "440117000000")
    assert place(db, "440117103217") == ("新田村委会", "440117103000")
    assert place(db, "441900121000") == ("虎门镇", "441900000000")  # 东莞: towns under the city


def test_loading_the_regions_again_inserts_and_changes_nothing(db: Session) -> None:
    before = db.execute(sa.select(Region.__table__).order_by(Region.code)).all()
    assert load_all_regions(db) == (0, 0)
    assert db.execute(sa.select(Region.__table__).order_by(Region.code)).all() == before


def test_a_later_edition_renames_a_village_and_adds_a_new_one(db: Session, tmp_path: Path) -> None:
    later = later_edition(
        tmp_path,
        rename={"440117103217": "新田村民委员会"},
        extra=["440117103299,温泉新村委会,village,440117103000"],
    )
    reports: list[tuple[int, int]] = []
    assert load_all_regions(db, later, progress=lambda *p: reports.append(p)) == (1, 1)
    assert place(db, "440117103217") == ("新田村民委员会", "440117103000")
    assert place(db, "440117103299") == ("温泉新村委会", "440117103000")
    assert reports[-1] == (28_744, 28_744) and len(reports) > 1
    assert load_all_regions(db, later) == (0, 0)


def test_a_bad_row_in_a_later_edition_is_named_and_nothing_is_loaded(
    db: Session, tmp_path: Path
) -> None:
    later = later_edition(
        tmp_path,
        rename={"440117103217": "新田村民委员会"},
        extra=[
            "440117103299,温泉新村委会,village,440117103000",
            "44011710330,短码村委会,village,440117103000",
            "440117199201,无镇村委会,village,440117199000",
            "440232113299,错挂村委会,village,440117103000",
            "440117103298,温泉新村委会,hamlet,440117103000",
        ],
    )
    before = region_counts(db)
    with pytest.raises(ValidationFailed) as raised:
        load_all_regions(db, later)
    assert raised.value.fields == {
        f"townships_2024.csv 第 {FIRST_ADDED + 1} 行": ["代码应为 12 位数字：44011710330"],
        f"townships_2024.csv 第 {FIRST_ADDED + 2} 行": ["上级区划 440117199000 不存在"],
        f"townships_2024.csv 第 {FIRST_ADDED + 3} 行": [
            "上级区划 440117103000 不是 440232113299 的上级"
        ],
        f"townships_2024.csv 第 {FIRST_ADDED + 4} 行": ["级别无效：hamlet"],
    }
    assert "4 行错误，未载入任何区划" in raised.value.message
    assert region_counts(db) == before
    assert place(db, "440117103217") == ("新田村委会", "440117103000")
    assert place(db, "440117103299") is None


def test_a_file_without_the_parent_column_is_refused(db: Session, tmp_path: Path) -> None:
    bad = tmp_path / "towns.csv"
    bad.write_text("code,name,level\n440117103000,温泉镇,township\n", encoding="utf-8")
    with pytest.raises(ValidationFailed, match="towns.csv 缺少列：parent"):
        load_all_regions(db, bad)


def test_the_shipped_files_name_every_township_and_village_once_under_a_known_parent() -> None:
    counties = {r["code"] for r in read_csv(GUANGDONG_REGIONS)}
    rows = read_csv(TOWNSHIPS_VILLAGES)
    codes = {r["code"] for r in rows}
    assert len(codes) == len(rows) == 1_757 + 26_842
    known = codes | counties
    assert all(r["parent"] in known for r in rows)
    readme = (TOWNSHIPS_VILLAGES.parent / "README.md").read_text(encoding="utf-8")
    assert "china-division" in readme and "统计用区划和城乡划分代码" in readme


def test_every_demo_place_is_a_real_region_and_addresses_name_it() -> None:
    """The demo's stations, households, service areas, charities and users stand on the real
    codes, and a household's address names its real township and village."""
    rows = read_csv(GUANGDONG_REGIONS) + read_csv(TOWNSHIPS_VILLAGES)
    names = {r["code"]: r["name"] for r in rows}
    parents = {r["code"]: r["parent"] for r in rows}
    text = DEMO_FILE.read_text(encoding="utf-8")
    codes = set(re.findall(r'"(44\d{10})"', text))
    assert codes and codes <= names.keys()
    demo = json.loads(text)
    for household in demo["households"]:
        village = household["region_code"]
        township = names[parents[village]]
        assert f"{township}{names[village].removesuffix('委会')}" in household["address"]
    stations = {s["name"]: names[s["region_code"]] for s in demo["stations"]}
    assert stations["温泉镇综合救助服务站"] == "温泉镇"
    assert stations["吕田镇莲麻村救助服务点"] == "莲麻村委会"


#: 南平村委会, a village of 温泉镇 (从化区).
ANCESTRY_VILLAGE = "440117103220"


def test_ancestors_run_from_the_province_down_to_the_region(db: Session) -> None:
    codes = [r.code for r in ancestors(db, ANCESTRY_VILLAGE)]
    assert codes == [
        "440000000000",
        "440100000000",
        "440117000000",
        "440117103000",
        ANCESTRY_VILLAGE,
    ]


def test_ancestors_are_read_in_one_statement_and_follow_the_parents(db: Session) -> None:
    statements: list[str] = []
    engine = db.get_bind()

    def record(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        village = [r.code for r in ancestors(db, ANCESTRY_VILLAGE)]
        # 东城街道 of 东莞市, a city with no counties: its parent is the city itself.
        dongguan = [r.code for r in ancestors(db, "441900003000")]
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    reads = [s for s in statements if "FROM regions" in s]
    assert len(village) == 5 and len(reads) == 2
    assert dongguan == ["440000000000", "441900000000", "441900003000"]


def test_a_breadcrumb_starts_at_the_users_own_region(db: Session) -> None:
    codes = [r.code for r in ancestors(db, ANCESTRY_VILLAGE, within="440117000000")]
    assert codes == ["440117000000", "440117103000", ANCESTRY_VILLAGE]
    assert ancestors(db, ANCESTRY_VILLAGE, within="440232000000") == []
