"""One database session per request, committed once when the response succeeds."""

from __future__ import annotations

from flask import current_app, g
from sqlalchemy.orm import Session


def get_db() -> Session:
    """The request's session, opened on first use."""
    if "db" not in g:
        g.db = current_app.extensions["sessionmaker"]()
    return g.db


def commit_if_open() -> None:
    """Commit the request's session if one was opened (the response was a success)."""
    db = g.get("db")
    if db is not None:
        db.commit()


def close_db(_exc: BaseException | None = None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()
