"""Attachments: receipts, photos and signed confirmations kept with a referral's episodes,
completion and follow-up; typed by content, images stored without their metadata, seen and
downloaded by the referral's parties only, every download audited.
"""

from __future__ import annotations

import io
import zipfile
from functools import partial
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image
from sqlalchemy.orm import Session

from models import AuditLog, clock
from models.enums import AttachmentKind, ReferralStatus, ServiceType
from tests.helpers import get_user
from tests.web.services.referrals.steps import Parties, Walk, refused
from web.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from web.services.referrals import attachments, episodes
from web.services.storage import LocalDiskStorage, content_key

S = ReferralStatus
K = AttachmentKind
#: 从化区 温泉镇, to four decimal places: where a phone would say the photo was taken.
WHERE = {1: "N", 2: (23.0, 38.0, 24.0), 3: "E", 4: (113.0, 35.0, 12.0)}


def png_with_gps() -> bytes:
    image = Image.new("RGB", (40, 30), (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = WHERE  # GPSInfo
    out = io.BytesIO()
    image.save(out, format="PNG", exif=exif)
    return out.getvalue()


def jpeg_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 20), (0, 90, 200)).save(out, format="JPEG", exif=Image.Exif())
    return out.getvalue()


def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("receipt.jpg", b"\xff\xd8\xff" + b"0" * 100)
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def storage(tmp_path: Path) -> LocalDiskStorage:
    return LocalDiskStorage(tmp_path / "attachments")


def test_a_png_with_gps_exif_is_stored_without_any_metadata(
    db: Session, parties: Parties, referral_in: Walk, storage: LocalDiskStorage
) -> None:
    referral = referral_in(S.COMPLETED)
    original = png_with_gps()
    with Image.open(io.BytesIO(original)) as before:
        assert before.getexif().get_ifd(0x8825)  # the test's photo does carry a position

    attachment = attachments.add_attachment(
        db, parties.charity, storage, referral.id, original, "现场照片.png", K.COMPLETION
    )

    kept = storage.get(attachment.storage_key)
    assert kept != original
    with Image.open(io.BytesIO(kept)) as after:
        assert after.format == "PNG" and after.size == (40, 30)
        assert not after.getexif()
        assert "exif" not in after.info and "GPSInfo" not in str(after.info)
    assert attachment.media_type == "image/png" and attachment.filename == "现场照片.png"
    assert attachment.sha256 == content_key(kept) == attachment.storage_key
    assert attachment.size_bytes == len(kept)


def test_a_jpeg_is_reencoded_and_a_pdf_kept_as_it_came(
    db: Session, parties: Parties, referral_in: Walk, storage: LocalDiskStorage
) -> None:
    referral = referral_in(S.COMPLETED)

    photo = attachments.add_attachment(
        db, parties.charity, storage, referral.id, jpeg_bytes(), "IMG_0001.JPG", K.COMPLETION
    )
    receipt = attachments.add_attachment(
        db, parties.charity, storage, referral.id, PDF, "收据", K.COMPLETION, caption=" 收款收据 "
    )

    assert photo.media_type == "image/jpeg" and photo.filename == "IMG_0001.jpg"
    assert receipt.media_type == "application/pdf" and storage.get(receipt.storage_key) == PDF
    assert receipt.filename == "收据.pdf" and receipt.caption == "收款收据"


@pytest.mark.parametrize(
    ("data", "name"),
    [(zip_bytes(), "收据.jpg"), (b"GIF89a" + b"\0" * 40, "photo.png"), (b"", "empty.pdf"),
     (png_with_gps()[:60], "truncated.png")],
    ids=["zip named .jpg", "gif named .png", "empty", "truncated png"],
)  # fmt: skip
def test_a_file_that_is_not_pdf_jpeg_or_png_is_refused_whatever_its_name(
    db: Session,
    parties: Parties,
    referral_in: Walk,
    storage: LocalDiskStorage,
    data: bytes,
    name: str,
) -> None:
    referral = referral_in(S.COMPLETED)

    error = refused(db, attachments.add_attachment, db, parties.charity, storage, referral.id,
                    data, name, K.COMPLETION)  # fmt: skip

    assert isinstance(error, ValidationFailed) and list(error.fields) == ["file"]
    assert storage.keys() == []


def test_a_file_over_the_limit_is_refused(
    db: Session, parties: Parties, referral_in: Walk, storage: LocalDiskStorage
) -> None:
    referral = referral_in(S.COMPLETED)

    add = partial(attachments.add_attachment, max_bytes=len(PDF) - 1)

    error = refused(db, add, db, parties.charity, storage, referral.id, PDF, "收据.pdf",
                    K.COMPLETION)  # fmt: skip

    assert isinstance(error, ValidationFailed)
    assert "不能超过" in error.fields["file"][0]


