"""Files holding keys or personal data are their owner's alone, whatever the umask: ``instance/``
and the backup folder 0700, keys and backups 0600 (the database file: ``models.session``)."""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """``path`` made (with its parents) if absent, and owner-only."""
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    path.chmod(PRIVATE_DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """``path`` created empty and owner-only if absent, made owner-only if present: created
    so before anything is written, it is never readable by others, not even for a moment."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE))
    path.chmod(PRIVATE_FILE_MODE)
    return path
