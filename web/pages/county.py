"""本县设置: a county civil-affairs office decides whether one person may create and approve
the same referral; offices above it see what their counties decided."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.wrappers import Response

from web.auth import actor
from web.db import get_db
from web.forms import CountySettingsForm
from web.services.county_settings import (
    is_county_office,
    list_county_settings,
    set_self_approval,
)
from web.services.errors import ServiceError

from .blueprint import pages
from .refusals import refuse


@pages.route("/settings/county")
@login_required
def county_settings() -> str:
    """The county's settings (a form for a county office, a table above it)."""
    db = get_db()
    user = actor()
    counties = list_county_settings(db, user)
    form = CountySettingsForm()
    own = is_county_office(db, user)
    if own and counties:
        form.allows_self_approval.data = counties[0].allows_self_approval
    return render_template("county/settings.html", counties=counties, form=form, own=own)


@pages.route("/settings/county", methods=["POST"])
@login_required
def county_settings_save() -> Response:
    """Save the county's choice."""
    form = CountySettingsForm()
    if form.validate_on_submit():
        try:
            set_self_approval(get_db(), actor(), bool(form.allows_self_approval.data))
        except ServiceError as error:
            refuse(error)
        else:
            flash(_("本县设置已保存。"), "success")
    return redirect(url_for("pages.county_settings"))
