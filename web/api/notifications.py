"""``/api/v1/notifications`` and ``/api/v1/back-referrals``: each user's inbox, and the
双向转介 queue of civil-affairs offices."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import login_required
from flask_smorest import Blueprint

from web.auth import actor
from web.db import get_db
from web.schemas.base import ErrorSchema
from web.schemas.referrals import (
    BackReferralQuerySchema,
    BackReferralSchema,
    HandleSchema,
    MarkedSchema,
    MarkReadSchema,
    NotificationListSchema,
    NotificationQuerySchema,
)
from web.services import notifications
from web.services.referrals import back_referrals

PREFIX = "/notifications"
blp = Blueprint("notifications", __name__, description="站内通知")

BACK_PREFIX = "/back-referrals"
back_blp = Blueprint("back_referrals", __name__, description="双向转介")


@blp.route("")
class Notifications(MethodView):
    @login_required
    @blp.arguments(NotificationQuerySchema, location="query")
    @blp.response(200, NotificationListSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The caller's notifications, newest first, with the unread count."""
        db, user = get_db(), actor()
        return {
            "unread": notifications.unread_count(db, user),
            "items": notifications.list_notifications(db, user, unread_only=args["unread_only"]),
        }


@blp.route("/read")
class MarkRead(MethodView):
    @login_required
    @blp.arguments(MarkReadSchema)
    @blp.response(200, MarkedSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Mark the given notifications (or all) read."""
        return {"marked": notifications.mark_read(get_db(), actor(), body["ids"])}


@back_blp.route("")
class BackReferrals(MethodView):
    @login_required
    @back_blp.arguments(BackReferralQuerySchema, location="query")
    @back_blp.response(200, BackReferralSchema(many=True))
    def get(self, args: dict[str, Any]) -> list[Any]:
        """双向转介 visible to the caller: an office's queue, or a charity's own."""
        db, user = get_db(), actor()
        items = back_referrals.list_back_referrals(db, user, args["status"])
        return back_referrals.back_referral_lines(db, user, items)


@back_blp.route("/<int:back_id>/handle")
class Handle(MethodView):
    @login_required
    @back_blp.arguments(HandleSchema)
    @back_blp.response(200, BackReferralSchema)
    @back_blp.alt_response(403, schema=ErrorSchema, description="不是民政部门工作人员")
    @back_blp.alt_response(404, schema=ErrorSchema, description="不存在或无权处理")
    @back_blp.alt_response(409, schema=ErrorSchema, description="已处理")
    def post(self, body: dict[str, Any], back_id: int) -> Any:
        """Record what the office did about it (e.g. 已受理低保申请)."""
        db, user = get_db(), actor()
        back = back_referrals.handle_back_referral(db, user, back_id, body["note"])
        return back_referrals.back_referral_lines(db, user, [back])[0]
