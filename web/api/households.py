"""``/api/v1/households``: the households the caller may see, personal data masked."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import login_required
from flask_smorest import Blueprint

from models import Household
from web.auth import actor
from web.db import get_db
from web.schemas.base import ErrorSchema
from web.schemas.households import HouseholdPageSchema, HouseholdQuerySchema, HouseholdSchema
from web.services.households import HouseholdPage, get_household, list_households

PREFIX = "/households"
blp = Blueprint("households", __name__, description="困难家庭（需求台账）")


@blp.route("")
class Households(MethodView):
    @login_required
    @blp.arguments(HouseholdQuerySchema, location="query")
    @blp.response(200, HouseholdPageSchema)
    @blp.alt_response(401, schema=ErrorSchema, description="未登录")
    def get(self, args: dict[str, Any]) -> HouseholdPage:
        """Households visible to the caller (a station's own; a region's for civil affairs)."""
        return list_households(
            get_db(), actor(), query=args.get("q"), page=args["page"], per_page=args["per_page"]
        )


@blp.route("/<int:household_id>")
class HouseholdById(MethodView):
    @login_required
    @blp.response(200, HouseholdSchema)
    @blp.alt_response(401, schema=ErrorSchema, description="未登录")
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权查看")
    def get(self, household_id: int) -> Household:
        """One household with members (ID numbers masked), aid and needs; the read is audited."""
        return get_household(get_db(), actor(), household_id)
