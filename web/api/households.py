"""``/api/v1/households``: the needs ledger; personal data masked unless explicitly shown."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from flask.views import MethodView
from flask_login import login_required
from flask_smorest import Blueprint
from marshmallow import fields

from models import GovAid, Household, Need
from models.base import utcnow
from web.auth import actor
from web.db import get_db
from web.schemas.base import ROW_ID, BaseSchema, ErrorSchema
from web.schemas.dossier import DossierSchema
from web.schemas.households import (
    HouseholdPageSchema,
    HouseholdQuerySchema,
    HouseholdSchema,
    HouseholdSearchSchema,
)
from web.schemas.needs_ledger import (
    ConsentSchema,
    DuplicateSchema,
    GovAidSchema,
    HouseholdInputSchema,
    NeedInputSchema,
    NeedSchema,
    RevealSchema,
)
from web.services.dossier import dossier
from web.services.households import (
    HouseholdFilter,
    HouseholdPage,
    add_gov_aid,
    add_need,
    check_duplicates,
    create_household,
    get_household,
    household_for_change,
    list_households,
    record_consent,
    remove_gov_aid,
    reveal_member_id,
    reveal_phone,
    update_household,
    withdraw_consent,
)
from web.services.households_excel import export_households
from web.services.needs import list_needs

from .ledgers import xlsx_response

PREFIX = "/households"
blp = Blueprint("households", __name__, description="困难家庭（需求台账）")


class ExportQuerySchema(BaseSchema):
    station_id = fields.Integer(load_default=None, validate=ROW_ID)


class HouseholdCreatedSchema(HouseholdSchema):
    duplicates = fields.List(
        fields.Nested(DuplicateSchema),
        metadata={"description": "已在其他服务站登记的成员（只给出站名）"},
    )
    duplicates_checked = fields.Boolean(
        metadata={"description": "否：今日身份证号查重已达上限，本次未查重"}
    )


@blp.route("")
class Households(MethodView):
    @login_required
    @blp.arguments(HouseholdQuerySchema, location="query")
    @blp.response(200, HouseholdPageSchema)
    @blp.alt_response(401, schema=ErrorSchema, description="未登录")
    def get(self, args: dict[str, Any]) -> HouseholdPage:
        """Households visible to the caller (a station's own; a region's for civil affairs),
        filtered; a search for a name, an ID number or a phone is ``POST /search``."""
        return _households_page(args)

    @login_required
    @blp.arguments(HouseholdInputSchema)
    @blp.response(201, HouseholdCreatedSchema)
    @blp.alt_response(422, schema=ErrorSchema, description="字段有误（如身份证号）")
    def post(self, body: dict[str, Any]) -> Household:
        """Register a household with its members; members already registered at another
        station are reported in ``duplicates`` (that station's name only)."""
        db = get_db()
        household = create_household(db, actor(), body["data"], station_id=body["station_id"])
        # Not a column: the response schema reads it beside the household's own fields.
        check = check_duplicates(
            db, actor(), [household], current_app.config["DUPLICATE_CHECKS_PER_DAY"]
        )
        household.duplicates = check.duplicates  # type: ignore[attr-defined]
        household.duplicates_checked = not check.is_skipped  # type: ignore[attr-defined]
        return household


@blp.route("/search")
class HouseholdSearch(MethodView):
    @login_required
    @blp.arguments(HouseholdSearchSchema)
    @blp.response(200, HouseholdPageSchema)
    @blp.alt_response(401, schema=ErrorSchema, description="未登录")
    @blp.alt_response(422, schema=ErrorSchema, description="字段有误")
    def post(self, body: dict[str, Any]) -> HouseholdPage:
        """Find households visible to the caller by any member's name, or exactly by an ID
        number or a phone. The term travels in the body, so no address, access log or
        browser history holds it; each search is audited by its kind, never its value."""
        return _households_page(body)


def _households_page(args: dict[str, Any]) -> HouseholdPage:
    filters = HouseholdFilter(
        query=args.get("q"), category=args["category"], station_id=args["station_id"],
        consent=args["consent"],
    )  # fmt: skip
    return list_households(
        get_db(), actor(), page=args["page"], per_page=args["per_page"], filters=filters
    )


@blp.route("/export.xlsx")
class HouseholdExport(MethodView):
    @login_required
    @blp.arguments(ExportQuerySchema, location="query")
    @blp.response(200, description="本站需求台账 Excel（身份证号、电话已脱敏）")
    @blp.alt_response(404, schema=ErrorSchema, description="服务站不存在或无权查看")
    def get(self, args: dict[str, Any]) -> Response:
        """A station's needs ledger as ``.xlsx`` (IDs and phones masked): the caller's own
        station, or ``station_id`` for civil-affairs staff above it."""
        data = export_households(get_db(), actor(), args["station_id"])
        return xlsx_response(data, "困难家庭需求台账.xlsx")


@blp.route("/<int:household_id>")
class HouseholdById(MethodView):
    @login_required
    @blp.response(200, HouseholdSchema)
    @blp.alt_response(401, schema=ErrorSchema, description="未登录")
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权查看")
    def get(self, household_id: int) -> Household:
        """One household with members (ID numbers masked), aid and needs; the read is audited."""
        return get_household(get_db(), actor(), household_id)

    @login_required
    @blp.arguments(HouseholdInputSchema)
    @blp.response(200, HouseholdSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权修改")
    @blp.alt_response(422, schema=ErrorSchema, description="字段有误")
    def put(self, body: dict[str, Any], household_id: int) -> Household:
        """Replace a household's details and members (members matched by ID number)."""
        return update_household(get_db(), actor(), household_id, body["data"])


@blp.route("/<int:household_id>/dossier")
class HouseholdDossier(MethodView):
    @login_required
    @blp.response(200, DossierSchema)
    @blp.alt_response(401, schema=ErrorSchema, description="未登录")
    @blp.alt_response(403, schema=ErrorSchema, description="慈善组织不能查看帮扶档案")
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权查看")
    def get(self, household_id: int) -> dict[str, Any]:
        """The household's 帮扶档案: members (IDs masked), aid, every need with its history,
        its referrals with their timeline, service and follow-up; the read is audited."""
        return dossier(get_db(), actor(), household_id, form="api")


@blp.route("/<int:household_id>/consent")
class HouseholdConsent(MethodView):
    @login_required
    @blp.arguments(ConsentSchema)
    @blp.response(200, HouseholdSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权修改")
    def post(self, body: dict[str, Any], household_id: int) -> Household:
        """Record the household's consent (授权): date and scope; the recorder is the caller."""
        return record_consent(get_db(), actor(), household_id, body["on"], body["scope"])

    @login_required
    @blp.response(200, HouseholdSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权修改")
    def delete(self, household_id: int) -> Household:
        """Withdraw consent: no new referrals, hidden from charities."""
        return withdraw_consent(get_db(), actor(), household_id, utcnow())


@blp.route("/<int:household_id>/members/<int:member_id>/reveal")
class MemberReveal(MethodView):
    @login_required
    @blp.response(200, RevealSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权查看")
    def post(self, household_id: int, member_id: int) -> dict[str, str]:
        """Show one member's whole ID number; every such request is audited."""
        return {"value": reveal_member_id(get_db(), actor(), household_id, member_id)}


@blp.route("/<int:household_id>/phone/reveal")
class PhoneReveal(MethodView):
    @login_required
    @blp.response(200, RevealSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权查看")
    def post(self, household_id: int) -> dict[str, str]:
        """Show the household's whole phone number; audited."""
        return {"value": reveal_phone(get_db(), actor(), household_id)}


@blp.route("/<int:household_id>/aid")
class HouseholdAid(MethodView):
    @login_required
    @blp.arguments(GovAidSchema)
    @blp.response(201, GovAidSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权修改")
    def post(self, body: dict[str, Any], household_id: int) -> GovAid:
        """Record government assistance the household receives."""
        db = get_db()
        user = actor()
        household = household_for_change(db, user, household_id)
        return add_gov_aid(
            db, user, household, body["aid_type"], body["amount_fen"], body["period_start_on"],
            body["period_end_on"],
        )  # fmt: skip


@blp.route("/<int:household_id>/aid/<int:aid_id>")
class HouseholdAidById(MethodView):
    @login_required
    @blp.response(204)
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权修改")
    def delete(self, household_id: int, aid_id: int) -> None:
        """Remove a government assistance record entered by mistake."""
        remove_gov_aid(get_db(), actor(), household_id, aid_id)


@blp.route("/<int:household_id>/needs")
class HouseholdNeeds(MethodView):
    @login_required
    @blp.response(200, NeedSchema(many=True))
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权查看")
    def get(self, household_id: int) -> list[Need]:
        """The household's needs."""
        db = get_db()
        user = actor()
        get_household(db, user, household_id)
        return list_needs(db, user, household_id=household_id)

    @login_required
    @blp.arguments(NeedInputSchema)
    @blp.response(201, NeedSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权修改")
    @blp.alt_response(422, schema=ErrorSchema, description="字段有误")
    def post(self, body: dict[str, Any], household_id: int) -> Need:
        """Record a need the household has."""
        db = get_db()
        user = actor()
        household = household_for_change(db, user, household_id)
        return add_need(
            db, user, household, domain=body["domain"], text=body["text"],
            member_id=body["member_id"], amount_gap_fen=body["amount_gap_fen"],
            urgency=body["urgency"], public_summary=body["public_summary"],
        )  # fmt: skip
