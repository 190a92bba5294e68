"""Excel in and out: whole-file validation, every bad row named, round trips."""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from models import Project
from seed.synthetic import project_rows, projects_workbook
from tests.helpers import get_user
from web.services.errors import ValidationFailed
from web.services.excel import HEADERS, export_edition, import_projects
from web.services.ledgers import build_edition
from web.services.projects import input_of

NOW = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)


def project_count(db: Session) -> int:
    return db.scalar(sa.select(sa.func.count(Project.id))) or 0


def spoil(rows: list[dict], positions: list[int]) -> dict[int, str]:
    """Break the rows at ``positions`` in different ways; returns spreadsheet row → header."""
    breakages = [
        ("名额", "很多"),
        ("开始日期", "下个月"),
        ("帮扶领域", "打篮球"),
        ("服务区域代码", "4401"),
        ("项目名称", None),
        ("接受简化程序", "也许"),
        ("服务区域代码", "449999000000"),
        ("每人帮扶金额（元）", "-5"),
        ("结束日期", dt.date(2020, 1, 1)),
        ("帮扶对象", "外星人"),
    ]
    spoiled = {}
    for position, (header, value) in zip(positions, breakages, strict=True):
        rows[position][header] = value
        spoiled[position + 2] = header
    return spoiled


def test_ten_bad_rows_among_two_hundred_are_all_named_and_nothing_is_imported(
    db: Session,
) -> None:
    rows = project_rows(200)
    spoiled = spoil(rows, [3, 17, 42, 77, 99, 120, 150, 170, 185, 199])
    before = project_count(db)
    with pytest.raises(ValidationFailed) as raised:
        import_projects(db, get_user(db, "charity_f"), io.BytesIO(projects_workbook(rows)))
    problems = raised.value.fields["rows"]
    assert sorted(int(n) for n in problems) == sorted(spoiled)
    for number, header in spoiled.items():
        assert any(header in message or "日期" in message for message in problems[str(number)])
    assert "10 行有误" in raised.value.message
    assert project_count(db) == before


def test_a_good_file_of_two_hundred_rows_imports_all_of_them(db: Session) -> None:
    before = project_count(db)
    charity = get_user(db, "charity_f")
    result = import_projects(db, charity, io.BytesIO(projects_workbook(project_rows(200))))
    assert len(result.created) == 200
    assert project_count(db) == before + 200
    assert {p.organization_id for p in result.created} == {charity.organization_id}
    assert {p.status.value for p in result.created} == {"draft"}


def test_a_file_without_the_template_headers_is_refused(db: Session) -> None:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["姓名", "电话"])
    book.active.append(["张三", "123"])
    data = io.BytesIO()
    book.save(data)
    data.seek(0)
    with pytest.raises(ValidationFailed) as raised:
        import_projects(db, get_user(db, "charity_f"), data)
    assert "缺少必需的列" in raised.value.fields["file"][0]
    with pytest.raises(ValidationFailed):
        import_projects(db, get_user(db, "charity_f"), io.BytesIO(b"not a spreadsheet"))


def built_edition_export(db: Session) -> tuple[bytes, list[Project]]:
    edition = build_edition(db, get_user(db, "ca_conghua"), "440117000000", "2026H2", NOW).edition
    projects = [db.get(Project, e.project_id) for e in edition.entries]
    return export_edition(edition), projects


def test_exporting_an_edition_and_importing_it_reproduces_the_projects(db: Session) -> None:
    exported, originals = built_edition_export(db)
    result = import_projects(db, get_user(db, "ca_conghua"), io.BytesIO(exported))
    assert len(result.created) == len(originals)
    for original, copy in zip(originals, result.created, strict=True):
        db.flush()
        assert vars(input_of(copy)) == vars(input_of(original))
        assert copy.organization_id == original.organization_id


