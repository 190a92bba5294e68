"""``/api/v1/projects``: charities register and edit projects; departments review them."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import login_required
from flask_smorest import Blueprint

from models import Project
from models.base import utcnow
from web.auth import actor
from web.db import get_db
from web.schemas.base import ErrorSchema
from web.schemas.supply import (
    ProjectInputSchema,
    ProjectQuerySchema,
    ProjectSchema,
    ReasonSchema,
    ReviewSchema,
)
from web.services.projects import (
    ProjectInput,
    confirm_project,
    get_project,
    list_projects,
    register_project,
    review_project,
    submit_project,
    update_project,
    withdraw_project,
)

PREFIX = "/projects"
blp = Blueprint("projects", __name__, description="慈善帮扶项目")


@blp.route("")
class Projects(MethodView):
    @login_required
    @blp.arguments(ProjectQuerySchema, location="query")
    @blp.response(200, ProjectSchema(many=True))
    @blp.alt_response(401, schema=ErrorSchema, description="未登录")
    def get(self, args: dict[str, Any]) -> list[Project]:
        """Projects visible to the caller: verified ones, plus a charity's own."""
        return list_projects(
            get_db(), actor(), status=args["status"], organization_id=args["organization_id"],
            reviewable=args["reviewable"],
        )  # fmt: skip

    @login_required
    @blp.arguments(ProjectInputSchema)
    @blp.response(201, ProjectSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="不是慈善组织工作人员")
    @blp.alt_response(422, schema=ErrorSchema, description="字段有误")
    def post(self, data: ProjectInput) -> Project:
        """Register a project of the caller's charity (as a draft)."""
        return register_project(get_db(), actor(), data)


@blp.route("/<int:project_id>")
class ProjectById(MethodView):
    @login_required
    @blp.response(200, ProjectSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权查看")
    def get(self, project_id: int) -> Project:
        """One project."""
        return get_project(get_db(), actor(), project_id)

    @login_required
    @blp.arguments(ProjectInputSchema)
    @blp.response(200, ProjectSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不是本组织的项目")
    @blp.alt_response(409, schema=ErrorSchema, description="当前状态不能修改")
    def put(self, data: ProjectInput, project_id: int) -> Project:
        """Edit a project; a verified one's edit waits for review (``pending_changes``)."""
        return update_project(get_db(), actor(), project_id, data)


@blp.route("/<int:project_id>/submit")
class ProjectSubmit(MethodView):
    @login_required
    @blp.response(200, ProjectSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不是本组织的项目")
    @blp.alt_response(409, schema=ErrorSchema, description="不是草稿，或组织未认证")
    def post(self, project_id: int) -> Project:
        """Send a draft for review by the charity's registering department."""
        return submit_project(get_db(), actor(), project_id)


@blp.route("/<int:project_id>/review")
class ProjectReview(MethodView):
    @login_required
    @blp.arguments(ReviewSchema)
    @blp.response(200, ProjectSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="不是该组织的登记民政部门")
    @blp.alt_response(409, schema=ErrorSchema, description="没有待审核的内容")
    def post(self, body: dict[str, Any], project_id: int) -> Project:
        """Verify or reject a submitted project, or a verified project's pending edit."""
        return review_project(
            get_db(), actor(), project_id, approve=body["approve"], reason=body["reason"],
            now=utcnow(),
        )  # fmt: skip


@blp.route("/<int:project_id>/withdraw")
class ProjectWithdraw(MethodView):
    @login_required
    @blp.arguments(ReasonSchema)
    @blp.response(200, ProjectSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不是本组织的项目")
    @blp.alt_response(409, schema=ErrorSchema, description="当前状态不能撤回")
    def post(self, body: dict[str, Any], project_id: int) -> Project:
        """Withdraw a project from offer (reason required)."""
        return withdraw_project(get_db(), actor(), project_id, body["reason"])


@blp.route("/<int:project_id>/confirm")
class ProjectConfirm(MethodView):
    @login_required
    @blp.response(200, ProjectSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不是本组织的项目")
    @blp.alt_response(409, schema=ErrorSchema, description="不是已审核项目")
    def post(self, project_id: int) -> Project:
        """Confirm the project is still on offer (the half-year confirmation)."""
        return confirm_project(get_db(), actor(), project_id, utcnow())
