"""``/api/v1/needs``: help needs across the caller's households, and their status."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import login_required
from flask_smorest import Blueprint

from models import Need, clock
from web import timing
from web.auth import actor
from web.db import get_db
from web.schemas.base import ErrorSchema
from web.schemas.matching import MatchQuerySchema, MatchResultSchema, ReferralStartSchema
from web.schemas.needs_ledger import (
    NeedQuerySchema,
    NeedSchema,
    NeedStatusSchema,
    NeedSummaryInputSchema,
)
from web.schemas.referrals import ReferralSchema
from web.services import matching
from web.services.matching import match_need
from web.services.needs import get_need, list_needs, set_need_status, update_need_summary
from web.services.referrals.views import referral_view
from web.services.referrals.workflow import start_referral

PREFIX = "/needs"
blp = Blueprint("needs", __name__, description="帮扶需求")


@blp.route("")
class Needs(MethodView):
    @login_required
    @blp.arguments(NeedQuerySchema, location="query")
    @blp.response(200, NeedSchema(many=True))
    def get(self, args: dict[str, Any]) -> list[Need]:
        """Needs of the households visible to the caller, newest first; ``gained=true`` only
        those a re-match found new suitable projects for, not yet opened by the station."""
        return list_needs(
            get_db(), actor(), status=args["status"], domain=args["domain"], gained=args["gained"]
        )


@blp.route("/<int:need_id>")
class NeedById(MethodView):
    @login_required
    @blp.response(200, NeedSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权查看")
    def get(self, need_id: int) -> Need:
        """One need."""
        return get_need(get_db(), actor(), need_id)


@blp.route("/<int:need_id>/status")
class NeedStatusChange(MethodView):
    @login_required
    @blp.arguments(NeedStatusSchema)
    @blp.response(200, NeedSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权修改")
    @blp.alt_response(409, schema=ErrorSchema, description="流程不允许")
    @blp.alt_response(422, schema=ErrorSchema, description="关闭或重新打开须说明原因")
    def post(self, body: dict[str, Any], need_id: int) -> Need:
        """Close a need (with a reason), confirm it met, or reopen a closed one (with a reason);
        已转介, 帮扶中 and 部分满足 follow its referrals and are refused here (409)."""
        return set_need_status(get_db(), actor(), need_id, body["status"], body["reason"])


@blp.route("/<int:need_id>/public-summary")
class NeedPublicSummary(MethodView):
    @login_required
    @blp.arguments(NeedSummaryInputSchema)
    @blp.response(200, NeedSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权修改")
    @blp.alt_response(422, schema=ErrorSchema, description="含有可识别家庭的信息")
    def put(self, body: dict[str, Any], need_id: int) -> Need:
        """Write or confirm the summary charities read before they accept (对外情况说明)."""
        return update_need_summary(get_db(), actor(), need_id, body["public_summary"])


def match_payload(result: matching.NeedMatches, explain: bool) -> dict[str, Any]:
    from matcher import LOW_MATCH_THRESHOLD

    ranking = result.ranking
    return {
        "need_id": result.need.id,
        "model_version": ranking.model,
        "candidates": ranking.candidates,
        "excluded_count": ranking.excluded_count,
        "nothing_suitable": ranking.nothing_suitable,
        "low_match_threshold": LOW_MATCH_THRESHOLD,
        "items": ranking.items,
        "excluded": ranking.excluded if explain else [],
    }


@blp.route("/<int:need_id>/matches")
class NeedMatches(MethodView):
    @login_required
    @blp.arguments(MatchQuerySchema, location="query")
    @blp.response(200, MatchResultSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权查看")
    def get(self, args: dict[str, Any], need_id: int) -> dict[str, Any]:
        """Projects of the current ledgers that suit this need, best first, with reasons;
        ``explain=1`` lists the excluded ones and why."""
        explain = bool(args["explain"])
        result = match_need(
            get_db(), actor(), need_id, limit=args["limit"], explain=explain, today=timing.today()
        )
        return match_payload(result, explain)


@blp.route("/<int:need_id>/referrals")
class NeedReferrals(MethodView):
    @login_required
    @blp.arguments(ReferralStartSchema)
    @blp.response(201, ReferralSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="需求或项目不存在")
    @blp.alt_response(409, schema=ErrorSchema, description="未授权或已转介")
    def post(self, body: dict[str, Any], need_id: int) -> Any:
        """Start a referral (draft) of this need to a project, keeping the match score and
        model version for training; submit it with ``/referrals/<id>/submit``."""
        db, user = get_db(), actor()
        referral = start_referral(
            db, user, need_id, body["project_id"], score=body["score"],
            model_version=body["model_version"],
        )  # fmt: skip
        return referral_view(db, user, referral, clock.today())
