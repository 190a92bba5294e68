"""Files holding keys or personal data are their owner's alone whatever the umask:
``instance/`` 0700; the database, its WAL and shared memory, the keys and backups 0600."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from web import create_app


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_instance_database_keys_and_backups_are_owner_only_under_umask_022(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loose_umask: None
) -> None:
    # As `make run` starts: no keys given, the default SQLite database in instance/.
    instance = tmp_path / "instance"
    monkeypatch.setenv("CISHAN_INSTANCE_PATH", str(instance))
    for name in ("SECRET_KEY", "DATA_KEY", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    app = create_app()
    upgraded = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output

    database = instance / "cishan.db"
    engine = app.extensions["engine"]
    with engine.connect() as conn:  # kept open: the WAL and shared memory exist meanwhile
        conn.execute(sa.text("INSERT INTO regions (code, name, level) "
                             "VALUES ('440000000000', '广东省', 'province')"))  # fmt: skip
        conn.commit()
        companions = [Path(f"{database}-wal"), Path(f"{database}-shm")]
        assert all(p.exists() for p in companions)
        assert {p.name: mode(p) for p in [database, *companions]} == {
            p.name: 0o600 for p in [database, *companions]
        }
    assert mode(instance) == 0o700
    assert mode(instance / "secret_key") == 0o600
    assert mode(instance / "data_key") == 0o600

    backed_up = app.test_cli_runner().invoke(args=["backup", "create"])
    assert backed_up.exit_code == 0, backed_up.output
    match = re.search(r"已备份到 (\S+)（", backed_up.output)
    assert match, backed_up.output
    backup = Path(match.group(1))
    assert mode(backup) == 0o600
    assert mode(backup.parent) == 0o700
    engine.dispose()


def test_files_made_under_a_looser_rule_are_tightened_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loose_umask: None
) -> None:
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    for name in ("cishan.db", "cishan.db-wal", "cishan.db-shm", "data_key"):
        (instance / name).touch(mode=0o644)
    (instance / "data_key").write_text("rC4J0wqCFvRdyfyqlOSL6HwCsGgaXJ9_G4MlsTVdxiA=")
    monkeypatch.setenv("CISHAN_INSTANCE_PATH", str(instance))
    for name in ("DATA_KEY", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    create_app().extensions["engine"].dispose()
    assert mode(instance) == 0o700
    for name in ("cishan.db", "cishan.db-wal", "cishan.db-shm", "data_key"):
        assert mode(instance / name) == 0o600, name
