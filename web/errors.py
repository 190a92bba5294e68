"""Errors become responses here: the JSON envelope under ``/api/``, Chinese pages elsewhere.

The envelope is ``{"error": {"code": ..., "message": ..., "fields": {...}}}``. No stack trace
or exception text ever reaches a user; unexpected errors are logged and answered with 500.
"""

from __future__ import annotations

import contextlib
import logging
import re
from typing import Any

from flask import Flask, current_app, g, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import ClientDisconnected, HTTPException, MethodNotAllowed
from werkzeug.wrappers import Response
from werkzeug.wsgi import LimitedStream

from web.services.audit import record_refusal
from web.services.errors import ServiceError

from .db import get_db
from .extensions import login_manager

log = logging.getLogger(__name__)

#: Chinese titles for HTTP statuses not raised as ServiceError.
_HTTP_MESSAGES = {
    400: ("bad_request", "请求无效。"),
    401: ("unauthorized", "请先登录。"),
    403: ("forbidden", "您无权执行此操作。"),
    404: ("not_found", "记录不存在或您无权查看。"),
    405: ("method_not_allowed", "不支持该请求方法。"),
    409: ("conflict", "操作与当前状态冲突，请刷新后重试。"),
    413: ("payload_too_large", "上传的内容过大。"),
    415: ("unsupported_media_type", "不支持的内容类型，请以 JSON 提交。"),
    422: ("validation_error", "提交的数据有误，请检查标出的字段。"),
    429: ("too_many_attempts", "尝试次数过多，请稍后再试。"),
    500: ("internal_error", "服务器内部错误，请稍后再试；问题已记录。"),
    503: ("unavailable", "服务暂时不可用，请稍后再试。"),
}

#: A body refused for its size is still read, and thrown away, up to this many bytes, so a
#: client that sends the whole body before reading the answer (as most HTTP libraries do) gets
#: the 413 instead of a broken connection. A bigger body is cut off: reading gigabytes on would
#: only serve whoever sends them.
DRAIN_MAX_BYTES = 100 * 1024 * 1024


def wants_json() -> bool:
    return request.path.startswith("/api/")


def envelope(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def render_error(
    error: ServiceError | None = None,
    *,
    status: int | None = None,
    code: str | None = None,
    message: str | None = None,
    fields: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    if error is not None:
        status, code, message, fields = error.status, error.code, error.message, error.fields
    assert status is not None
    default_code, default_message = _HTTP_MESSAGES.get(status, ("error", "请求失败。"))
    code = code or default_code
    message = message or default_message
    db = g.get("db")
    if db is not None:
        with contextlib.suppress(SQLAlchemyError):  # a connection lost with the database
            db.rollback()
    if status in (403, 404):
        _record_refusal(status)
    if wants_json():
        from flask import jsonify

        response: Response = jsonify(envelope(code, message, fields))
    else:
        body = render_template("errors/error.html", status=status, message=message, fields=fields)
        response = Response(body, mimetype="text/html")
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


#: Paths whose answers carry personal data: a refusal there is recorded, with who and from where,
#: so someone probing other stations' households leaves a trace.
_PERSONAL_PATH = re.compile(
    r"^/(api/v1/)?(households|needs|referrals|back-referrals|worklist|stations/\d+/worklist"
    r"|allocation-plans)(/|$)"
)


def _record_refusal(status: int) -> None:
    if not _PERSONAL_PATH.match(request.path) or not current_user.is_authenticated:
        return
    user = current_user._get_current_object()  # noqa: SLF001 - the service takes the user
    db = get_db()
    try:
        record_refusal(db, user, request.method, request.path, status)
        db.commit()
    except SQLAlchemyError:
        log.exception("could not record a refusal on %s", request.path)
        with contextlib.suppress(SQLAlchemyError):
            db.rollback()


def flatten_webargs(messages: dict[str, Any]) -> dict[str, Any]:
    """webargs nests messages under the location (``json``, ``query``); drop that level."""
    fields: dict[str, Any] = {}
    for location, content in messages.items():
        if isinstance(content, dict):
            fields.update(content)
        else:
            fields[location] = content
    return fields


def _too_large() -> Response:
    """413 naming the upload limit, after reading the refused body to its end."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    length = request.content_length
    if limit is None or length is None or length <= limit:
        return render_error(status=413)  # a form field too big, not the whole upload
    if length <= DRAIN_MAX_BYTES:
        with contextlib.suppress(ClientDisconnected, OSError):
            LimitedStream(request.environ["wsgi.input"], length).exhaust()
    message = _("上传的文件超过 %(mb)s MB 上限；请删去图片等无关内容，或拆分后分批上传。",
                mb=limit // (1024 * 1024))  # fmt: skip
    # The envelope names the field for clients; a page says it once, in the message.
    fields = {"file": [message]} if wants_json() else None
    return render_error(status=413, message=message, fields=fields)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def _service_error(error: ServiceError) -> Response:
        return render_error(error)

    @app.errorhandler(StaleDataError)
    def _stale(_error: StaleDataError) -> Response:
        # Optimistic locking caught a concurrent change of the same row.
        return render_error(status=409, code="stale_version")

    @app.errorhandler(CSRFError)
    def _csrf_error(_error: CSRFError) -> Response:
        return render_error(
            status=400, code="csrf_failed", message=_("页面已过期或来源不明，请刷新后重新提交。")
        )

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        if status == 413:
            return _too_large()
        data = getattr(error, "data", None) or {}
        messages = data.get("messages")
        if status == 400 and messages is not None:
            return render_error(
                status=400,
                code="invalid_json",
                message=_("请求体不是有效的 JSON。"),
                fields={"json": [_("无法解析 JSON，请检查格式。")]},
            )
        if status == 422 and isinstance(messages, dict):
            return render_error(status=422, fields=flatten_webargs(messages))
        headers = {}
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            headers["Allow"] = ", ".join(error.valid_methods)
        return render_error(status=status, headers=headers)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        from sqlalchemy.exc import OperationalError

        if isinstance(error, OperationalError):
            # The database is unreachable. The page must not reach for it again (it would load
            # the signed-in user for the header), so it is drawn as for a visitor.
            g._login_user = login_manager.anonymous_user()
            return render_error(status=503)
        return render_error(status=500)
