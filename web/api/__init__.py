"""The JSON API under ``/api/v1``: flask-smorest blueprints with marshmallow schemas."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api as SmorestApi

from web.schemas.base import ErrorSchema


class Api(SmorestApi):
    """flask-smorest, with our error envelope in the spec and our own error handlers."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        # web.errors renders every error (JSON envelope under /api/, pages elsewhere).
        pass


api = Api()


def register_api(app: Flask) -> None:
    from . import (
        allocation,
        attachments,
        auth,
        demand,
        households,
        imports,
        jobs,
        ledgers,
        local_resources,
        me,
        monitoring,
        needs,
        notifications,
        organizations,
        pairings,
        projects,
        referrals,
        stations,
        stats,
    )

    app.config.setdefault(
        "API_SPEC_OPTIONS",
        {
            "info": {
                "description": "政府救助与慈善帮扶衔接：慈善资源台账、需求台账、匹配与转介。"
                "除获取令牌外，所有接口需 `Authorization: Bearer <令牌>`。"
            },
            "servers": [{"url": "/"}],
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearerAuth": []}],
        },
    )
    api.init_app(app)
    modules = (
        auth, me, stations, households, needs, organizations, projects, ledgers, imports,
        referrals, notifications, jobs, stats, monitoring, demand, local_resources, allocation,
        attachments, pairings,
    )  # fmt: skip
    for module in modules:
        api.register_blueprint(module.blp, url_prefix=f"/api/v1{module.PREFIX}")
    monitoring.register_schemas(api)
    api.register_blueprint(notifications.back_blp, url_prefix=f"/api/v1{notifications.BACK_PREFIX}")
    # Neither is cookie-authenticated: one signs in, the other registers a new charity.
    app.config.setdefault("CSRF_EXEMPT_ENDPOINTS", set()).update(
        {"auth.Token", "organizations.Organizations"}
    )
