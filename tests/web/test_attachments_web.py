"""Attachments through the API and the referral page: uploaded as multipart, typed by content
(a ZIP named ``.jpg`` is refused on ``file``), listed and downloaded by the referral's parties
only (another charity's is not found), downloads sent as attachments and audited.
"""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from models import AuditLog
from tests.helpers import bearer, csrf_token, sign_in
from tests.web.services.referrals.test_attachments import PDF, png_with_gps, zip_bytes
from tests.web.test_followups_web import completed


@pytest.fixture(autouse=True)
def attachment_dir(app: Flask, tmp_path: Path) -> Path:
    app.config["ATTACHMENT_DIR"] = str(tmp_path / "attachments")
    return tmp_path / "attachments"


def upload(
    client: FlaskClient, rid: int, headers: dict[str, str], data: bytes, name: str, **form: str
) -> TestResponse:
    return client.post(
        f"/api/v1/referrals/{rid}/attachments", headers=headers,
        data={"file": (io.BytesIO(data), name), "kind": "completion", **form},
        content_type="multipart/form-data",
    )  # fmt: skip


def test_the_charity_uploads_a_photo_whose_position_is_gone_when_downloaded(
    client: FlaskClient, db: Session, attachment_dir: Path
) -> None:
    parties, rid = completed(client, db)

    response = upload(client, rid, parties.charity, png_with_gps(), "发放现场.png",
                      caption="物资发放现场")  # fmt: skip

    assert response.status_code == 201, response.json
    made = response.json
    assert made["media_type"] == "image/png" and made["caption"] == "物资发放现场"
    listed = client.get(f"/api/v1/referrals/{rid}/attachments", headers=parties.station)
    assert [a["id"] for a in listed.json] == [made["id"]]
    got = client.get(f"/api/v1/attachments/{made['id']}", headers=parties.office)
    assert got.status_code == 200 and got.mimetype == "image/png"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    disposition = got.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote('发放现场.png')}" in disposition
    with Image.open(io.BytesIO(got.data)) as image:
        assert not image.getexif() and "exif" not in image.info
    assert list(attachment_dir.glob("*/*/*")) and all(
        p.name == made["sha256"] for p in attachment_dir.glob("*/*/*")
    )
    audited = db.scalars(sa.select(AuditLog).where(AuditLog.action == "attachment.download"))
    assert [e.detail["attachment_id"] for e in audited] == [made["id"]]


def test_a_zip_named_jpg_is_refused_on_the_file_field(client: FlaskClient, db: Session) -> None:
    parties, rid = completed(client, db)

    response = upload(client, rid, parties.charity, zip_bytes(), "收据.jpg")

    assert response.status_code == 422
    assert list(response.json["error"]["fields"]) == ["file"]
    assert "PDF、JPEG 或 PNG" in response.json["error"]["fields"]["file"][0]


def test_a_file_over_the_configured_limit_is_refused(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    parties, rid = completed(client, db)
    app.config["ATTACHMENT_MAX_BYTES"] = len(PDF) - 1

    response = upload(client, rid, parties.charity, PDF, "收据.pdf")

    assert response.status_code == 422
    assert "不能超过" in response.json["error"]["fields"]["file"][0]


def test_another_charitys_attachment_is_not_found(client: FlaskClient, db: Session) -> None:
    parties, rid = completed(client, db)
    made = upload(client, rid, parties.charity, PDF, "收据.pdf").json
    other = bearer(client, "charity_h")

    assert client.get(f"/api/v1/attachments/{made['id']}", headers=other).status_code == 404
    assert client.get(f"/api/v1/referrals/{rid}/attachments", headers=other).status_code == 404
    assert upload(client, rid, other, PDF, "收据.pdf").status_code == 404
    assert client.get(f"/api/v1/attachments/{made['id']}", headers=parties.charity).data == PDF


def test_the_page_lists_attachments_and_shows_a_refusal_beside_the_form(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    _parties, rid = completed(client, db)
    charity = app.test_client()
    sign_in(charity, "charity_f")
    page = charity.get(f"/referrals/{rid}")
    assert 'data-testid="attachment-form"' in page.text
    assert 'accept=".pdf,.jpg,.jpeg,.png"' in page.text
    token = csrf_token(charity, f"/referrals/{rid}")

    refused = charity.post(
        f"/referrals/{rid}/attachments", content_type="multipart/form-data",
        data={"csrf_token": token, "kind": "completion", "caption": "收据",
              "file": (io.BytesIO(zip_bytes()), "收据.jpg")},
    )  # fmt: skip
    assert refused.status_code == 422
    assert "只能上传 PDF、JPEG 或 PNG 文件" in refused.text

    done = charity.post(
        f"/referrals/{rid}/attachments", content_type="multipart/form-data",
        data={"csrf_token": token, "kind": "completion", "caption": "收款收据",
              "file": (io.BytesIO(PDF), "收据.pdf")},
    )  # fmt: skip
    assert done.status_code == 302
    shown = charity.get(f"/referrals/{rid}")
    assert "收款收据" in shown.text and "收据.pdf" in shown.text
    link = shown.text.split('href="/attachments/')[1].split('"')[0]
    got = charity.get(f"/attachments/{link}")
    assert got.status_code == 200 and got.data == PDF
    station = app.test_client()
    sign_in(station, "station_c")
    assert station.get(f"/attachments/{link}").status_code == 404