def test_the_export_has_chinese_headers_and_labels(db: Session) -> None:
    exported, originals = built_edition_export(db)
    sheet = load_workbook(io.BytesIO(exported)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS
    assert len(rows) == len(originals) + 1
    assert rows[1][HEADERS.index("项目名称")] == originals[0].name


@pytest.mark.skipif(shutil.which("libreoffice") is None, reason="LibreOffice is not installed")
def test_the_export_opens_in_libreoffice(db: Session, tmp_path: Path) -> None:
    exported, originals = built_edition_export(db)
    source = tmp_path / "ledger.xlsx"
    source.write_bytes(exported)
    subprocess.run(
        ["libreoffice", "--headless", "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76",
         "--outdir", str(tmp_path), str(source)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    with (tmp_path / "ledger.csv").open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == HEADERS
    assert rows[1][HEADERS.index("项目名称")] == originals[0].name


@pytest.mark.parametrize("amount", ["nan", "inf", "1e999"])
def test_an_amount_that_is_no_number_is_refused_in_chinese(db: Session, amount: str) -> None:
    (row,) = project_rows(1)
    row["项目预算（元）"] = amount
    with pytest.raises(ValidationFailed) as raised:
        import_projects(db, get_user(db, "charity_f"), io.BytesIO(projects_workbook([row])))
    assert raised.value.fields["rows"] == {"2": ["“项目预算（元）”应为金额（元）。"]}


def test_conditions_are_imported_by_any_word_the_catalogue_knows(db: Session) -> None:
    rows = project_rows(2)
    rows[0] |= {"性别": "女", "病种": "乳腺癌、子宫颈癌", "儿童身份": "", "残疾类别": "视力残疾"}
    rows[1] |= {"病种": "洗血、冻伤"}
    with pytest.raises(ValidationFailed) as raised:
        import_projects(db, get_user(db, "charity_f"), io.BytesIO(projects_workbook(rows)))
    assert raised.value.fields["rows"] == {"3": ["有病种目录中没有的病种：冻伤。"]}
    rows[1]["病种"] = "洗血"
    result = import_projects(db, get_user(db, "charity_f"), io.BytesIO(projects_workbook(rows)))
    first, second = result.created
    assert first.sexes == ["female"] and first.disability_types == ["visual"]
    assert first.conditions == ["breast_cancer", "cervical_cancer"]
    assert second.conditions == ["uraemia"]


def test_an_edition_export_names_conditions_in_chinese(db: Session) -> None:
    project = db.scalar(sa.select(Project).where(Project.name.contains("两癌")))
    assert project is not None and project.conditions == ["breast_cancer", "cervical_cancer"]
    province = get_user(db, "ca_province")
    edition = build_edition(db, province, "440000000000", "2026H2", NOW).edition
    sheet = load_workbook(io.BytesIO(export_edition(edition))).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    cells = [row[header.index("病种")] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "乳腺癌、宫颈癌" in cells


def test_cells_are_read_as_typed_whole_numbers_dates_and_blanks(db: Session) -> None:
    # A phone typed as a number stays its digits (not "13800138000.0"), a date cell a date, a
    # blank cell nothing; a row whose columns stop early is read as blank to the right.
    from openpyxl import Workbook

    from web.services.excel import read_rows

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADERS)
    row = {h: None for h in HEADERS} | {"名额": 12, "开始日期": dt.date(2027, 1, 1)}
    sheet.append([row[h] for h in HEADERS])
    sheet.append([None] * len(HEADERS))
    sheet.append([None] * HEADERS.index("项目名称") + ["只有名称"])
    out = io.BytesIO()
    book.save(out)
    rows = read_rows(io.BytesIO(out.getvalue()))
    assert [number for number, _ in rows] == [2, 4]
    first = rows[0][1]
    assert first["quota"] == 12 and type(first["quota"]) is int
    assert first["starts_on"] in (dt.date(2027, 1, 1), dt.datetime(2027, 1, 1))
    assert first["name"] is None
    assert rows[1][1]["name"] == "只有名称" and rows[1][1]["quota"] is None
