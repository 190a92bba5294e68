"""Attachments (附件): receipts, photos and signed confirmations kept with a referral.

The provider (the charity owning the project, or the station answerable for a local
resource) attaches them to its service episodes and to the completion, once it has accepted;
the household's own station attaches them to its follow-up (回访). Files are PDF, JPEG or PNG,
told by their content, never their name, and no larger than the ``max_bytes`` the caller
passes (``ATTACHMENT_MAX_BYTES``). Images are decoded and encoded afresh, which drops every
piece of metadata they carried (EXIF, the camera's GPS position, comments, colour profiles),
after turning them upright as the camera's orientation said; PDFs are kept as they came.

Whoever sees the referral sees its attachments and may download them, every download
recorded in the audit log, except that a party seeing the household only as a provider sees
neither attachments before acceptance nor the follow-up's (as it never sees the station's
follow-up note). A referral or an attachment out of the actor's sight is not found.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import sqlalchemy as sa
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.orm import Session

from models import Attachment, Referral, ServiceEpisode, User
from models.enums import CHARITY_SEES_HOUSEHOLD_STATES, AttachmentKind, ReferralStatus, Role

from ..audit import write_audit
from ..errors import Conflict, NotFound, ValidationFailed
from ..storage import Storage, StorageError
from .followups import find_follow_up
from .guards import (
    load_referral,
    provides,
    referral_for_provider,
    require_live,
    require_party,
    sees_as_provider,
)

S = ReferralStatus
K = AttachmentKind

#: The largest file accepted, in bytes (the ``ATTACHMENT_MAX_BYTES`` setting's default).
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
#: Most characters of a caption, and of a kept file name.
CAPTION_MAX_CHARS = 200
FILENAME_MAX_CHARS = 100
#: The types accepted, and the extension a kept name is given for each.
EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}
#: Pillow's format names for the images accepted.
_IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png"}
#: Referral states in which the provider may attach to an episode.
_EPISODE_STATES = (S.IN_SERVICE, S.COMPLETED)
_NOT_FOUND = "附件不存在或您无权查看。"
_WRONG_TYPE = "只能上传 PDF、JPEG 或 PNG 文件（按文件内容识别，与文件名无关）。"


@dataclass(frozen=True)
class AttachmentFile:
    """A downloaded attachment: the bytes, their type and the name to save them under."""

    filename: str
    media_type: str
    data: bytes


def _refuse(message: str, field: str = "file") -> ValidationFailed:
    return ValidationFailed(fields={field: [message]})


def clean_filename(name: str | None, media_type: str) -> str:
    """The uploaded name without any folder or control characters, shortened, and ending
    in the extension of the type the content really is (``附件.pdf`` when nothing is left)."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip().strip(".")
    stem = PurePath(base).stem if PurePath(base).suffix else base
    stem = stem.strip()[: FILENAME_MAX_CHARS - 5] or "附件"
    return stem + EXTENSIONS[media_type]


