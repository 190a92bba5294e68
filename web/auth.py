"""Who is asking: session cookies for pages, Bearer tokens for API clients."""

from __future__ import annotations

import datetime as dt

from flask import current_app, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from models import User
from models.base import utcnow
from models.enums import Role
from web.services.errors import Forbidden, Unauthorized
from web.services.users import LoginPolicy, load_session_user, load_token_user

from .db import get_db


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def is_bearer_request() -> bool:
    return bearer_token() is not None


def login_policy() -> LoginPolicy:
    """How many wrong passwords in a row for one name from one address make it wait, the
    first wait and the longest (settings)."""
    return LoginPolicy(
        max_failures=current_app.config["LOGIN_MAX_FAILURES"],
        first_delay=dt.timedelta(seconds=current_app.config["LOGIN_FIRST_DELAY_SECONDS"]),
        max_delay=dt.timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"]),
    )


def load_user(session_id: str) -> User | None:
    """Flask-Login's loader: the cookie is honoured only while its session version holds."""
    if is_bearer_request():
        # An explicit token wins over any cookie the client also sends.
        return None
    return load_session_user(get_db(), session_id)


def load_user_from_bearer(_request: object) -> User | None:
    token = bearer_token()
    if token is None:
        return None
    return load_token_user(get_db(), token, utcnow())


def unauthorized() -> Response:
    if request.path.startswith("/api/"):
        if is_bearer_request():
            raise Unauthorized("访问令牌无效或已过期，请重新获取。")
        raise Unauthorized()
    return redirect(url_for("pages.login", next=request.full_path.rstrip("?")))


def actor() -> User:
    """The signed-in user (views behind ``login_required`` only)."""
    user = current_user._get_current_object()  # noqa: SLF001 - unwrap the proxy for services
    if not isinstance(user, User):
        raise Unauthorized()
    return user


#: What a department's account (``Role.DATA_PROVIDER``) may open besides the monitoring
#: feed's own endpoints: signing in and out, its home page and the API documentation. It
#: delivers records and reaches nothing else, whatever a view or service forgets to check.
DATA_PROVIDER_ENDPOINTS = frozenset({
    "static", "pages.index", "pages.home", "pages.api_docs", "pages.login", "pages.logout",
    "pages.change_password", "pages.set_language", "api-docs.openapi_json", "auth.Token",
    "me.Me", "pages.monitoring_upload", "pages.monitoring_template",
})  # fmt: skip
#: Blueprints whose every endpoint a department's account may call (each checks the source
#: and region itself).
DATA_PROVIDER_BLUEPRINTS = frozenset({"monitoring"})


def refuse_outside_role() -> None:
    """Refuse (403) a department's account anything but delivering (deny by default)."""
    if not current_user.is_authenticated or current_user.role != Role.DATA_PROVIDER:
        return
    endpoint = request.endpoint
    if endpoint is None:  # no such page: answered 404 as for anyone
        return
    if endpoint in DATA_PROVIDER_ENDPOINTS or endpoint.split(".")[0] in DATA_PROVIDER_BLUEPRINTS:
        return
    raise Forbidden("部门数据报送账号只能报送监测数据。")
