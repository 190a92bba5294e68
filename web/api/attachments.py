"""``/api/v1/referrals/<id>/attachments`` and ``/api/v1/attachments/<id>``: receipts, photos
and signed confirmations kept with a referral's episodes, completion and follow-up."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from flask.views import MethodView
from flask_login import login_required
from flask_smorest import Blueprint
from marshmallow import Schema
from webargs.flaskparser import FlaskParser
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import CombinedMultiDict

from web.auth import actor
from web.db import get_db
from web.schemas.base import ErrorSchema
from web.schemas.referrals import AttachmentSchema, AttachmentUploadSchema
from web.services.referrals import attachments
from web.storage import attachment_response, attachment_storage


class MultipartParser(FlaskParser):
    """webargs' Flask parser, with one more location: a multipart form's fields and files
    together, so an upload's file and its fields are one schema (and one request body)."""

    __location_map__ = {
        **FlaskParser.__location_map__,
        "form_and_files": "load_form_and_files",
    }

    def load_form_and_files(self, req: Any, schema: Schema) -> MultiDictProxy:
        return MultiDictProxy(CombinedMultiDict([req.form, req.files]), schema)


class MultipartBlueprint(Blueprint):
    """A blueprint whose ``location="form_and_files"`` arguments are documented as one
    ``multipart/form-data`` request body."""

    ARGUMENTS_PARSER = MultipartParser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
        **Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        "form_and_files": "multipart/form-data",
    }


PREFIX = ""
blp = MultipartBlueprint(
    "attachments", __name__, description="附件：收据、照片、签字确认（PDF、JPEG、PNG）"
)


@blp.route("/referrals/<int:referral_id>/attachments")
class ReferralAttachments(MethodView):
    @login_required
    @blp.response(200, AttachmentSchema(many=True))
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权查看")
    def get(self, referral_id: int) -> list[dict[str, Any]]:
        """The referral's attachments the caller may see."""
        found = attachments.list_attachments(get_db(), actor(), referral_id)
        return [attachments.attachment_view(a) for a in found]

    @login_required
    @blp.arguments(AttachmentUploadSchema, location="form_and_files")
    @blp.response(201, AttachmentSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="不是可以上传这类附件的一方")
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权查看")
    @blp.alt_response(409, schema=ErrorSchema, description="转介尚未到可以上传的阶段")
    @blp.alt_response(422, schema=ErrorSchema, description="文件过大、类型不符或字段有误")
    def post(self, form: dict[str, Any], referral_id: int) -> Any:
        """Attach a PDF, JPEG or PNG (multipart: file, kind, episode_id or follow_up_id,
        caption); images are stored without their metadata."""
        upload = form["file"]
        kind = form["kind"]
        owner_id = form["episode_id"] if kind.value == "episode" else form["follow_up_id"]
        attachment = attachments.add_attachment(
            get_db(), actor(), attachment_storage(), referral_id,
            upload.stream.read(current_app.config["ATTACHMENT_MAX_BYTES"] + 1),
            upload.filename, kind, owner_id=owner_id, caption=form["caption"],
            max_bytes=current_app.config["ATTACHMENT_MAX_BYTES"],
        )  # fmt: skip
        return attachments.attachment_view(attachment)


@blp.route("/attachments/<int:attachment_id>")
class Attachment(MethodView):
    @login_required
    @blp.response(200, description="文件本身（以附件形式下载）")
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权查看")
    def get(self, attachment_id: int) -> Response:
        """Download an attachment (recorded in the audit log)."""
        found = attachments.download_attachment(
            get_db(), actor(), attachment_storage(), attachment_id
        )
        return attachment_response(found)
