"""需求缺口: the unmet demand of the regions a charity serves, counts only (and, for
civil-affairs staff, what the charities of their region see)."""

from __future__ import annotations

from flask import render_template, request
from flask_login import login_required

from models import clock
from models.enums import PRIORITY_GROUPS, Domain, Role
from web.auth import actor
from web.db import get_db
from web.services.demand import area_choices, demand_scope, demand_view

from .blueprint import pages


@pages.route("/demand")
@login_required
def demand_page() -> str:
    db, user = get_db(), actor()
    today = clock.today()
    view = demand_view(
        db, user, today,
        area=request.args.get("area") or None,
        domain=request.args.get("domain") or None,
        group=request.args.get("group") or None,
    )  # fmt: skip
    chart = [
        {"label": row["label"], "needs": row["needs"], "places": row["places"]}
        for row in view["domains"]
    ]
    return render_template(
        "demand/overview.html", view=view, chart=chart,
        areas=area_choices(db, demand_scope(db, user, today)),
        domains=list(Domain), groups=list(PRIORITY_GROUPS),
        may_start=user.role == Role.CHARITY_STAFF,
    )  # fmt: skip
