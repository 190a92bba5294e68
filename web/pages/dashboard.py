"""统计看板 for civil-affairs offices, with the drill-down, and the printable half-year report."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask import current_app, render_template, request
from flask_login import login_required

from models import Region
from models.regions import ancestor_prefixes, is_within
from web.auth import actor
from web.db import get_db
from web.services.audit import write_audit
from web.services.errors import ValidationFailed
from web.services.ledgers import period_of
from web.services.stats import child_scopes, overview, stats_scope
from web.services.stats_tables import TABLES, table_of

from . import pages


def _periods(today: dt.date) -> list[str]:
    """The current half-year and the three before it."""
    periods, day = [], today
    for _ in range(4):
        periods.append(period_of(day))
        # The last day of the half-year before.
        day = dt.date(day.year - 1, 12, 31) if day.month <= 6 else dt.date(day.year, 6, 30)
    return periods


def _args() -> tuple[str | None, str | None]:
    region = request.args.get("region") or None
    period = request.args.get("period") or None
    if region is not None and not (len(region) == 12 and region.isdigit()):
        raise ValidationFailed(fields={"region": ["区划代码应为 12 位数字。"]})
    return region, period


def _trail(db: Any, code: str, top: str) -> list[Region]:
    """The regions from the user's own down to ``code``, for the breadcrumb."""
    codes = [p.ljust(12, "0") for p in ancestor_prefixes(code)]
    regions = db.scalars(sa.select(Region).where(Region.code.in_(codes)).order_by(Region.code))
    return [r for r in regions if is_within(r.code, top) or r.code == top]


@pages.route("/dashboard")
@login_required
def dashboard() -> str:
    db, user = get_db(), actor()
    region, period = _args()
    today = dt.date.today()
    scope = stats_scope(db, user, region, today, period)
    figures = overview(db, scope, side_by_side=current_app.extensions["sessionmaker"])
    write_audit(db, user, "stats.read", region_code=scope.region.code, detail={"period": period})
    tables = {name: table_of(name, figures) for name in TABLES}
    return render_template(
        "dashboard/overview.html", figures=figures, tables=tables, scope=scope,
        periods=_periods(today), trail=_trail(db, scope.region.code, user.region_code),
    )  # fmt: skip


@pages.route("/reports/half-year")
@login_required
def half_year_page() -> str:
    db, user = get_db(), actor()
    region, period = _args()
    today = dt.date.today()
    scope = stats_scope(db, user, region, today, period or period_of(today))
    pool = current_app.extensions["sessionmaker"]
    figures = overview(db, scope, side_by_side=pool)
    children = [overview(db, child, side_by_side=pool) for child in child_scopes(db, scope)]
    detail = {"period": scope.period, "children": len(children), "format": "html"}
    write_audit(db, user, "stats.report", region_code=scope.region.code, detail=detail)
    return render_template(
        "dashboard/report.html", figures=figures, scope=scope, children=children,
        tables={name: table_of(name, figures) for name in TABLES},
        child_tables=[{name: table_of(name, c) for name in TABLES if name != "children"}
                      for c in children],
        today=today,
    )  # fmt: skip
