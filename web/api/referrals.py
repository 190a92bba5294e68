"""``/api/v1/referrals``: the referral workflow, one ``POST /<id>/<action>`` per step.

Every step takes the ``version`` the caller read; a referral changed since answers 409.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_login import login_required
from flask_smorest import Blueprint
from marshmallow import Schema

from models import clock
from web.auth import actor
from web.db import get_db
from web.schemas.base import ErrorSchema
from web.schemas.referrals import (
    BackReferralInputSchema,
    BackReferralSchema,
    BatchApproveSchema,
    BatchOutcomeSchema,
    CompleteSchema,
    ContactSchema,
    DeclineSchema,
    EpisodeInputSchema,
    EpisodeSchema,
    FollowUpInputSchema,
    FollowUpResolveSchema,
    FollowUpSchema,
    ReasonActionSchema,
    ReferralCreateSchema,
    ReferralLineSchema,
    ReferralQuerySchema,
    ReferralSchema,
    SubmitSchema,
    VersionSchema,
)
from web.services.errors import NotFound
from web.services.referrals import back_referrals, episodes, followups, views, workflow

PREFIX = "/referrals"
blp = Blueprint("referrals", __name__, description="转介：服务站发起、民政审批、慈善组织接收与帮扶")


def view(referral_id: int) -> dict[str, Any]:
    db, user = get_db(), actor()
    referral = views.get_referral(db, user, referral_id)
    return views.referral_view(db, user, referral, clock.today())


@blp.route("")
class Referrals(MethodView):
    @login_required
    @blp.arguments(ReferralQuerySchema, location="query")
    @blp.response(200, ReferralLineSchema(many=True))
    def get(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        """Referrals visible to the caller, urgent first; ``box=queue`` is a civil-affairs
        office's approval queue, ``box=inbox`` a charity's inbox."""
        db, user = get_db(), actor()
        statuses = (args["status"],) if args["status"] else views.BOXES[args["box"]]
        filters = views.ReferralFilter(
            status=statuses, urgency=args["urgency"], domain=args["domain"],
            region_code=args["region_code"],
        )  # fmt: skip
        rows = views.list_referrals(db, user, filters, limit=args["limit"])
        return views.referral_summaries(db, user, rows)

    @login_required
    @blp.arguments(ReferralCreateSchema)
    @blp.response(201, ReferralSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="需求或项目不存在")
    @blp.alt_response(409, schema=ErrorSchema, description="未授权、需求已办结或已转介")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Start a referral (draft) of a need to a project, keeping the match score."""
        db, user = get_db(), actor()
        referral = workflow.start_referral(
            db, user, body["need_id"], body["project_id"], score=body["score"],
            model_version=body["model_version"], note=body["note"],
        )  # fmt: skip
        return views.referral_view(db, user, referral, clock.today())


@blp.route("/batch-approve")
class BatchApprove(MethodView):
    @login_required
    @blp.arguments(BatchApproveSchema)
    @blp.response(200, BatchOutcomeSchema(many=True))
    @blp.alt_response(403, schema=ErrorSchema, description="不是民政部门工作人员")
    def post(self, body: dict[str, Any]) -> list[Any]:
        """Approve several submitted referrals; each succeeds or fails on its own."""
        items = [(item["id"], item["version"]) for item in body["items"]]
        return workflow.approve_many(get_db(), actor(), items)


