"""``/api/v1/local-resources``: stations register and edit their township's local resources
(本地资源); the county office reviews them through ``/projects/<id>/review``."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask.views import MethodView
from flask_login import login_required
from flask_smorest import Blueprint

from models import Project
from web.auth import actor
from web.db import get_db
from web.schemas.base import ErrorSchema
from web.schemas.supply import (
    LocalResourceInputSchema,
    LocalResourcePatchSchema,
    LocalResourceQuerySchema,
    LocalResourceSchema,
    ReasonSchema,
)
from web.services.local_resources import (
    LocalResourceInput,
    get_local_resource,
    list_local_resources,
    local_input_of,
    register_local_resource,
    require_station,
    update_local_resource,
    withdraw_local_resource,
)

PREFIX = "/local-resources"
blp = Blueprint("local_resources", __name__, description="本地资源（服务站登记）")


@blp.route("")
class LocalResources(MethodView):
    @login_required
    @blp.arguments(LocalResourceQuerySchema, location="query")
    @blp.response(200, LocalResourceSchema(many=True))
    @blp.alt_response(401, schema=ErrorSchema, description="未登录")
    def get(self, args: dict[str, Any]) -> list[Project]:
        """Local resources visible to the caller: a station, its township's."""
        return list_local_resources(get_db(), actor(), status=args["status"])

    @login_required
    @blp.arguments(LocalResourceInputSchema)
    @blp.response(201, LocalResourceSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="不是服务站工作人员")
    @blp.alt_response(422, schema=ErrorSchema, description="字段有误")
    def post(self, data: LocalResourceInput) -> Project:
        """Register a local resource of the caller's township (sent for the county's review)."""
        return register_local_resource(get_db(), actor(), data)


@blp.route("/<int:project_id>")
class LocalResourceById(MethodView):
    @login_required
    @blp.response(200, LocalResourceSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或不是本乡镇的")
    def get(self, project_id: int) -> Project:
        """One local resource."""
        return get_local_resource(get_db(), actor(), project_id)

    @login_required
    @blp.arguments(LocalResourcePatchSchema)
    @blp.response(200, LocalResourceSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或不是本乡镇的")
    @blp.alt_response(409, schema=ErrorSchema, description="已撤回或已到期")
    @blp.alt_response(422, schema=ErrorSchema, description="字段有误")
    def patch(self, changes: dict[str, Any], project_id: int) -> Project:
        """Change some fields; a verified resource's change waits for the county's review."""
        db = get_db()
        user = actor()
        require_station(user)
        current = local_input_of(get_local_resource(db, user, project_id))
        data = LocalResourceInput(
            project=dataclasses.replace(
                current.project,
                **{k: v for k, v in changes.items() if k not in ("provider_name", "provider_kind")},
            ),
            provider_name=changes.get("provider_name", current.provider_name),
            provider_kind=changes.get("provider_kind", current.provider_kind),
        )
        return update_local_resource(db, user, project_id, data)


@blp.route("/<int:project_id>/withdraw")
class LocalResourceWithdraw(MethodView):
    @login_required
    @blp.arguments(ReasonSchema)
    @blp.response(200, LocalResourceSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或不是本乡镇的")
    @blp.alt_response(409, schema=ErrorSchema, description="当前状态不能撤回")
    def post(self, body: dict[str, Any], project_id: int) -> Project:
        """Withdraw a local resource from offer (reason required)."""
        return withdraw_local_resource(get_db(), actor(), project_id, body["reason"])
