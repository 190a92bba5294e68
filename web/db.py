"""One database session per request, committed once when the response succeeds (and, before
anything is written, when an API token's last use is stamped: ``users.load_token_user``);
and, where a read replica is configured (``DATABASE_URL_READ``), a second one on it for the
figures of dashboards and reports, never written to."""

from __future__ import annotations

from flask import current_app, g
from sqlalchemy.orm import Session, sessionmaker


def get_db() -> Session:
    """The request's session, opened on first use."""
    if "db" not in g:
        g.db = current_app.extensions["sessionmaker"]()
    return g.db


def read_sessionmaker() -> sessionmaker[Session]:
    """The factory figures are read with: the replica's when there is one, else the
    primary's."""
    factory: sessionmaker[Session] = current_app.extensions["read_sessionmaker"]
    return factory


def get_read_db() -> Session | None:
    """The request's session on the read replica, opened on first use; None without one (read
    from :func:`get_db` then). Only for aggregate figures that may lag the primary by a
    moment: access checks, audit records and anything a user acts on stay on the primary."""
    if current_app.extensions["read_sessionmaker"] is current_app.extensions["sessionmaker"]:
        return None
    if "read_db" not in g:
        g.read_db = read_sessionmaker()()
    return g.read_db


def commit_if_open() -> None:
    """Commit the request's session if one was opened (the response was a success)."""
    db = g.get("db")
    if db is not None:
        db.commit()


def close_db(_exc: BaseException | None = None) -> None:
    for name in ("db", "read_db"):
        db = g.pop(name, None)
        if db is not None:
            db.close()
