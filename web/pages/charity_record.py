"""慈善组织帮扶记录: a charity's own record per half-year, and any charity's for the offices
whose region it is registered in or serves; and the households it served, listed."""

from __future__ import annotations

from flask import render_template, request
from flask_login import login_required

from models import clock
from models.clock import period_of, recent_periods
from web.auth import actor
from web.db import get_db
from web.labels import LABELS
from web.services.charity_record import get_charity_record
from web.services.households_served import list_households_served
from web.services.organizations import own_organization

from .blueprint import pages


def _render(organization_id: int, *, own: bool) -> str:
    db, user = get_db(), actor()
    today = clock.today()
    period = request.args.get("period") or period_of(today)
    record = get_charity_record(db, user, organization_id, period)
    periods = recent_periods(today)
    if period not in periods:
        periods.append(period)
    return render_template("supply/charity_record.html", record=record, periods=periods, own=own)


@pages.route("/charity-record")
@login_required
def charity_record_page() -> str:
    """The signed-in charity's own record for a half-year."""
    db, user = get_db(), actor()
    return _render(own_organization(db, user).id, own=True)


@pages.route("/organizations/<int:organization_id>/record")
@login_required
def organization_record_page(organization_id: int) -> str:
    """A charity's record for a half-year, for an office of its region (or itself)."""
    return _render(organization_id, own=False)


@pages.route("/organizations/<int:organization_id>/households-served")
@login_required
def households_served_page(organization_id: int) -> str:
    """The households a charity served, 50 a page, for the charity or an office of its region."""
    db, user = get_db(), actor()
    period = request.args.get("period") or None
    page = min(100_000, max(1, request.args.get("page", 1, type=int) or 1))
    served = list_households_served(db, user, organization_id, period=period, page=page)
    periods = recent_periods(clock.today())
    if period and period not in periods:
        periods.append(period)
    return render_template(
        "supply/households_served.html", served=served, periods=periods, labels=LABELS
    )
