"""``/api/v1/allocation-plans``: a county or township office's joint allocation of scarce
places over its open needs (联合分配方案), beside first come first served; its lines edited
and the plan approved as a batch."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import login_required
from flask_smorest import Blueprint

from web.auth import actor
from web.db import get_db
from web.schemas.allocation import (
    ApprovalSchema,
    LineAddSchema,
    LineChangeSchema,
    PlanCreateSchema,
    PlanSchema,
    PlanSummarySchema,
    WeightsSchema,
)
from web.schemas.base import ErrorSchema
from web.services.allocation import (
    add_line,
    approve_plan,
    change_line,
    create_plan,
    get_plan,
    list_plans,
    set_weights,
)
from web.services.allocation_views import plan_document, plan_summary

PREFIX = "/allocation-plans"
blp = Blueprint("allocation_plans", __name__, description="联合分配方案（民政部门）")


@blp.route("")
class AllocationPlans(MethodView):
    @login_required
    @blp.response(200, PlanSummarySchema(many=True))
    @blp.alt_response(403, schema=ErrorSchema, description="不是民政部门工作人员")
    def get(self) -> list[dict[str, Any]]:
        """The plans of the caller's region, newest first."""
        db = get_db()
        return [plan_summary(db, plan) for plan in list_plans(db, actor())]

    @login_required
    @blp.arguments(PlanCreateSchema)
    @blp.response(201, PlanSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="不是民政部门工作人员或不在辖区内")
    @blp.alt_response(422, schema=ErrorSchema, description="区划或权重有误")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Solve a plan for the open needs of a county or township (default: the caller's
        region) and save it as a draft, with first come first served on the same data."""
        db = get_db()
        plan = create_plan(db, actor(), data["region_code"], data["weights"])
        return plan_document(db, plan)


@blp.route("/<int:plan_id>")
class AllocationPlanById(MethodView):
    @login_required
    @blp.response(200, PlanSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或不在辖区内")
    def get(self, plan_id: int) -> dict[str, Any]:
        """One plan with its comparison, the places it gives each project and its lines."""
        db = get_db()
        return plan_document(db, get_plan(db, actor(), plan_id))


@blp.route("/<int:plan_id>/weights")
class AllocationPlanWeights(MethodView):
    @login_required
    @blp.arguments(WeightsSchema)
    @blp.response(200, PlanSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或不在辖区内")
    @blp.alt_response(409, schema=ErrorSchema, description="方案已批准")
    @blp.alt_response(422, schema=ErrorSchema, description="权重有误")
    def put(self, weights: dict[str, Any], plan_id: int) -> dict[str, Any]:
        """Solve a draft again over the same needs and places with new weights (hand edits
        are replaced)."""
        db = get_db()
        return plan_document(db, set_weights(db, actor(), plan_id, weights))


@blp.route("/<int:plan_id>/lines/<int:line_id>")
class AllocationPlanLineById(MethodView):
    @login_required
    @blp.arguments(LineChangeSchema)
    @blp.response(200, PlanSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或不在辖区内")
    @blp.alt_response(409, schema=ErrorSchema, description="名额或资金不足，或方案已批准")
    @blp.alt_response(422, schema=ErrorSchema, description="项目不符合这项需求的硬性条件")
    def patch(self, data: dict[str, Any], plan_id: int, line_id: int) -> dict[str, Any]:
        """Give the line's need another of its projects, or remove the line (null)."""
        db = get_db()
        return plan_document(db, change_line(db, actor(), plan_id, line_id, data["project_id"]))


@blp.route("/<int:plan_id>/lines")
class AllocationPlanLines(MethodView):
    @login_required
    @blp.arguments(LineAddSchema)
    @blp.response(201, PlanSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或不在辖区内")
    @blp.alt_response(409, schema=ErrorSchema, description="名额或资金不足，或该需求已有一行")
    @blp.alt_response(422, schema=ErrorSchema, description="需求不在方案中，或项目不符合条件")
    def post(self, data: dict[str, Any], plan_id: int) -> dict[str, Any]:
        """Give a need the plan left out one of its projects."""
        db = get_db()
        plan = add_line(db, actor(), plan_id, data["need_id"], data["project_id"])
        return plan_document(db, plan)


@blp.route("/<int:plan_id>/approve")
class AllocationPlanApproval(MethodView):
    @login_required
    @blp.response(200, ApprovalSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="制定人不能批准自己的方案")
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或不在辖区内")
    @blp.alt_response(409, schema=ErrorSchema, description="方案已批准或没有待批准的行")
    def post(self, plan_id: int) -> dict[str, Any]:
        """Approve the plan: every proposed line becomes an approved referral of the plan and
        takes its place; a line whose place was taken meanwhile becomes a conflict."""
        db = get_db()
        result = approve_plan(db, actor(), plan_id)
        return {
            "approved": result.approved,
            "conflicts": result.conflicts,
            "plan": plan_document(db, result.plan),
        }
