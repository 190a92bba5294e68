"""``/api/v1/ledgers``: half-year editions of the supply ledger, their diffs and exports (Excel,
Open Referral HSDS)."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_login import login_required
from flask_smorest import Blueprint

from models import LedgerEdition
from models.clock import half_year_name
from web import timing
from web.auth import actor
from web.db import get_db
from web.schemas.base import ErrorSchema
from web.schemas.supply import (
    LedgerBuildSchema,
    LedgerDiffSchema,
    LedgerEditionDetailSchema,
    LedgerEditionSchema,
    LedgerHsdsSchema,
    LedgerQuerySchema,
)
from web.services.excel import export_edition
from web.services.hsds import export_hsds
from web.services.ledgers import (
    EditionDiff,
    build_edition,
    current_editions,
    edition_diff,
    get_edition,
    list_editions,
    upcoming_editions,
)
from web.services.rematch import rematch_after_publication

PREFIX = "/ledgers"
blp = Blueprint("ledgers", __name__, description="慈善帮扶资源供给台账")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(data: bytes, filename: str) -> Response:
    from urllib.parse import quote

    response = Response(data, mimetype=XLSX)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=ledger.xlsx; filename*=UTF-8''{quote(filename)}"
    )
    return response


@blp.route("")
class Ledgers(MethodView):
    @login_required
    @blp.arguments(LedgerQuerySchema, location="query")
    @blp.response(200, LedgerEditionSchema(many=True))
    def get(self, args: dict[str, Any]) -> list[LedgerEdition]:
        """All published editions, newest first (optionally of one department's region)."""
        return list_editions(get_db(), actor(), args["region_code"])

    @login_required
    @blp.arguments(LedgerBuildSchema)
    @blp.response(201, LedgerEditionSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="不是该部门")
    @blp.alt_response(422, schema=ErrorSchema, description="期次或区划有误")
    def post(self, body: dict[str, Any]) -> LedgerEdition:
        """Publish a new edition of a department's ledger for a half-year period; one in
        effect at once is followed by a re-match of the waiting needs of its region."""
        db, now = get_db(), timing.now()
        edition = build_edition(db, actor(), body["region_code"], body["period"], now).edition
        rematch_after_publication(db, actor(), edition, now)
        return edition


@blp.route("/current")
class CurrentLedgers(MethodView):
    @login_required
    @blp.arguments(LedgerQuerySchema, location="query")
    @blp.response(200, LedgerEditionDetailSchema(many=True))
    def get(self, args: dict[str, Any]) -> list[LedgerEdition]:
        """The current editions covering a region (default: the caller's): province, city and
        county, each the one in effect today (an edition published ahead of its half-year
        waits for it)."""
        region_code = args["region_code"] or actor().region_code
        return current_editions(get_db(), region_code, timing.today())


@blp.route("/upcoming")
class UpcomingLedgers(MethodView):
    @login_required
    @blp.arguments(LedgerQuerySchema, location="query")
    @blp.response(200, LedgerEditionDetailSchema(many=True))
    def get(self, args: dict[str, Any]) -> list[LedgerEdition]:
        """下期台账: editions covering a region published ahead of their half-year, waiting
        for ``effective_from``; ``/ledgers/<id>/diff`` compares each with the current one."""
        region_code = args["region_code"] or actor().region_code
        return upcoming_editions(get_db(), region_code, timing.today())


@blp.route("/<int:edition_id>")
class LedgerById(MethodView):
    @login_required
    @blp.response(200, LedgerEditionDetailSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不存在")
    def get(self, edition_id: int) -> LedgerEdition:
        """One edition with its frozen entries."""
        return get_edition(get_db(), actor(), edition_id)


@blp.route("/<int:edition_id>/diff")
class LedgerDiff(MethodView):
    @login_required
    @blp.response(200, LedgerDiffSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不存在")
    def get(self, edition_id: int) -> EditionDiff:
        """Projects added, changed and removed against the department's edition in effect when
        it was published (for a waiting edition: the current one)."""
        db = get_db()
        return edition_diff(db, get_edition(db, actor(), edition_id))


@blp.route("/<int:edition_id>/export.xlsx")
class LedgerExport(MethodView):
    @login_required
    @blp.response(200, description="Excel 文件（导入模板格式，中文表头）")
    @blp.alt_response(404, schema=ErrorSchema, description="不存在")
    def get(self, edition_id: int) -> Response:
        """The edition as an ``.xlsx`` in the import template."""
        edition = get_edition(get_db(), actor(), edition_id)
        period = half_year_name(edition.period)
        return xlsx_response(
            export_edition(edition), f"慈善帮扶资源台账-{edition.region_code}-{period}.xlsx"
        )


@blp.route("/<int:edition_id>/hsds")
class LedgerHsds(MethodView):
    @login_required
    @blp.response(200, LedgerHsdsSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不存在")
    def get(self, edition_id: int) -> dict[str, Any]:
        """The edition in Open Referral HSDS 3.0 JSON: its organizations and services."""
        db = get_db()
        edition = get_edition(db, actor(), edition_id)
        return export_hsds(db, edition, timing.today()).as_document()
