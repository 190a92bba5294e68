"""``/api/v1/demand``: the unmet demand of the regions a charity serves, counts only."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import login_required
from flask_smorest import Blueprint

from models import clock
from web.auth import actor
from web.db import get_db
from web.schemas.base import ErrorSchema
from web.schemas.demand import DemandQuerySchema, DemandSchema
from web.services.demand import demand_view

PREFIX = "/demand"
blp = Blueprint("demand", __name__, description="需求缺口：服务区域内尚未满足的需求（仅计数）")


@blp.route("")
class Demand(MethodView):
    @login_required
    @blp.arguments(DemandQuerySchema, location="query")
    @blp.response(200, DemandSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="服务站，或所选区划不在服务区域内")
    @blp.alt_response(422, schema=ErrorSchema, description="参数无效")
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Awaiting needs in the regions served, by domain, township, remaining-gap band and
        priority group, beside the places already offered; counts under 5 and the cells that
        would give them away are null (少于5)."""
        return demand_view(get_db(), actor(), clock.today(), **args)