def _reencoded(data: bytes) -> tuple[str, bytes] | None:
    """An image's type and its pixels encoded afresh (upright, no metadata), or None when
    ``data`` is not a whole PNG or JPEG."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                kind = probe.format
                probe.verify()
            if kind not in _IMAGE_TYPES:
                return None
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                upright = ImageOps.exif_transpose(image)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
            Image.DecompressionBombError, Image.DecompressionBombWarning):  # fmt: skip
        return None
    keep = ("RGB", "L") if kind == "JPEG" else ("RGB", "RGBA", "L", "LA")
    if upright.mode not in keep:
        upright = upright.convert("RGBA" if kind == "PNG" and upright.has_transparency_data
                                  else "RGB")  # fmt: skip
    # Only the pixels go across: nothing of the original's info (EXIF, GPS, text, ICC).
    clean = Image.frombytes(upright.mode, upright.size, upright.tobytes())
    out = io.BytesIO()
    if kind == "JPEG":
        clean.save(out, format="JPEG", quality=90, optimize=True)
    else:
        clean.save(out, format="PNG", optimize=True)
    return _IMAGE_TYPES[kind], out.getvalue()


def _size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.3g} MB"
    return f"{size / 1024:.3g} KB" if size >= 1024 else f"{size} 字节"


def inspect_file(data: bytes, max_bytes: int = ATTACHMENT_MAX_BYTES) -> tuple[str, bytes]:
    """The media type of ``data`` by its content and the bytes to keep: a PDF as it is, an
    image encoded afresh without its metadata.

    :raise ValidationFailed: on ``file``: empty, larger than ``max_bytes``, or neither PDF,
        JPEG nor PNG (whatever it is named).
    """
    if not data:
        raise _refuse("请选择要上传的文件（文件不能为空）。")
    if len(data) > max_bytes:
        raise _refuse(f"文件不能超过 {_size_text(max_bytes)}。")
    if data.startswith(b"%PDF-"):
        return "application/pdf", data
    image = _reencoded(data)
    if image is None:
        raise _refuse(_WRONG_TYPE)
    return image


def _owner(
    db: Session, actor: User, referral_id: int, kind: AttachmentKind, owner_id: int | None
) -> tuple[Referral, int | None, int | None]:
    """The referral an attachment of ``kind`` goes with, if ``actor`` may attach it, and its
    episode or follow-up id."""
    if kind == K.FOLLOW_UP:
        require_party(actor, Role.STATION_STAFF)
        referral = load_referral(db, actor, referral_id)
        if referral.need.household.station_id != actor.station_id:
            raise NotFound("转介不存在或您无权查看。")
        require_live(referral)
        follow_up = find_follow_up(db, referral.id)
        if follow_up is None:
            raise Conflict(f"该转介当前为“{referral.status.label}”，帮扶完成后才能回访。")
        if owner_id is not None and owner_id != follow_up.id:
            raise _refuse("回访记录不属于该转介。", "follow_up_id")
        return referral, None, follow_up.id
    referral = referral_for_provider(db, actor, referral_id, None)
    if kind == K.COMPLETION:
        if referral.status != S.COMPLETED:
            raise Conflict(f"该转介当前为“{referral.status.label}”，帮扶完成后才能上传完成凭证。")
        return referral, None, None
    if referral.status not in _EPISODE_STATES:
        raise Conflict(f"该转介当前为“{referral.status.label}”，开始服务后才能为服务记录上传附件。")
    episode = db.get(ServiceEpisode, owner_id) if owner_id is not None else None
    if episode is None or episode.referral_id != referral.id:
        raise _refuse("请选择该转介的一条服务记录。", "episode_id")
    return referral, episode.id, None


def add_attachment(
    db: Session,
    actor: User,
    storage: Storage,
    referral_id: int,
    data: bytes,
    filename: str | None,
    kind: AttachmentKind,
    *,
    owner_id: int | None = None,
    caption: str | None = None,
    max_bytes: int = ATTACHMENT_MAX_BYTES,
) -> Attachment:
    """Attach a file to one of the referral's service episodes (``owner_id`` its id), to
    its completion, or to its follow-up; the file is kept in ``storage`` and recorded.

    :raise Forbidden: an episode's or completion's file from anyone but the provider, a
        follow-up's from anyone but station staff.
    :raise NotFound: the referral is out of the actor's sight (a follow-up's: not the
        household's own station).
    :raise Conflict: not yet in service (episode), completed (completion) or due a
        follow-up.
    :raise ValidationFailed: by field: ``file`` (empty, too large, not PDF/JPEG/PNG),
        ``episode_id`` / ``follow_up_id`` (not the referral's), ``caption`` (too long).
    """
    referral, episode_id, follow_up_id = _owner(db, actor, referral_id, kind, owner_id)
    text = (caption or "").strip() or None
    if text is not None and len(text) > CAPTION_MAX_CHARS:
        raise _refuse(f"说明不能超过 {CAPTION_MAX_CHARS} 个字。", "caption")
    media_type, kept = inspect_file(data, max_bytes)
    key = storage.put(kept)
    attachment = Attachment(
        referral_id=referral.id, kind=kind, episode_id=episode_id, follow_up_id=follow_up_id,
        filename=clean_filename(filename, media_type), media_type=media_type,
        size_bytes=len(kept), sha256=key, storage_key=key, caption=text,
        uploaded_by_id=actor.id,
    )  # fmt: skip
    db.add(attachment)
    db.flush()
    write_audit(
        db, actor, "attachment.upload", referral,
        region_code=referral.need.household.region_code,
        detail={"attachment_id": attachment.id, "kind": kind.value, "media_type": media_type,
                "size_bytes": len(kept), "sha256": key},
    )  # fmt: skip
    return attachment


def attachable_kinds(db: Session, actor: User, referral: Referral) -> list[AttachmentKind]:
    """What ``actor`` may attach to the referral now (for the page's form): nothing once
    it is archived."""
    kinds: list[AttachmentKind] = []
    if referral.archived_at is not None:
        return kinds
    if provides(actor, referral) and referral.status in _EPISODE_STATES:
        if referral.episodes:
            kinds.append(K.EPISODE)
        if referral.status == S.COMPLETED:
            kinds.append(K.COMPLETION)
    if (
        actor.role == Role.STATION_STAFF
        and referral.need.household.station_id == actor.station_id
        and find_follow_up(db, referral.id) is not None
    ):
        kinds.append(K.FOLLOW_UP)
    return kinds


def _visible_kinds(actor: User, referral: Referral) -> tuple[AttachmentKind, ...]:
    """The kinds of the referral's attachments ``actor`` may see."""
    if not sees_as_provider(actor, referral):
        return tuple(K)
    if referral.status not in CHARITY_SEES_HOUSEHOLD_STATES:
        return ()
    return (K.EPISODE, K.COMPLETION)


def list_attachments(db: Session, actor: User, referral_id: int) -> list[Attachment]:
    """The referral's attachments the actor may see, oldest first.

    :raise NotFound: the referral is out of the actor's sight.
    """
    referral = load_referral(db, actor, referral_id)
    kinds = _visible_kinds(actor, referral)
    if not kinds:
        return []
    return list(
        db.scalars(
            sa.select(Attachment)
            .where(Attachment.referral_id == referral.id, Attachment.kind.in_(kinds))
            .order_by(Attachment.uploaded_at, Attachment.id)
        )
    )


def get_attachment(db: Session, actor: User, attachment_id: int) -> Attachment:
    """The attachment, if the actor may see it.

    :raise NotFound: no such attachment, or one of a referral (or of a kind) out of sight.
    """
    attachment = db.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound(_NOT_FOUND)
    try:
        referral = load_referral(db, actor, attachment.referral_id)
    except NotFound:
        raise NotFound(_NOT_FOUND) from None
    if attachment.kind not in _visible_kinds(actor, referral):
        raise NotFound(_NOT_FOUND)
    return attachment


def download_attachment(
    db: Session, actor: User, storage: Storage, attachment_id: int
) -> AttachmentFile:
    """The attachment's bytes, for a party who may see it; every download is audited.

    :raise NotFound: as :func:`get_attachment`, or the file is missing from ``storage``.
    """
    attachment = get_attachment(db, actor, attachment_id)
    try:
        data = storage.get(attachment.storage_key)
    except StorageError:
        raise NotFound("附件文件已丢失，请联系管理员从备份恢复。") from None
    write_audit(
        db, actor, "attachment.download", attachment.referral,
        region_code=attachment.referral.need.household.region_code,
        detail={"attachment_id": attachment.id, "kind": attachment.kind.value,
                "sha256": attachment.sha256},
    )  # fmt: skip
    return AttachmentFile(attachment.filename, attachment.media_type, data)


def attachment_view(a: Attachment) -> dict[str, Any]:
    """One attachment as the pages and the API show it."""
    return {
        "id": a.id, "kind": a.kind.value, "kind_label": a.kind.label,
        "episode_id": a.episode_id, "follow_up_id": a.follow_up_id, "filename": a.filename,
        "media_type": a.media_type, "size_bytes": a.size_bytes, "sha256": a.sha256,
        "caption": a.caption, "uploaded_at": a.uploaded_at,
    }  # fmt: skip
