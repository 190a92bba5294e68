"""Keys are generated once into the instance folder, private, and required in production."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from web.config import ConfigError, load_config


def test_keys_are_generated_once_with_private_permissions(tmp_path: Path) -> None:
    env = {"CISHAN_INSTANCE_PATH": str(tmp_path)}
    first = load_config(env)
    second = load_config(env)
    assert first["SECRET_KEY"] == second["SECRET_KEY"]
    assert first["DATA_KEY"] == second["DATA_KEY"]
    for name in ("secret_key", "data_key"):
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode == 0o600, name
    assert first["DATABASE_URL"] == f"sqlite:///{tmp_path / 'cishan.db'}"


def test_given_keys_are_used_and_nothing_is_written(tmp_path: Path) -> None:
    env = {
        "CISHAN_INSTANCE_PATH": str(tmp_path),
        "SECRET_KEY": "s" * 32,
        "DATA_KEY": "rC4J0wqCFvRdyfyqlOSL6HwCsGgaXJ9_G4MlsTVdxiA=",
        "DATABASE_URL": "postgresql+psycopg://app@db/cishan",
    }
    config = load_config(env)
    assert config["SECRET_KEY"] == "s" * 32
    assert config["DATABASE_URL"] == "postgresql+psycopg://app@db/cishan"
    assert not (tmp_path / "secret_key").exists() and not (tmp_path / "data_key").exists()


def test_production_refuses_to_start_without_keys(tmp_path: Path) -> None:
    env = {"CISHAN_INSTANCE_PATH": str(tmp_path), "CISHAN_ENV": "production"}
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config(env)
    env |= {"SECRET_KEY": "s" * 32, "DATA_KEY": "rC4J0wqCFvRdyfyqlOSL6HwCsGgaXJ9_G4MlsTVdxiA="}
    assert load_config(env)["SESSION_COOKIE_SECURE"] is True
