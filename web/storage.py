"""The app's attachment store, as configured (``ATTACHMENT_DIR``, default
``INSTANCE_PATH/attachments``), and how an attachment is sent to the browser."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from flask import Flask, Response, current_app

from web.services.referrals.attachments import EXTENSIONS, AttachmentFile
from web.services.storage import LocalDiskStorage, Storage


def attachment_dir(app: Flask) -> Path:
    """Where ``app`` keeps attachment files on disk."""
    configured = app.config.get("ATTACHMENT_DIR")
    return Path(configured or Path(app.config["INSTANCE_PATH"]) / "attachments")


def attachment_storage(app: Flask | None = None) -> Storage:
    """The store of ``app`` (default: the current app). An S3-compatible store would be
    chosen here, from its own settings."""
    return LocalDiskStorage(attachment_dir(app or current_app._get_current_object()))  # type: ignore[attr-defined]


def attachment_response(file: AttachmentFile) -> Response:
    """The file as a download, never shown in place nor sniffed as another type; its name
    in RFC 5987 form (Chinese names), with a plain ASCII fallback."""
    response = Response(file.data, mimetype=file.media_type)
    fallback = "attachment" + EXTENSIONS[file.media_type]
    response.headers["Content-Disposition"] = (
        f"attachment; filename={fallback}; filename*=UTF-8''{quote(file.filename)}"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
