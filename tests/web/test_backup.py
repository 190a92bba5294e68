"""Backups: ``flask backup create`` copies the database while it is in use, ``flask backup
restore`` puts a copy back and refuses what it should not, ``--keep`` prunes old copies.

A restore replaces the whole database, which the shared, rolled-back test database cannot
show, so each SQLite test gets its own copy of a demo database file. On PostgreSQL the same
round trip runs through pg_dump and pg_restore on ``<name>_backup`` beside the test database.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import sqlite3
import stat
import tarfile
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from click.testing import Result
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy.engine import Engine

from models import Household, Member
from tests.conftest import copy_demo, is_postgres, side_database_url
from tests.helpers import TEST_DATA_KEY, TEST_SECRET_KEY
from web import create_app
from web.cli_backup import ATTACHMENTS_SUFFIX, attachments_of
from web.services.crypto import PersonalDataCipher
from web.services.storage import LocalDiskStorage
from web.storage import attachment_dir

TZ = ZoneInfo("Asia/Shanghai")
#: A demo household head (温泉镇) and his ID number as the demo data gives it.
ZHONG = "钟伟明"
ZHONG_ID_NUMBER = "440122197804121076"
ADDED = "备份后登记的户主"


@pytest.fixture(scope="module")
def demo_file(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("backup") / "demo.db"
    copy_demo(engine, f"sqlite:///{path}").dispose()
    return path


def make_app(url: str, instance: Path, data_key: str = TEST_DATA_KEY) -> Flask:
    return create_app(
        {
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(instance),
            "SECRET_KEY": TEST_SECRET_KEY,
            "DATA_KEY": data_key,
        }
    )


@pytest.fixture
def live_file(demo_file: Path, tmp_path: Path) -> Path:
    path = tmp_path / "cishan.db"
    shutil.copyfile(demo_file, path)
    return path


@pytest.fixture
def live(live_file: Path, tmp_path: Path) -> Flask:
    """The app on its own demo database, with its instance folder in ``tmp_path``."""
    return make_app(f"sqlite:///{live_file}", tmp_path / "instance")


def flask(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=list(args))


def created_backup(app: Flask, *options: str) -> Path:
    """Run ``flask backup create``; the path it prints, checked against the size it prints
    and readable by its owner only."""
    result = flask(app, "backup", "create", *options)
    assert result.exit_code == 0, result.output
    match = re.search(r"已备份到 (\S+)（([\d,]+) 字节）", result.output)
    assert match, result.output
    path = Path(match.group(1))
    assert path.stat().st_size == int(match.group(2).replace(",", "")) > 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "DATA_KEY" in result.output
    return path


def heads(app: Flask) -> list[str]:
    """The household heads as the running app reads them."""
    with app.extensions["sessionmaker"]() as db:
        return sorted(db.scalars(sa.select(Household.head_name)))


def register_one_and_delete_zhong(app: Flask) -> None:
    with app.extensions["sessionmaker"]() as db:
        zhong = db.scalar(sa.select(Household).where(Household.head_name == ZHONG))
        assert zhong is not None
        db.add(Household(station_id=zhong.station_id, region_code=zhong.region_code,
                         head_name=ADDED))  # fmt: skip
        db.delete(zhong)
        db.commit()
    assert ADDED in heads(app) and ZHONG not in heads(app)


def zhong_id_number(app: Flask) -> str:
    """Zhong's ID number, decrypted with the test key itself."""
    with app.extensions["sessionmaker"]() as db:
        token = db.scalar(sa.select(Member.id_number_encrypted).where(Member.name == ZHONG))
    assert token is not None
    return PersonalDataCipher(TEST_DATA_KEY).decrypt(token)


