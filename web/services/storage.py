"""Where attachment files are kept: a small content-addressed store behind :class:`Storage`.

A file's key is the SHA-256 of its bytes, so the same bytes are kept once and a key names
exactly one content. :class:`LocalDiskStorage` keeps them under the instance folder
(``ATTACHMENT_DIR``, default ``instance/attachments``) as ``ab/cd/<sha256>``, owner-only like
the rest of ``instance/``. An S3-compatible object store can replace it with a class of the
same four methods (``put`` as ``PutObject`` under the key, ``get`` as ``GetObject``,
``exists`` as ``HeadObject``, ``delete`` as ``DeleteObject``); nothing else knows where the
bytes are.

A file written for a request whose transaction then rolls back stays on disk unreferenced:
harmless (the same bytes are reused by the next upload of them) and never served, since only
a row in ``attachments`` leads to a key.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

from web.files import PRIVATE_FILE_MODE, private_dir

_KEY = re.compile(r"[0-9a-f]{64}")


class StorageError(LookupError):
    """No file under that key, or a key that is not one."""


class Storage(Protocol):
    """A content-addressed store of files."""

    def put(self, data: bytes) -> str:
        """Keep ``data``; returns its key, the hex SHA-256 of ``data``."""
        ...

    def get(self, key: str) -> bytes:
        """The bytes kept under ``key``.

        :raise StorageError: nothing under ``key``.
        """
        ...

    def exists(self, key: str) -> bool:
        """Whether anything is kept under ``key``."""
        ...

    def delete(self, key: str) -> None:
        """Forget ``key`` (nothing happens if nothing is kept under it)."""
        ...


def content_key(data: bytes) -> str:
    """The key of ``data`` in any store: its hex SHA-256."""
    return hashlib.sha256(data).hexdigest()


class LocalDiskStorage:
    """Files in a folder on this machine, as ``root/ab/cd/<sha256>``, folders 0700 and files
    0600 whatever the umask."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_of(self, key: str) -> Path:
        if not _KEY.fullmatch(key):
            raise StorageError(f"不是有效的文件键：{key!r}")
        return self.root / key[:2] / key[2:4] / key

    def put(self, data: bytes) -> str:
        key = content_key(data)
        path = self.path_of(key)
        if path.exists():
            return key
        private_dir(self.root)
        private_dir(path.parent.parent)
        folder = private_dir(path.parent)
        # Written under a temporary name and renamed, so a half-written file never has the key.
        fd, partial = tempfile.mkstemp(dir=folder, prefix=".partial-")
        try:
            os.fchmod(fd, PRIVATE_FILE_MODE)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(partial, path)
        finally:
            Path(partial).unlink(missing_ok=True)
        return key

    def get(self, key: str) -> bytes:
        path = self.path_of(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise StorageError(f"文件不存在：{key}") from None

    def exists(self, key: str) -> bool:
        return self.path_of(key).is_file()

    def delete(self, key: str) -> None:
        self.path_of(key).unlink(missing_ok=True)

    def keys(self) -> list[str]:
        """Every key kept, for backups."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.glob("*/*/*") if _KEY.fullmatch(p.name))
