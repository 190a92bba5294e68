"""Engine and session factory, shared by the web app, the scheduler, seeds and tests."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker


def create_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with the settings this service relies on.

    PostgreSQL connections are checked before use, so a restarted server costs one failed
    request at most. SQLite gets foreign keys, a busy timeout, and real transactions: pysqlite
    otherwise begins them lazily and ignores SAVEPOINT semantics. Each SQLite transaction
    begins ``IMMEDIATE``, taking the write lock up front: SQLite admits one writer, and a
    transaction that read first and writes later would otherwise fail at once ("database is
    locked") when another wrote in between, instead of waiting its turn. Transactions on
    SQLite therefore run one at a time; PostgreSQL is the database for many users.
    """
    if url.startswith("sqlite"):
        _owner_only_sqlite(sa.make_url(url).database)
        connect_args = kwargs.setdefault("connect_args", {})
        connect_args.setdefault("timeout", 30)
        connect_args["check_same_thread"] = False
        engine = sa.create_engine(url, **kwargs)
        _make_sqlite_transactional(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return sa.create_engine(url, **kwargs)


#: What SQLite writes beside a database; it gives them the database file's own mode.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def _owner_only_sqlite(database: str | None) -> None:
    """The database file readable by its owner only, whatever the umask: created so before
    SQLite opens it (an empty file is an empty database), its WAL and shared memory then
    following its mode; files made earlier under a looser umask are tightened."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.is_dir():
        return  # SQLite will refuse it with its own message
    # Only ever a new file. Opening an existing database here and closing it again would drop
    # every POSIX lock this process holds on it (closing any descriptor of a file does), so a
    # connection of another engine in this process would lose the lock that tells others it
    # is open: the last connection of another process to close then checkpoints and removes
    # the WAL under it, and its next read or write finds, or makes, a malformed database.
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for name in (path, *(Path(f"{path}{suffix}") for suffix in SQLITE_COMPANIONS)):
        with contextlib.suppress(FileNotFoundError):
            name.chmod(0o600)


def _make_sqlite_transactional(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(bind: Engine | Connection, **info: Any) -> sessionmaker[Session]:
    """A session factory; ``info`` lands in every session's ``info`` (e.g. the data cipher).

    When ``bind`` is a connection already in a transaction (tests), sessions join it through
    savepoints, so code under test may commit and the outer transaction still rolls back.
    """
    kwargs: dict[str, Any] = {"expire_on_commit": False, "info": info}
    if isinstance(bind, Connection):
        kwargs["join_transaction_mode"] = "create_savepoint"
    return sessionmaker(bind=bind, **kwargs)


def next_ids(db: Session, table_name: str, count: int) -> list[int]:
    """``count`` ids taken from the sequence of ``table_name``'s ``id`` (PostgreSQL only)."""
    sequence = db.scalar(sa.select(sa.func.pg_get_serial_sequence(table_name, "id")))
    return list(
        db.scalars(
            sa.select(sa.func.nextval(sequence)).select_from(sa.func.generate_series(1, count))
        )
    )


def assign_ids(db: Session, objects: list[Any]) -> None:
    """Give new rows of one table their ids from its sequence first, on PostgreSQL, so a
    flush of many inserts them with one executemany instead of a multi-row INSERT … RETURNING
    (psycopg parses such a statement anew for every thousand rows: measured, a quarter of a
    10,000-row household import). Elsewhere, and for no rows, nothing is done."""
    if not objects or db.get_bind().dialect.name != "postgresql":
        return
    table = sa.inspect(type(objects[0])).local_table
    for row, id_ in zip(objects, next_ids(db, table.name, len(objects)), strict=True):
        row.id = id_


def insert_new(db: Session, *groups: list[Any]) -> bool:
    """Insert new objects whose ids :func:`assign_ids` gave, each group of one mapped class
    with one executemany of their column values, skipping the unit of work's bookkeeping per
    object (a sixth of a 100,000-row household import). As in a flush, a None the column's
    type does not store itself is left out, and a column no object of a group sets gets its
    default. The objects stay out of the session: they are not persistent, and what was
    left to a default reads None on them.

    False, and nothing done, for a group without ids (not PostgreSQL), of an inherited
    mapping, or with a column set by some objects only that has a default or stores None
    itself (JSON): add and flush those objects instead."""
    prepared = [_insert_rows(group) for group in groups if group]
    if None in prepared:
        return False
    for table, rows in filter(None, prepared):
        db.execute(sa.insert(table), rows)
    return True


def _insert_rows(objects: list[Any]) -> tuple[sa.Table, list[dict[str, Any]]] | None:
    if not objects or objects[0].id is None:
        return None
    mapper = sa.inspect(type(objects[0]))
    table = mapper.local_table
    columns = {attr.key: attr.columns[0] for attr in mapper.column_attrs}
    if any(column.table is not table for column in columns.values()):
        return None
    given = [
        {
            key: value
            for key, value in vars(o).items()
            if key in columns and (value is not None or columns[key].type.should_evaluate_none)
        }
        for o in objects
    ]
    keys = set().union(*given)
    for key in keys:
        column = columns[key]
        if any(key not in row for row in given) and (
            column.default is not None
            or column.server_default is not None
            or column.type.should_evaluate_none
        ):
            return None
    return table, [{columns[key].key: row.get(key) for key in keys} for row in given]


def add_unless_taken(db: Session, row: Any) -> bool:
    """Add and flush ``row`` in a savepoint: False, and nothing added, when a unique
    constraint already holds its key (another request or process got there first); the
    session's transaction goes on either way."""
    try:
        with db.begin_nested():
            db.add(row)
            db.flush()
    except IntegrityError:
        return False
    return True