def test_the_provider_attaches_to_episodes_and_completion_the_station_to_its_follow_up(
    db: Session, parties: Parties, referral_in: Walk, storage: LocalDiskStorage
) -> None:
    referral = referral_in(S.IN_SERVICE)
    episode = episodes.add_episode(
        db, parties.charity, referral.id,
        episodes.EpisodeInput(on=clock.today(), kind=ServiceType.VISITING_CARE),
        today=clock.today(),
    )  # fmt: skip
    add = attachments.add_attachment

    on_episode = add(db, parties.charity, storage, referral.id, PDF, "a.pdf", K.EPISODE,
                     owner_id=episode.id)  # fmt: skip
    assert on_episode.episode_id == episode.id
    by_station = partial(add, owner_id=episode.id)
    assert isinstance(refused(db, by_station, db, parties.station, storage, referral.id, PDF,
                              "a.pdf", K.EPISODE), Forbidden)  # fmt: skip
    assert isinstance(refused(db, add, db, parties.charity, storage, referral.id, PDF, "a.pdf",
                              K.COMPLETION), Conflict)  # fmt: skip
    assert isinstance(refused(db, add, db, parties.charity, storage, referral.id, PDF, "a.pdf",
                              K.FOLLOW_UP), Forbidden)  # fmt: skip
    other_charity = get_user(db, "charity_h")
    assert isinstance(refused(db, add, db, other_charity, storage, referral.id, PDF, "a.pdf",
                              K.COMPLETION), NotFound)  # fmt: skip


def test_the_station_attaches_to_its_follow_up_and_the_charity_never_sees_it(
    db: Session, parties: Parties, referral_in: Walk, storage: LocalDiskStorage
) -> None:
    referral = referral_in(S.COMPLETED)

    signed = attachments.add_attachment(
        db, parties.station, storage, referral.id, PDF, "签字确认.pdf", K.FOLLOW_UP
    )
    receipt = attachments.add_attachment(
        db, parties.charity, storage, referral.id, PDF + b"\n", "收据.pdf", K.COMPLETION
    )

    assert signed.follow_up_id is not None
    seen = {a.id for a in attachments.list_attachments(db, parties.station, referral.id)}
    assert seen == {signed.id, receipt.id}
    assert {a.id for a in attachments.list_attachments(db, parties.office, referral.id)} == seen
    assert [a.id for a in attachments.list_attachments(db, parties.charity, referral.id)] == [
        receipt.id
    ]
    assert isinstance(refused(db, attachments.download_attachment, db, parties.charity, storage,
                              signed.id), NotFound)  # fmt: skip
    other_station = get_user(db, "station_c")
    assert isinstance(refused(db, attachments.add_attachment, db, other_station, storage,
                              referral.id, PDF, "a.pdf", K.FOLLOW_UP), NotFound)  # fmt: skip


def test_another_charitys_attachment_is_not_found(
    db: Session, parties: Parties, referral_in: Walk, storage: LocalDiskStorage
) -> None:
    referral = referral_in(S.COMPLETED)
    receipt = attachments.add_attachment(
        db, parties.charity, storage, referral.id, PDF, "收据.pdf", K.COMPLETION
    )

    for name in ("charity_h", "charity_g", "station_c", "ca_ruyuan"):
        error = refused(db, attachments.download_attachment, db, get_user(db, name), storage,
                        receipt.id)  # fmt: skip
        assert isinstance(error, NotFound), name
        error = refused(db, attachments.list_attachments, db, get_user(db, name), referral.id)
        assert isinstance(error, NotFound), name


def test_each_download_is_audited(
    db: Session, parties: Parties, referral_in: Walk, storage: LocalDiskStorage
) -> None:
    referral = referral_in(S.COMPLETED)
    receipt = attachments.add_attachment(
        db, parties.charity, storage, referral.id, PDF, "收据.pdf", K.COMPLETION
    )

    for user in (parties.station, parties.office, parties.charity):
        got = attachments.download_attachment(db, user, storage, receipt.id)
        assert (got.data, got.media_type, got.filename) == (PDF, "application/pdf", "收据.pdf")

    downloads = db.scalars(sa.select(AuditLog).where(AuditLog.action == "attachment.download"))
    assert sorted((e.actor_id, e.detail["attachment_id"]) for e in downloads) == sorted(
        (u.id, receipt.id) for u in (parties.station, parties.office, parties.charity)
    )


def test_files_are_kept_by_content_hash_owner_only(tmp_path: Path) -> None:
    storage = LocalDiskStorage(tmp_path / "attachments")

    key = storage.put(PDF)

    assert key == content_key(PDF) and storage.put(PDF) == key
    path = storage.path_of(key)
    assert path == tmp_path / "attachments" / key[:2] / key[2:4] / key
    assert path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "attachments").stat().st_mode & 0o777 == 0o700
    assert storage.exists(key) and storage.get(key) == PDF
    storage.delete(key)
    assert not storage.exists(key)
