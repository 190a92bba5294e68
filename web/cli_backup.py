"""``flask backup create | restore``: a copy of the database, and putting one back.

On SQLite the copy is taken through SQLite's online backup API, which reads one consistent
snapshot while the app and the scheduler go on writing (the database runs in WAL mode), and
is checked with ``PRAGMA integrity_check`` before it counts as a backup. On PostgreSQL it is
``pg_dump``'s custom format, put back with ``pg_restore``. A backup is restored only when its
schema is the one this code migrates to, so the app never starts on tables it does not know.

Attachment files (receipts, photos, signed confirmations) are kept outside the database, so
a backup carries them beside it: ``<backup>.attachments.tar`` holds the whole store, one
member per file under its content-hash key. A restore puts each back after checking that
its bytes hash to its name (files added since stay: nothing in the database points to them);
pruning removes a backup's files with it.

ID numbers and phones stay encrypted with ``DATA_KEY`` inside every backup: a backup is
readable only with the key it was made under, so the key must be kept, apart from the backups.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess  # nosec B404
import tarfile
from collections.abc import Iterator
from pathlib import Path

import click
from alembic.script import ScriptDirectory
from cryptography.fernet import InvalidToken
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.engine import URL, make_url

from models import clock, migrate

from .files import private_dir, private_file
from .services.storage import LocalDiskStorage, content_key
from .storage import attachment_dir

backup_cli = AppGroup("backup", help="数据库备份与恢复。")

#: Backup names carry the local (Guangdong) time they were taken.
#: Only files named like this are ever pruned.
BACKUP_NAME = re.compile(r"cishan-\d{8}-\d{6}\.(sqlite3|dump)")
KEY_REMINDER = (
    "提醒：备份中的身份证号、电话等个人信息以 DATA_KEY 加密，只有用同一个 DATA_KEY 才能读取；"
    "请另行妥善保存该密钥，不要与备份放在一起。"
)


def _database_url() -> URL:
    return make_url(current_app.config["DATABASE_URL"])


def _is_postgres(url: URL) -> bool:
    return url.get_backend_name() == "postgresql"


def _sqlite_path(url: URL) -> Path:
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        raise click.ClickException(f"不支持备份此数据库：{url.render_as_string()}")
    return Path(url.database)


def _head_revision() -> str | None:
    return ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection string without the password, and an environment carrying it (so
    it never shows in the process list)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _client(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise click.ClickException(
            f"找不到 {program}：请安装 PostgreSQL 客户端（主版本不低于服务器）"
            "，并确保它在 PATH 中。"
        )
    return path


def _run(command: list[str], env: dict[str, str], failure: str) -> str:
    """Run a PostgreSQL client (an absolute path from ``_client``, no shell) and return its
    output; a non-zero exit becomes ``failure`` with the client's own message."""
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603  # nosec B603
    if done.returncode != 0:
        raise click.ClickException(f"{failure}：{done.stderr.strip() or done.returncode}")
    return done.stdout


def _size(path: Path) -> str:
    return f"{path.stat().st_size:,} 字节"


# --- SQLite -------------------------------------------------------------------------------


def copy_sqlite(source: Path, target: Path) -> None:
    """Copy the live database at ``source`` into a new file ``target`` and check the copy.

    The copy is made in one step, so it is one snapshot even while others write, and is left
    in rollback-journal mode: one self-contained file, with no ``-wal`` beside it.
    """
    if not source.exists():
        raise click.ClickException(f"数据库文件不存在：{source}")
    live = sqlite3.connect(source, timeout=30)
    copy = sqlite3.connect(target)
    try:
        live.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")
        problems = [row[0] for row in copy.execute("PRAGMA integrity_check")]
    finally:
        copy.close()
        live.close()
    if problems != ["ok"]:
        raise click.ClickException(f"备份副本未通过完整性检查：{'; '.join(problems[:5])}")


