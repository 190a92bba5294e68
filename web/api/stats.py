"""``/api/v1/stats``: the dashboard's figures for a region, as JSON and as ``.xlsx``."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_babel import gettext
from flask_login import login_required
from flask_smorest import Blueprint

from models import clock
from web.auth import actor
from web.db import get_db, get_read_db, read_sessionmaker
from web.schemas.base import ErrorSchema
from web.schemas.stats import FigureQuerySchema, OverviewSchema, ReportQuerySchema, StatsQuerySchema
from web.services.stats import half_year_report, stats_scope
from web.services.stats_snapshots import region_figures
from web.services.stats_tables import figure_workbook

from .ledgers import xlsx_response

PREFIX = "/stats"
blp = Blueprint("stats", __name__, description="统计：需求与供给、转介办理情况")


def _figures(args: dict[str, Any]) -> dict[str, Any]:
    db, user = get_db(), actor()
    scope = stats_scope(db, user, args["region_code"], clock.today(), args["period"])
    return region_figures(db, user, scope, read_sessionmaker(), reads=get_read_db())


@blp.route("/overview")
class Overview(MethodView):
    @login_required
    @blp.arguments(StatsQuerySchema, location="query")
    @blp.response(200, OverviewSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="不是民政部门，或不是本辖区")
    @blp.alt_response(404, schema=ErrorSchema, description="没有这个区划")
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Every figure of a region (the caller's own or one below it): open needs against
        places by domain, coverage, waiting, the referral funnel, median durations, charities'
        acceptance, amounts delivered by month and domain, priority groups reached, and the
        same headline figures for each region one level down."""
        return _figures(args)


@blp.route("/figure.xlsx")
class FigureExport(MethodView):
    @login_required
    @blp.arguments(FigureQuerySchema, location="query")
    @blp.response(200, description="一项统计的 Excel 文件")
    @blp.alt_response(403, schema=ErrorSchema, description="不是本辖区")
    def get(self, args: dict[str, Any]) -> Response:
        """One figure (``figure=needs_and_places`` …) as an ``.xlsx``."""
        figures = _figures(args)
        name = f"统计-{args['figure']}-{figures['region']['code']}.xlsx"
        return xlsx_response(figure_workbook(args["figure"], figures, gettext), name)


@blp.route("/report.xlsx")
class Report(MethodView):
    @login_required
    @blp.arguments(ReportQuerySchema, location="query")
    @blp.response(200, description="半年度报告 Excel 文件")
    @blp.alt_response(403, schema=ErrorSchema, description="不是本辖区")
    def get(self, args: dict[str, Any]) -> Response:
        """The half-year report of a region and its children as an ``.xlsx``."""
        db, user = get_db(), actor()
        scope = stats_scope(db, user, args["region_code"], clock.today(), args["period"])
        data = half_year_report(
            db, user, scope, read_sessionmaker(), say=gettext, reads=get_read_db()
        )
        period = clock.half_year_name(scope.period or "")
        return xlsx_response(data, f"半年度报告-{scope.region.name}-{period}.xlsx")
