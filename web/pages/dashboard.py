"""统计看板 for civil-affairs offices, with the drill-down, and the printable half-year report."""

from __future__ import annotations

from flask import render_template, request
from flask_login import login_required

from models import clock
from models.clock import period_of, recent_periods
from web.auth import actor
from web.db import get_db, get_read_db, read_sessionmaker
from web.forms import RegionFilterForm
from web.services.errors import ValidationFailed
from web.services.regions import ancestors, region_label
from web.services.stats import half_year_figures, stats_scope
from web.services.stats_snapshots import region_figures
from web.services.stats_tables import TABLES, table_of

from .blueprint import pages
from .regions import region_path


def _args() -> tuple[str | None, str | None]:
    region = request.args.get("region") or None
    period = request.args.get("period") or None
    if region is not None and not (len(region) == 12 and region.isdigit()):
        raise ValidationFailed(fields={"region": ["区划代码应为 12 位数字。"]})
    return region, period


@pages.route("/dashboard")
@login_required
def dashboard() -> str:
    db, user = get_db(), actor()
    region, period = _args()
    today = clock.today()
    scope = stats_scope(db, user, region, today, period)
    figures = region_figures(db, user, scope, read_sessionmaker(), reads=get_read_db())
    tables = {name: table_of(name, figures) for name in TABLES}
    trail = ancestors(db, scope.region.code, within=user.region_code)
    return render_template(
        "dashboard/overview.html", figures=figures, tables=tables, scope=scope,
        periods=recent_periods(today), trail=trail,
        region_form=RegionFilterForm(data={"region": scope.region.code}),
        root=user.region_code, root_label=region_label(db, user.region_code),
        path=region_path(scope.region.code, user.region_code),
    )  # fmt: skip


@pages.route("/reports/half-year")
@login_required
def half_year_page() -> str:
    db, user = get_db(), actor()
    region, period = _args()
    today = clock.today()
    scope = stats_scope(db, user, region, today, period or period_of(today))
    figures, children = half_year_figures(
        db, user, scope, read_sessionmaker(), form="html", reads=get_read_db()
    )
    return render_template(
        "dashboard/report.html", figures=figures, scope=scope, children=children,
        tables={name: table_of(name, figures) for name in TABLES},
        child_tables=[{name: table_of(name, c) for name in TABLES if name != "children"}
                      for c in children],
        today=today,
    )  # fmt: skip