def test_a_restored_backup_brings_back_the_demo_and_drops_later_changes(
    live: Flask, tmp_path: Path
) -> None:
    before = heads(live)
    backup = created_backup(live)
    assert backup.parent == tmp_path / "instance" / "backups"
    taken = dt.datetime.strptime(backup.name, "cishan-%Y%m%d-%H%M%S.sqlite3").replace(tzinfo=TZ)
    assert abs(dt.datetime.now(TZ) - taken) < dt.timedelta(minutes=1)
    register_one_and_delete_zhong(live)

    result = flask(live, "backup", "restore", str(backup), "--yes")

    assert result.exit_code == 0, result.output
    assert "已从" in result.output and "DATA_KEY" in result.output
    assert heads(live) == before and ADDED not in before
    assert zhong_id_number(live) == ZHONG_ID_NUMBER


def test_a_backup_taken_during_a_write_holds_only_what_was_committed(
    live: Flask, live_file: Path
) -> None:
    writer = sqlite3.connect(live_file, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE households SET head_name = '写了一半' WHERE head_name = ?", (ZHONG,))
    try:
        backup = created_backup(live)
    finally:
        writer.execute("COMMIT")
        writer.close()

    assert "写了一半" in heads(live)
    copy = sqlite3.connect(f"{backup.as_uri()}?mode=ro", uri=True)
    names = {row[0] for row in copy.execute("SELECT head_name FROM households")}
    assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    copy.close()
    assert ZHONG in names and "写了一半" not in names
    assert not Path(f"{backup}-wal").exists()


def test_restore_without_yes_refuses_and_changes_nothing(live: Flask) -> None:
    backup = created_backup(live)
    register_one_and_delete_zhong(live)

    result = flask(live, "backup", "restore", str(backup))

    assert result.exit_code == 1
    assert "--yes" in result.output and "全部数据" in result.output
    assert ADDED in heads(live) and ZHONG not in heads(live)


def _junk(backup: Path) -> None:
    backup.write_bytes(b"not a database at all\n" * 500)


def _empty_sqlite(backup: Path) -> None:
    backup.unlink()
    conn = sqlite3.connect(backup)
    conn.execute("CREATE TABLE notes (text TEXT)")
    conn.commit()
    conn.close()


def _older_schema(backup: Path) -> None:
    with sqlite3.connect(backup) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0005'")
    conn.close()


def _cut_in_half(backup: Path) -> None:
    data = backup.read_bytes()
    backup.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (_junk, "不是 SQLite 数据库"),
        (_empty_sqlite, "不是本平台的数据库备份"),
        (_older_schema, "结构版本是 0005"),
        (_cut_in_half, "已损坏"),
    ],
    ids=["junk", "another-sqlite-database", "older-schema", "truncated"],
)
def test_a_file_that_is_not_a_good_backup_is_refused_and_changes_nothing(
    live: Flask, spoil: Callable[[Path], None], message: str
) -> None:
    backup = created_backup(live)
    spoil(backup)
    register_one_and_delete_zhong(live)

    result = flask(live, "backup", "restore", str(backup), "--yes")

    assert result.exit_code == 1
    assert message in result.output, result.output
    assert ADDED in heads(live) and ZHONG not in heads(live)


def test_a_backup_made_under_another_data_key_is_refused(
    live: Flask, live_file: Path, tmp_path: Path
) -> None:
    backup = created_backup(live)
    register_one_and_delete_zhong(live)
    other_key = make_app(f"sqlite:///{live_file}", tmp_path / "instance",
                         data_key=Fernet.generate_key().decode())  # fmt: skip

    result = flask(other_key, "backup", "restore", str(backup), "--yes")

    assert result.exit_code == 1
    assert "无法用当前 DATA_KEY 解密" in result.output
    assert ADDED in heads(live)