@blp.route("/<int:referral_id>")
class ReferralById(MethodView):
    @login_required
    @blp.response(200, ReferralSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权查看")
    def get(self, referral_id: int) -> dict[str, Any]:
        """One referral with its timeline and service episodes."""
        return view(referral_id)


#: A step's ``post`` as flask-smorest decorates it.
View = Callable[..., Any]


def _step(summary: str, schema: type[Schema] = VersionSchema) -> Callable[[View], View]:
    """Decorate a step's ``post`` with the shared arguments and responses."""

    def wrap(fn: View) -> View:
        fn.__doc__ = summary
        for status, text in (
            (403, "角色不能执行这一步"),
            (404, "不存在或无权查看"),
            (409, "当前状态不允许，或版本已过期（stale_version），或名额已满"),
            (422, "缺少原因或字段有误"),
        ):
            fn = blp.alt_response(status, schema=ErrorSchema, description=text)(fn)
        fn = blp.response(200, ReferralSchema)(fn)
        fn = blp.arguments(schema)(fn)
        return login_required(fn)

    return wrap


@blp.route("/<int:referral_id>/submit")
class Submit(MethodView):
    @_step(
        "Send a draft (or a returned referral) for approval; 409 ``already_helped`` when "
        "another charity already helps this need, unless ``acknowledge_duplicate``.",
        SubmitSchema,
    )
    def post(self, body: dict[str, Any], referral_id: int) -> dict[str, Any]:
        workflow.submit_referral(
            get_db(), actor(), referral_id, version=body["version"],
            acknowledge_duplicate=body["acknowledge_duplicate"],
        )  # fmt: skip
        return view(referral_id)


@blp.route("/<int:referral_id>/approve")
class Approve(MethodView):
    @_step("Approve (civil affairs): reserves one place and the amount of the project.")
    def post(self, body: dict[str, Any], referral_id: int) -> dict[str, Any]:
        workflow.approve_referral(get_db(), actor(), referral_id, version=body["version"])
        return view(referral_id)


@blp.route("/<int:referral_id>/return")
class Return(MethodView):
    @_step("Return to the station (civil affairs), with a reason.", ReasonActionSchema)
    def post(self, body: dict[str, Any], referral_id: int) -> dict[str, Any]:
        workflow.return_referral(
            get_db(), actor(), referral_id, body["reason"], version=body["version"]
        )
        return view(referral_id)


@blp.route("/<int:referral_id>/accept")
class Accept(MethodView):
    @_step("Accept (the charity owning the project).")
    def post(self, body: dict[str, Any], referral_id: int) -> dict[str, Any]:
        workflow.accept_referral(get_db(), actor(), referral_id, version=body["version"])
        return view(referral_id)


@blp.route("/<int:referral_id>/decline")
class Decline(MethodView):
    @_step("Decline with a reason from the fixed list (``other`` needs a note); releases "
           "the place.", DeclineSchema)  # fmt: skip
    def post(self, body: dict[str, Any], referral_id: int) -> dict[str, Any]:
        workflow.decline_referral(
            get_db(), actor(), referral_id, body["reason"], body["note"], version=body["version"]
        )
        return view(referral_id)


@blp.route("/<int:referral_id>/start")
class Start(MethodView):
    @_step("Start the service (the charity, after accepting).")
    def post(self, body: dict[str, Any], referral_id: int) -> dict[str, Any]:
        workflow.start_service(get_db(), actor(), referral_id, version=body["version"])
        return view(referral_id)


@blp.route("/<int:referral_id>/complete")
class Complete(MethodView):
    @_step("Complete with the delivered amount or service (or the logged episodes); the "
           "need becomes fulfilled.", CompleteSchema)  # fmt: skip
    def post(self, body: dict[str, Any], referral_id: int) -> dict[str, Any]:
        workflow.complete_referral(
            get_db(), actor(), referral_id, delivered_amount_fen=body["delivered_amount_fen"],
            delivered_service=body["delivered_service"], version=body["version"],
            follow_up_days=current_app.config["FOLLOW_UP_DAYS"],
        )  # fmt: skip
        return view(referral_id)


@blp.route("/<int:referral_id>/cancel")
class Cancel(MethodView):
    @_step("Cancel from draft, submitted or approved (station or civil affairs), with a "
           "reason; an approved one's place is released.", ReasonActionSchema)  # fmt: skip
    def post(self, body: dict[str, Any], referral_id: int) -> dict[str, Any]:
        workflow.cancel_referral(
            get_db(), actor(), referral_id, body["reason"], version=body["version"]
        )
        return view(referral_id)


@blp.route("/<int:referral_id>/episodes")
class Episodes(MethodView):
    @login_required
    @blp.response(200, EpisodeSchema(many=True))
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权查看")
    def get(self, referral_id: int) -> list[Any]:
        """The service episodes logged so far."""
        return view(referral_id)["episodes"]

    @login_required
    @blp.arguments(EpisodeInputSchema)
    @blp.response(201, EpisodeSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="不是该项目的慈善组织")
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权查看")
    @blp.alt_response(409, schema=ErrorSchema, description="不在服务中")
    @blp.alt_response(422, schema=ErrorSchema, description="字段有误")
    def post(self, body: dict[str, Any], referral_id: int) -> Any:
        """Log one visit, session or class (date, kind, quantity, value, note)."""
        episode = episodes.add_episode(
            get_db(), actor(), referral_id, episodes.EpisodeInput(**body), today=clock.today()
        )
        return episodes.episode_view(episode)


@blp.route("/<int:referral_id>/contact")
class Contact(MethodView):
    @login_required
    @blp.response(200, ContactSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="尚未接收")
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权查看")
    def get(self, referral_id: int) -> dict[str, Any]:
        """The household's contact, for the charity that accepted it; every look is audited."""
        return views.referral_contact(get_db(), actor(), referral_id)


@blp.route("/<int:referral_id>/back-referral")
class ReferBack(MethodView):
    @login_required
    @blp.arguments(BackReferralInputSchema)
    @blp.response(201, BackReferralSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="不是慈善组织")
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权查看")
    def post(self, body: dict[str, Any], referral_id: int) -> Any:
        """双向转介: tell the civil-affairs office the household may qualify for government aid."""
        db, user = get_db(), actor()
        back = back_referrals.refer_back(db, user, referral_id, body["aid_types"], body["note"])
        return back_referrals.back_referral_lines(db, user, [back])[0]


def _follow_up(referral_id: int) -> dict[str, Any]:
    shown = view(referral_id)["follow_up"]
    if shown is None:
        raise NotFound("该转介尚无回访：帮扶完成后由服务站回访。")
    return dict(shown)


@blp.route("/<int:referral_id>/follow-up")
class FollowUp(MethodView):
    @login_required
    @blp.response(200, FollowUpSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权查看，或尚无回访")
    def get(self, referral_id: int) -> dict[str, Any]:
        """The follow-up (回访) of a completed referral, as the caller may see it (a charity:
        once recorded, whether the help arrived and the satisfaction only)."""
        return _follow_up(referral_id)

    @login_required
    @blp.arguments(FollowUpInputSchema)
    @blp.response(200, FollowUpSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="不是服务站工作人员")
    @blp.alt_response(404, schema=ErrorSchema, description="不是本站家庭的转介，或无权查看")
    @blp.alt_response(409, schema=ErrorSchema, description="尚未完成，或已回访")
    @blp.alt_response(422, schema=ErrorSchema, description="缺少回答，或满意度不在 1–5")
    def post(self, body: dict[str, Any], referral_id: int) -> dict[str, Any]:
        """Record the follow-up (the household's station): received, as recorded, satisfaction
        1–5, need met; nothing received or not as recorded flags it to the office."""
        followups.record_follow_up(get_db(), actor(), referral_id, followups.FollowUpInput(**body))
        return _follow_up(referral_id)


@blp.route("/<int:referral_id>/follow-up/resolve")
class FollowUpResolve(MethodView):
    @login_required
    @blp.arguments(FollowUpResolveSchema)
    @blp.response(200, FollowUpSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="不是民政部门工作人员")
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权查看")
    @blp.alt_response(409, schema=ErrorSchema, description="没有待核实的回访")
    @blp.alt_response(422, schema=ErrorSchema, description="缺少核实处理情况")
    def post(self, body: dict[str, Any], referral_id: int) -> dict[str, Any]:
        """Resolve a flagged follow-up (the approving office), on record with its text."""
        followups.resolve_follow_up(get_db(), actor(), referral_id, body["resolution"])
        return _follow_up(referral_id)
