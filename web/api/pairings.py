"""``/api/v1/referrals/<id>/pairing``: 结对帮扶, a person of the charity paired with a member of
the household, with a visit plan checked month by month against the logged visits."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import login_required
from flask_smorest import Blueprint

from models import clock
from web.auth import actor
from web.db import get_db
from web.schemas.base import ErrorSchema
from web.schemas.pairings import PairingEndSchema, PairingInputSchema, PairingSchema
from web.services.referrals import pairings

PREFIX = "/referrals"
blp = Blueprint(
    "pairings", __name__, description="结对帮扶：结对人、结对对象、探访计划与每月探访情况"
)


def _shown(pairing: Any) -> dict[str, Any]:
    view = pairings.pairing_view(get_db(), actor(), pairing.referral, pairing, clock.today())
    assert view is not None
    return view


@blp.route("/<int:referral_id>/pairing")
class Pairing(MethodView):
    @login_required
    @blp.response(200, PairingSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权查看，或没有结对帮扶")
    def get(self, referral_id: int) -> dict[str, Any]:
        """The referral's pairing with each month's visits against the plan (the charity,
        the household's station and the offices covering it)."""
        return pairings.get_pairing(get_db(), actor(), referral_id, clock.today())

    @login_required
    @blp.arguments(PairingInputSchema)
    @blp.response(201, PairingSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="不是该转介的慈善组织")
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权查看")
    @blp.alt_response(409, schema=ErrorSchema, description="未接收或已完成，或已设立结对帮扶")
    @blp.alt_response(422, schema=ErrorSchema, description="字段有误（按字段给出）")
    def post(self, body: dict[str, Any], referral_id: int) -> dict[str, Any]:
        """Set up the pairing (the charity, once it has accepted): companion, member, dates
        and visits a month."""
        made = pairings.set_up_pairing(
            get_db(), actor(), referral_id, pairings.PairingInput(**body), today=clock.today()
        )
        return _shown(made)


@blp.route("/<int:referral_id>/pairing/end")
class PairingEnd(MethodView):
    @login_required
    @blp.arguments(PairingEndSchema)
    @blp.response(200, PairingSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="不是该转介的慈善组织")
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权查看，或没有结对帮扶")
    @blp.alt_response(409, schema=ErrorSchema, description="已提前结束或已到期")
    @blp.alt_response(422, schema=ErrorSchema, description="缺少结束日期或原因")
    def post(self, body: dict[str, Any], referral_id: int) -> dict[str, Any]:
        """End the pairing early (the charity), with its last day and the reason."""
        ended = pairings.end_pairing(
            get_db(), actor(), referral_id, pairings.PairingEndInput(**body), today=clock.today()
        )
        return _shown(ended)
