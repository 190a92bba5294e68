"""Run Alembic migrations programmatically (``flask db upgrade`` and the tests use this)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(
    url: str | None = None, connection: Connection | None = None, data_key: str | None = None
) -> Config:
    """The Alembic configuration; ``data_key`` is for migrations that rewrite encrypted personal
    data or index it with a keyed hash (default: the ``DATA_KEY`` environment variable)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    cfg.attributes["url"] = url
    cfg.attributes["connection"] = connection
    cfg.attributes["data_key"] = data_key
    return cfg


def upgrade(
    url: str | None = None,
    connection: Connection | None = None,
    rev: str = "head",
    data_key: str | None = None,
) -> None:
    command.upgrade(alembic_config(url, connection, data_key), rev)


def downgrade(
    url: str | None = None,
    connection: Connection | None = None,
    rev: str = "base",
    data_key: str | None = None,
) -> None:
    command.downgrade(alembic_config(url, connection, data_key), rev)
