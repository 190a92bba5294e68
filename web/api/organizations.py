"""``/api/v1/organizations``: charities register; their registering department reviews them."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from flask_login import login_required
from flask_smorest import Blueprint

from models import Organization
from models.base import utcnow
from web.auth import actor
from web.db import get_db
from web.schemas.base import ErrorSchema
from web.schemas.charity_record import (
    CharityRecordQuerySchema,
    CharityRecordSchema,
    HouseholdsServedQuerySchema,
    HouseholdsServedSchema,
)
from web.schemas.supply import (
    OrganizationQuerySchema,
    OrganizationRegistrationSchema,
    OrganizationSchema,
    ReviewSchema,
)
from web.services.charity_record import CharityRecord, get_charity_record
from web.services.errors import ServiceError
from web.services.households_served import HouseholdsServed, list_households_served
from web.services.organizations import (
    get_organization,
    list_organizations,
    register_charity,
    review_organization,
)

PREFIX = "/organizations"
blp = Blueprint("organizations", __name__, description="慈善组织")


@blp.route("")
class Organizations(MethodView):
    @login_required
    @blp.arguments(OrganizationQuerySchema, location="query")
    @blp.response(200, OrganizationSchema(many=True))
    @blp.alt_response(401, schema=ErrorSchema, description="未登录")
    def get(self, args: dict[str, Any]) -> list[Organization]:
        """Charities visible to the caller (verified ones; all for civil-affairs staff)."""
        return list_organizations(get_db(), actor(), args.get("status"))

    @blp.doc(security=[])
    @blp.arguments(OrganizationRegistrationSchema)
    @blp.response(201, OrganizationSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="统一社会信用代码已登记")
    @blp.alt_response(422, schema=ErrorSchema, description="字段有误")
    @blp.alt_response(429, schema=ErrorSchema, description="该地址一小时内注册尝试过多")
    def post(self, body: dict[str, Any]) -> Organization:
        """A charity registers itself with its first staff account, whose username is its
        统一社会信用代码 (pending verification)."""
        db = get_db()
        try:
            organization, _ = register_charity(
                db, password=body.pop("password"), display_name=body.pop("display_name"),
                uscc_code=body.pop("uscc"), client_address=request.remote_addr, now=utcnow(),
                **body,
            )  # fmt: skip
        except ServiceError:
            db.commit()  # the refused attempt's record must stick
            raise
        return organization


@blp.route("/<int:organization_id>")
class OrganizationById(MethodView):
    @login_required
    @blp.response(200, OrganizationSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不存在或无权查看")
    def get(self, organization_id: int) -> Organization:
        """One charity."""
        return get_organization(get_db(), actor(), organization_id)


@blp.route("/<int:organization_id>/record")
class OrganizationRecord(MethodView):
    @login_required
    @blp.arguments(CharityRecordQuerySchema, location="query")
    @blp.response(200, CharityRecordSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="服务站工作人员无此功能")
    @blp.alt_response(404, schema=ErrorSchema, description="不是本组织，或不在本辖区登记或服务")
    def get(self, args: dict[str, Any], organization_id: int) -> CharityRecord:
        """A charity's record for a half-year (慈善组织帮扶记录): referrals received,
        answered and completed, households served, money and services delivered, response
        times and declines by reason. A charity reads its own; an office, the charities
        registered in or serving its region, counting its region's households."""
        return get_charity_record(get_db(), actor(), organization_id, args["period"], form="api")


@blp.route("/<int:organization_id>/households-served")
class OrganizationHouseholdsServed(MethodView):
    @login_required
    @blp.arguments(HouseholdsServedQuerySchema, location="query")
    @blp.response(200, HouseholdsServedSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="不是本组织，或不在本辖区登记或服务")
    def get(self, args: dict[str, Any], organization_id: int) -> HouseholdsServed:
        """The households a charity served (一家慈善组织服务过的家庭): the referrals it accepted,
        is serving or completed, archived ones included, newest first, 50 a page. A charity
        reads its own without names; an office, the charities registered in or serving its
        region, its region's households only; stations and other charities get 404."""
        return list_households_served(
            get_db(), actor(), organization_id, period=args["period"], page=args["page"],
            form="api",
        )  # fmt: skip


@blp.route("/<int:organization_id>/review")
class OrganizationReview(MethodView):
    @login_required
    @blp.arguments(ReviewSchema)
    @blp.response(200, OrganizationSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="不是登记该组织的民政部门")
    @blp.alt_response(409, schema=ErrorSchema, description="不是待审核状态")
    def post(self, body: dict[str, Any], organization_id: int) -> Organization:
        """Verify (approve=true) or reject (approve=false, reason required) a registration."""
        return review_organization(
            get_db(), actor(), organization_id, approve=body["approve"], reason=body["reason"],
            now=utcnow(),
        )  # fmt: skip
