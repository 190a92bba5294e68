"""Run Alembic migrations programmatically (``flask db upgrade`` and the tests use this)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    cfg.attributes["url"] = url
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(
    url: str | None = None, connection: Connection | None = None, rev: str = "head"
) -> None:
    command.upgrade(alembic_config(url, connection), rev)


def downgrade(
    url: str | None = None, connection: Connection | None = None, rev: str = "base"
) -> None:
    command.downgrade(alembic_config(url, connection), rev)