def test_keep_prunes_the_oldest_backups_of_this_naming_only(live: Flask, tmp_path: Path) -> None:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    older = ["cishan-20260101-020000.sqlite3", "cishan-20260102-020000.sqlite3",
             "cishan-20260103-020000.sqlite3"]  # fmt: skip
    others = ["cishan-20250101-020000.dump", "cishan-before-upgrade.sqlite3", "notes.txt"]
    for name in older + others:
        (folder / name).write_bytes(b"kept by hand")

    result = flask(live, "backup", "create", "--out", str(folder), "--keep", "2")

    assert result.exit_code == 0, result.output
    assert "已删除较早的备份 2 个" in result.output
    (new,) = [p.name for p in folder.glob("cishan-2*.sqlite3") if p.name not in older]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [new, new + ATTACHMENTS_SUFFIX, older[-1], *others]
    )


def test_attachment_files_go_into_the_backup_and_come_back_checked(live: Flask) -> None:
    store = LocalDiskStorage(attachment_dir(live))
    receipt = store.put(b"%PDF-1.4\n%%EOF\n")
    backup = created_backup(live)
    archive = attachments_of(backup)
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    store.delete(receipt)
    later = store.put(b"%PDF-1.4\n% added after the backup\n%%EOF\n")

    result = flask(live, "backup", "restore", str(backup), "--yes")

    assert result.exit_code == 0, result.output
    assert "已恢复附件 1 个" in result.output
    assert store.get(receipt) == b"%PDF-1.4\n%%EOF\n" and store.exists(later)

    # A file whose bytes do not match its name stops the restore before the database changes.
    register_one_and_delete_zhong(live)
    forged = io.BytesIO(b"not the receipt")
    with tarfile.open(archive, "w") as tar:
        member = tarfile.TarInfo(f"{receipt[:2]}/{receipt[2:4]}/{receipt}")
        member.size = len(forged.getvalue())
        tar.addfile(member, forged)
    refused = flask(live, "backup", "restore", str(backup), "--yes")
    assert refused.exit_code == 1 and "与其内容不符" in refused.output
    assert ADDED in heads(live)


def test_on_postgresql_pg_dump_and_pg_restore_make_the_same_round_trip(
    database_url: str, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not is_postgres(database_url):
        pytest.skip("needs TEST_DATABASE_URL on PostgreSQL")
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed (apt-get install postgresql-client)")
    url = side_database_url(database_url, tmp_path, "backup")
    copy_demo(engine, url).dispose()
    app = make_app(url, tmp_path / "instance")
    before = heads(app)
    backup = created_backup(app)
    assert re.fullmatch(r"cishan-\d{8}-\d{6}\.dump", backup.name)
    register_one_and_delete_zhong(app)
    junk = tmp_path / "junk.dump"
    junk.write_bytes(b"not an archive\n" * 100)

    refused = flask(app, "backup", "restore", str(backup))
    not_a_dump = flask(app, "backup", "restore", str(junk), "--yes")
    assert refused.exit_code == not_a_dump.exit_code == 1
    assert "--yes" in refused.output and "不是有效的 pg_dump 备份" in not_a_dump.output
    assert ADDED in heads(app)

    result = flask(app, "backup", "restore", str(backup), "--yes")

    assert result.exit_code == 0, result.output
    assert heads(app) == before
    assert zhong_id_number(app) == ZHONG_ID_NUMBER

    with app.extensions["engine"].begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0005'"))
    older = created_backup(app, "--out", str(tmp_path / "older"))
    at_0005 = flask(app, "backup", "restore", str(older), "--yes")
    assert at_0005.exit_code == 1 and "结构版本是 0005" in at_0005.output

    # Without pg_dump that is what is said, even when a backup of this very second exists.
    backups = Path(app.config["INSTANCE_PATH"]) / "backups"
    now = dt.datetime.now(TZ)
    for second in range(3):
        taken = now + dt.timedelta(seconds=second)
        (backups / f"cishan-{taken:%Y%m%d-%H%M%S}.dump").touch()
    monkeypatch.setenv("PATH", str(tmp_path))
    missing = flask(app, "backup", "create")
    assert missing.exit_code == 1 and "找不到 pg_dump" in missing.output
