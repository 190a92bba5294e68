"""Keys are generated once into the instance folder, private, and required in production."""

from __future__ import annotations

import gc
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


def test_a_served_app_takes_what_start_up_loaded_out_of_the_cycle_collector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full collection then walks only what requests made, not the libraries and mappers
    (the suite itself runs with ``GC_FREEZE=0``)."""
    from web import create_app

    settings = {"CISHAN_INSTANCE_PATH": str(tmp_path),
                "DATABASE_URL": f"sqlite:///{tmp_path / 'gc.db'}"}  # fmt: skip
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    assert gc.get_freeze_count() == 0
    try:
        create_app()
        assert gc.get_freeze_count() == 0  # GC_FREEZE=0
        monkeypatch.setenv("GC_FREEZE", "1")
        create_app({"TESTING": True})
        assert gc.get_freeze_count() == 0  # nor under test
        create_app()
        frozen = gc.get_freeze_count()
        assert frozen > 100_000  # the libraries alone are this many
        assert len(gc.get_objects()) < frozen / 10  # what a full collection still walks
    finally:
        gc.unfreeze()


@pytest.mark.parametrize(("given", "read"), [(None, 0), ("", 0), ("1", 1), ("2", 2)])
def test_proxies_in_front_are_counted_from_the_environment(
    tmp_path: Path, given: str | None, read: int
) -> None:
    env = {"CISHAN_INSTANCE_PATH": str(tmp_path)} | (
        {"PROXY_COUNT": given} if given is not None else {}
    )
    assert load_config(env)["PROXY_COUNT"] == read


@pytest.mark.parametrize("given", ["yes", "-1", "9"])
def test_a_mistyped_proxy_count_stops_the_start(tmp_path: Path, given: str) -> None:
    with pytest.raises(ConfigError, match="PROXY_COUNT"):
        load_config({"CISHAN_INSTANCE_PATH": str(tmp_path), "PROXY_COUNT": given})


@pytest.mark.parametrize("given", ["a year", "-1"])
def test_a_mistyped_retention_stops_the_start_naming_the_setting(
    tmp_path: Path, given: str
) -> None:
    with pytest.raises(ConfigError, match="CASE_RETENTION_DAYS"):
        load_config({"CISHAN_INSTANCE_PATH": str(tmp_path), "CASE_RETENTION_DAYS": given})
