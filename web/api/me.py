"""``/api/v1/me``: who the token or session belongs to."""

from __future__ import annotations

from flask.views import MethodView
from flask_login import login_required
from flask_smorest import Blueprint

from models import User
from web.auth import actor
from web.schemas.base import ErrorSchema
from web.schemas.users import UserSchema

PREFIX = "/me"
blp = Blueprint("me", __name__, description="当前用户")


@blp.route("")
class Me(MethodView):
    @login_required
    @blp.response(200, UserSchema)
    @blp.alt_response(401, schema=ErrorSchema, description="未登录")
    def get(self) -> User:
        """The signed-in user."""
        return actor()