def check_sqlite_backup(path: Path) -> None:
    """Refuse ``path`` unless it is an intact SQLite database at this code's schema, whose
    personal data the current ``DATA_KEY`` decrypts."""
    head = _head_revision()
    try:
        backup = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise click.ClickException(f"无法打开备份文件 {path}：{error}") from None
    try:
        problems = [row[0] for row in backup.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise click.ClickException(f"备份文件 {path} 已损坏：{'; '.join(problems[:5])}")
        tables = {row[0] for row in backup.execute("SELECT name FROM sqlite_master")}
        if "alembic_version" not in tables:
            raise click.ClickException(f"{path} 不是本平台的数据库备份（没有迁移版本记录）。")
        version = backup.execute("SELECT version_num FROM alembic_version").fetchone()
        _check_revision(version[0] if version else None, head)
        sample = backup.execute(
            "SELECT id_number_encrypted FROM members WHERE id_number_encrypted IS NOT NULL "
            "UNION ALL SELECT phone_encrypted FROM households WHERE phone_encrypted IS NOT NULL "
            "LIMIT 1"
        ).fetchone()
    except sqlite3.DatabaseError as error:
        raise click.ClickException(f"{path} 已损坏或不是 SQLite 数据库：{error}") from None
    finally:
        backup.close()
    if sample is not None:
        try:
            current_app.extensions["cipher"].decrypt(sample[0])
        except InvalidToken:
            raise click.ClickException(
                "备份中的个人信息无法用当前 DATA_KEY 解密：它是在另一个密钥下制作的。"
                "请用制作备份时的 DATA_KEY 运行恢复。"
            ) from None


def restore_sqlite(path: Path, live: Path) -> None:
    """Write the backup at ``path`` over the live database through the backup API, in one
    write transaction, so connections already open (the app's, the scheduler's) see the
    restored data at their next read and never half of it."""
    if live.exists() and live.resolve() == path.resolve():
        raise click.ClickException("备份文件就是当前数据库本身。")
    backup = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    target = sqlite3.connect(live, timeout=30)
    try:
        backup.backup(target)
    except sqlite3.Error as error:
        raise click.ClickException(f"恢复失败，当前数据库未改动：{error}") from None
    finally:
        target.close()
        backup.close()


# --- PostgreSQL ---------------------------------------------------------------------------


def dump_postgres(url: URL, target: Path) -> None:
    """``pg_dump --format=custom`` of the database at ``url`` into ``target``, then read
    back its table of contents to make sure the archive is whole."""
    pg_dump, pg_restore = _client("pg_dump"), _client("pg_restore")
    dsn, env = _libpq(url)
    _run([pg_dump, "--format=custom", f"--file={target}", f"--dbname={dsn}"], env, "pg_dump 失败")
    _run([pg_restore, "--list", str(target)], env, "备份文件检查失败")


def check_postgres_backup(path: Path) -> None:
    """Refuse ``path`` unless ``pg_restore`` reads it and its schema is this code's."""
    pg_restore = _client("pg_restore")
    env = dict(os.environ)
    _run([pg_restore, "--list", str(path)], env, f"{path} 不是有效的 pg_dump 备份")
    data = _run(
        [pg_restore, "--data-only", "--table=alembic_version", "--file=-", str(path)],
        env,
        "读取备份的迁移版本失败",
    )
    _check_revision(_first_copied_row(data), _head_revision())


def _first_copied_row(sql: str) -> str | None:
    """The first row of the first ``COPY ... FROM stdin`` block of a plain-SQL dump."""
    lines = iter(sql.splitlines())
    for line in lines:
        if line.startswith("COPY "):
            row = next(lines, "\\.")
            return None if row == "\\." else row
    return None


def restore_postgres(url: URL, path: Path) -> None:
    """``pg_restore --clean --if-exists --no-owner`` in one transaction: a failure leaves
    the database as it was."""
    pg_restore = _client("pg_restore")
    dsn, env = _libpq(url)
    command = [pg_restore, "--clean", "--if-exists", "--no-owner", "--single-transaction",
               f"--dbname={dsn}", str(path)]  # fmt: skip
    _run(command, env, "pg_restore 失败，数据库未改动")


# --- attachment files ---------------------------------------------------------------------

#: Beside each backup, the attachment files it goes with.
ATTACHMENTS_SUFFIX = ".attachments.tar"


def attachments_of(backup: Path) -> Path:
    """Where the attachment files of ``backup`` are kept."""
    return backup.with_name(backup.name + ATTACHMENTS_SUFFIX)


def pack_attachments(store: LocalDiskStorage, target: Path) -> int:
    """Every file of ``store`` into the tar ``target`` (made owner-only first), under its
    ``ab/cd/<sha256>`` key path; returns how many."""
    keys = store.keys()
    partial = private_file(target.with_name(target.name + ".partial"))
    try:
        with tarfile.open(partial, "w") as archive:
            for key in keys:
                archive.add(store.path_of(key), arcname=f"{key[:2]}/{key[2:4]}/{key}")
        partial.rename(target)
    finally:
        partial.unlink(missing_ok=True)
    return len(keys)


def _archived_files(archive_path: Path) -> Iterator[bytes]:
    """The files of an attachments tar one at a time, each checked to hash to its name (a
    member's path is never used as a path).

    :raise click.ClickException: not a tar, or a member that is not a file named by its hash.
    """
    try:
        with tarfile.open(archive_path, "r") as archive:
            for member in archive:
                if member.isdir():
                    continue
                key = member.name.rsplit("/", 1)[-1]
                handle = archive.extractfile(member) if member.isfile() else None
                data = handle.read() if handle is not None else None
                if (
                    data is None
                    or member.name != f"{key[:2]}/{key[2:4]}/{key}"
                    or (content_key(data) != key)
                ):
                    raise click.ClickException(
                        f"附件备份 {archive_path} 中的 {member.name} 与其内容不符，未恢复任何数据。"
                    )
                yield data
    except tarfile.TarError as error:
        raise click.ClickException(f"附件备份 {archive_path} 已损坏：{error}") from None


def check_attachments(archive_path: Path) -> int:
    """How many files the attachments tar holds, all of them checked (nothing written)."""
    return sum(1 for _data in _archived_files(archive_path))


def restore_attachments(archive_path: Path, store: LocalDiskStorage) -> int:
    """Put every file of the (checked) attachments tar back into ``store``."""
    count = 0
    for data in _archived_files(archive_path):
        store.put(data)
        count += 1
    return count


# --- both ---------------------------------------------------------------------------------


def _check_revision(version: str | None, head: str | None) -> None:
    if version is None:
        raise click.ClickException("备份中没有迁移版本记录，不是本平台的数据库备份。")
    if version != head:
        raise click.ClickException(
            f"备份的数据库结构版本是 {version}，当前程序是 {head}：版本不同，不能恢复。"
            "请用同一版本的程序恢复，再运行 flask db upgrade。"
        )


def prune_backups(folder: Path, suffix: str, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest backups ending in ``suffix`` in ``folder``; files
    named otherwise are never touched. Returns the deleted paths."""
    ours = sorted(
        path
        for path in folder.iterdir()
        if path.is_file() and BACKUP_NAME.fullmatch(path.name) and path.suffix == suffix
    )
    doomed = ours[:-keep]
    for path in doomed:
        path.unlink()
        attachments_of(path).unlink(missing_ok=True)
    return doomed


@backup_cli.command("create")
@click.option("--out", "folder", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="备份目录（默认 instance/backups/）")  # fmt: skip
@click.option("--keep", type=click.IntRange(min=1), default=14, show_default=True,
              help="只保留最新的若干个备份，更早的（仅限本命名格式）删除")  # fmt: skip
def backup_create(folder: Path | None, keep: int) -> None:
    """Back up the database as cishan-YYYYmmdd-HHMMSS (Guangdong time), and the attachment
    files beside it, readable by their owner only."""
    url = _database_url()
    folder = folder or Path(current_app.config["INSTANCE_PATH"]) / "backups"
    private_dir(folder)
    postgres = _is_postgres(url)
    if postgres:
        _client("pg_dump")  # a missing client is the first thing to say, before any name clash
    suffix = ".dump" if postgres else ".sqlite3"
    path = folder / f"cishan-{clock.now():%Y%m%d-%H%M%S}{suffix}"
    if path.exists():
        raise click.ClickException(f"{path} 已存在（同一秒内已备份过），请稍后再试。")
    # Written under another name first, so a half-made copy is never taken for a backup.
    partial = private_file(path.with_name(path.name + ".partial"))
    try:
        if postgres:
            dump_postgres(url, partial)
        else:
            copy_sqlite(_sqlite_path(url), partial)
        partial.rename(path)
    finally:
        partial.unlink(missing_ok=True)
    click.echo(f"已备份到 {path}（{_size(path)}）")
    store = LocalDiskStorage(attachment_dir(current_app))
    packed = pack_attachments(store, attachments_of(path))
    click.echo(f"附件 {packed} 个已备份到 {attachments_of(path)}")
    pruned = prune_backups(folder, suffix, keep)
    if pruned:
        click.echo(f"已删除较早的备份 {len(pruned)} 个（保留最新 {keep} 个）。")
    click.echo(KEY_REMINDER)


@backup_cli.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", "confirmed", is_flag=True, help="确认用备份替换当前数据库的全部数据")
def backup_restore(file: Path, confirmed: bool) -> None:
    """Replace the whole database with the backup FILE (same schema version only), and put
    back the attachment files beside it. Stop the web app and the scheduler first on
    PostgreSQL."""
    url = _database_url()
    if not confirmed:
        raise click.ClickException(
            f"恢复会用 {file} 替换数据库 {url.render_as_string()} 的全部数据，当前数据将丢失。"
            "如需保留，先运行 flask backup create；确认无误后加 --yes 再运行。"
        )
    archive = attachments_of(file)
    if _is_postgres(url):
        check_postgres_backup(file)
    else:
        check_sqlite_backup(file)
    if archive.exists():
        check_attachments(archive)  # a bad one stops the restore before the database changes
    if _is_postgres(url):
        restore_postgres(url, file)
    else:
        restore_sqlite(file, _sqlite_path(url))
    click.echo(f"已从 {file} 恢复数据库 {url.render_as_string()}。")
    if archive.exists():
        restored = restore_attachments(archive, LocalDiskStorage(attachment_dir(current_app)))
        click.echo(f"已恢复附件 {restored} 个。")
    else:
        click.echo(f"未找到附件备份 {archive}：附件文件未恢复。")
    click.echo(KEY_REMINDER)
