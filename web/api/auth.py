"""``/api/v1/auth/token``: exchange a username and password for an expiring Bearer token."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask.views import MethodView
from flask_login import login_required
from flask_smorest import Blueprint

from models.base import utcnow
from web.auth import actor, bearer_token, login_policy
from web.db import get_db
from web.schemas.base import ErrorSchema
from web.schemas.users import TokenRequestSchema, TokenResponseSchema
from web.services.errors import ServiceError
from web.services.users import authenticate, issue_token, revoke_token

PREFIX = "/auth"
blp = Blueprint("auth", __name__, description="登录令牌")


@blp.route("/token")
class Token(MethodView):
    @blp.doc(security=[])
    @blp.arguments(TokenRequestSchema)
    @blp.response(201, TokenResponseSchema)
    @blp.alt_response(401, schema=ErrorSchema, description="用户名或密码错误")
    @blp.alt_response(
        429, schema=ErrorSchema, description="同一用户名从同一地址连续失败过多，须等待后再试"
    )
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Get a Bearer token (用户名 + 密码)."""
        db = get_db()
        now = utcnow()
        try:
            user = authenticate(
                db, body["username"], body["password"], now, login_policy(), request.remote_addr
            )
        except ServiceError:
            db.commit()  # the failure count and the audit record must stick
            raise
        token, record = issue_token(db, user, now, current_app.config["API_TOKEN_TTL"])
        # "Bearer" names the authorization scheme; it is no password.
        return {"token": token, "token_type": "Bearer", "expires_at": record.expires_at}  # nosec B105

    @login_required
    @blp.response(204)
    @blp.alt_response(401, schema=ErrorSchema, description="未登录")
    def delete(self) -> None:
        """Revoke the token this request carries."""
        token = bearer_token()
        if token is not None:
            revoke_token(get_db(), token, utcnow())
        actor()
