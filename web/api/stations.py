"""``/api/v1/stations``: comprehensive-assistance stations and their worklists."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import login_required
from flask_smorest import Blueprint

from models import Station, clock
from web.auth import actor
from web.db import get_db
from web.schemas.base import ErrorSchema
from web.schemas.needs_ledger import (
    StationInputSchema,
    StationSchema,
    StationUpdateSchema,
    WorklistQuerySchema,
    WorklistSchema,
)
from web.services.needs import Worklist, worklist
from web.services.stations import create_station, get_station, list_stations, update_station

PREFIX = "/stations"
blp = Blueprint("stations", __name__, description="综合救助服务站（点）")


@blp.route("")
class Stations(MethodView):
    @login_required
    @blp.response(200, StationSchema(many=True))
    def get(self) -> list[Station]:
        """Stations visible to the caller (its own; those in a civil-affairs region)."""
        return list_stations(get_db(), actor())

    @login_required
    @blp.arguments(StationInputSchema)
    @blp.response(201, StationSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="不是民政部门工作人员")
    @blp.alt_response(422, schema=ErrorSchema, description="区划不符或不在所辖范围")
    def post(self, body: dict[str, Any]) -> Station:
        """Open a station in a township or village of the caller's region."""
        return create_station(get_db(), actor(), **body)


@blp.route("/<int:station_id>")
class StationById(MethodView):
    @login_required
    @blp.response(200, StationSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权查看")
    def get(self, station_id: int) -> Station:
        """One station."""
        return get_station(get_db(), actor(), station_id)

    @login_required
    @blp.arguments(StationUpdateSchema)
    @blp.response(200, StationSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权查看")
    def put(self, body: dict[str, Any], station_id: int) -> Station:
        """Update a station's details (civil-affairs staff above it)."""
        return update_station(get_db(), actor(), station_id, **body)


@blp.route("/<int:station_id>/worklist")
class StationWorklist(MethodView):
    @login_required
    @blp.arguments(WorklistQuerySchema, location="query")
    @blp.response(200, WorklistSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权查看")
    def get(self, args: dict[str, Any], station_id: int) -> Worklist:
        """Open needs, urgent first then longest waiting, flagged where government aid is
        absent or below the household's rigid expenses; counts by domain. ``gained=true``
        lists only the needs a re-match found new suitable projects for."""
        return worklist(get_db(), actor(), station_id, clock.today(), only_gained=args["gained"])
