"""The home page, one per role, and the API documentation page."""

from __future__ import annotations

from flask import redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from models.enums import Role
from web.auth import actor
from web.db import get_db
from web.services.overview import home_figures

from .blueprint import pages

_TEMPLATES = {
    Role.STATION_STAFF: "home/station.html",
    Role.CHARITY_STAFF: "home/charity.html",
    Role.CIVIL_AFFAIRS: "home/civil_affairs.html",
    Role.ADMIN: "home/admin.html",
    Role.DATA_PROVIDER: "home/data_provider.html",
}


@pages.route("/")
def index() -> Response:
    if current_user.is_authenticated:
        return redirect(url_for("pages.home"))
    return redirect(url_for("pages.login"))


@pages.route("/home")
@login_required
def home() -> str:
    user = actor()
    return render_template(_TEMPLATES[user.role], figures=home_figures(get_db(), user))


@pages.route("/api-docs")
@login_required
def api_docs() -> str:
    return render_template("api_docs.html")
