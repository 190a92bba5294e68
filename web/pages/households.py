"""The households a user may see, and one household's page (personal data masked)."""

from __future__ import annotations

import datetime as dt

from flask import render_template, request
from flask_login import login_required

from models.enums import (
    DisabilityType,
    GovAidType,
    HouseholdCategory,
    IllnessKind,
    Relation,
    Role,
    SchoolStage,
    SelfCare,
    Sex,
)
from web.auth import actor
from web.db import get_db
from web.services.households import get_household, list_households, priority_groups
from web.services.scoping import require_role

from . import pages

LABELS = {
    "category": HouseholdCategory.labels(),
    "relation": Relation.labels(),
    "sex": Sex.labels(),
    "disability": DisabilityType.labels(),
    "illness_kind": IllnessKind.labels(),
    "self_care": SelfCare.labels(),
    "school_stage": SchoolStage.labels(),
    "aid": GovAidType.labels(),
}


@pages.route("/households")
@login_required
def households() -> str:
    user = actor()
    require_role(user, Role.STATION_STAFF, Role.CIVIL_AFFAIRS)
    query = (request.args.get("q") or "").strip()[:64] or None
    page = max(1, request.args.get("page", 1, type=int) or 1)
    result = list_households(get_db(), user, query=query, page=page, per_page=20)
    return render_template("households/list.html", result=result, query=query, labels=LABELS)


@pages.route("/households/<int:household_id>")
@login_required
def household(household_id: int) -> str:
    record = get_household(get_db(), actor(), household_id)
    today = dt.date.today()
    return render_template(
        "households/detail.html",
        household=record,
        groups=priority_groups(record, today),
        today=today,
        labels=LABELS,
    )
