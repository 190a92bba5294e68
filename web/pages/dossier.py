"""帮扶档案: a household's whole record of help as one printable page, and as ``.xlsx``; and
the page's photos, shown in place through links signed for the one who opened it."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Response, current_app, render_template, request, url_for
from flask_login import login_required
from itsdangerous import BadData, URLSafeTimedSerializer

from web.auth import actor
from web.db import get_db
from web.services.dossier import SATISFACTION, dossier, export_dossier
from web.services.errors import NotFound
from web.services.referrals.attachments import get_attachment
from web.services.storage import StorageError
from web.storage import attachment_storage

from .blueprint import pages

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Seconds a dossier page's photo links stay good: long enough to print it.
PHOTO_LINK_SECONDS = 3600


def _photo_links() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="dossier-photo")  # type: ignore[arg-type]


def _photo_urls(data: dict[str, Any], user_id: int) -> dict[int, str]:
    """A link for each photo of the dossier, good for ``user_id`` only, for an hour."""
    links = _photo_links()
    return {
        a["id"]: url_for("pages.dossier_photo", attachment_id=a["id"],
                         token=links.dumps([a["id"], user_id]))
        for need in data["needs"] for referral in need["referrals"]
        for a in referral["attachments"] if a["is_image"]
    }  # fmt: skip


@pages.route("/households/<int:household_id>/dossier")
@login_required
def household_dossier(household_id: int) -> str:
    """The household's 帮扶档案, laid out to print (or save as PDF from the print dialog)."""
    user = actor()
    data = dossier(get_db(), user, household_id, form="page")
    return render_template(
        "households/dossier.html", d=data, satisfaction=SATISFACTION,
        photo_urls=_photo_urls(data, user.id),
    )  # fmt: skip


@pages.route("/dossier-photos/<int:attachment_id>")
@login_required
def dossier_photo(attachment_id: int) -> Response:
    """A photo of a 帮扶档案 page, shown in place. The look was recorded with the dossier's
    opening (``household.dossier`` lists the attachments), so it is not a download of its
    own; the link is signed for the user the page was made for, and lasts an hour.

    :raise 404: no link, a link for another photo or user, an old one, or a photo the user
        may no longer see.
    """
    user = actor()
    try:
        signed = _photo_links().loads(request.args.get("token", ""), max_age=PHOTO_LINK_SECONDS)
    except BadData:
        raise NotFound("链接已失效，请重新打开帮扶档案。") from None
    if signed != [attachment_id, user.id]:
        raise NotFound("链接已失效，请重新打开帮扶档案。")
    attachment = get_attachment(get_db(), user, attachment_id)
    if not attachment.media_type.startswith("image/"):
        raise NotFound("链接已失效，请重新打开帮扶档案。")
    try:
        data = attachment_storage().get(attachment.storage_key)
    except StorageError:
        raise NotFound("附件文件已丢失，请联系管理员从备份恢复。") from None
    response = Response(data, mimetype=attachment.media_type)
    response.headers["Content-Disposition"] = "inline"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@pages.route("/households/<int:household_id>/dossier.xlsx")
@login_required
def household_dossier_export(household_id: int) -> Response:
    """The household's 帮扶档案 as ``.xlsx``, one sheet per section, IDs masked."""
    data = dossier(get_db(), actor(), household_id, form="xlsx")
    response = Response(export_dossier(data), mimetype=XLSX)
    name = f"帮扶档案-{data['household']['head_name']}.xlsx"
    response.headers["Content-Disposition"] = (
        f"attachment; filename=dossier.xlsx; filename*=UTF-8''{quote(name)}"
    )
    return response
