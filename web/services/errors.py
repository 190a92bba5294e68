"""Errors raised by services; the web layer turns them into responses (``web/api/errors.py``)."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """A refusal a user should see: an HTTP status, a stable code and a Chinese message."""

    status = 400
    code = "bad_request"
    default_message = "请求无效。"

    def __init__(self, message: str | None = None, fields: dict[str, Any] | None = None) -> None:
        self.message = message or self.default_message
        self.fields = fields or {}
        super().__init__(self.message)


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"
    default_message = "请先登录。"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"
    default_message = "您无权执行此操作。"


class NotFound(ServiceError):
    status = 404
    code = "not_found"
    default_message = "记录不存在或您无权查看。"


class Conflict(ServiceError):
    status = 409
    code = "conflict"
    default_message = "操作与当前状态冲突，请刷新后重试。"


class Archived(Conflict):
    """The case was archived after its retention period: kept, read-only."""

    code = "archived"
    default_message = "已归档，只读。"


class ValidationFailed(ServiceError):
    status = 422
    code = "validation_error"
    default_message = "提交的数据有误，请检查标出的字段。"


class Throttled(ServiceError):
    status = 429
    code = "too_many_attempts"
    default_message = "尝试次数过多，请稍后再试。"
