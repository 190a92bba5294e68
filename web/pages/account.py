"""Sign-in, sign-out, password change and language choice."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from models.base import utcnow
from web.auth import actor, login_policy
from web.db import get_db
from web.forms import EmptyForm, LoginForm, PasswordForm
from web.services.errors import ServiceError, ValidationFailed
from web.services.users import authenticate, change_password, sign_out

from .blueprint import pages
from .refusals import refuse


def _safe_next(target: str | None) -> str:
    """Only same-site paths; anything else goes home (no open redirect)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and "\\" not in target:
            return target
    return url_for("pages.home")


@pages.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("pages.home"))
    form = LoginForm()
    error: str | None = None
    status = 200
    if form.validate_on_submit():
        db = get_db()
        try:
            user = authenticate(
                db, form.username.data or "", form.password.data or "", utcnow(), login_policy(),
                request.remote_addr,
            )  # fmt: skip
        except ServiceError as failure:
            db.commit()  # the failure count and the audit record must stick
            error, status = failure.message, failure.status
        else:
            lang = session.get("lang")
            session.clear()
            if lang:
                session["lang"] = lang
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 422
    return render_template("auth/login.html", form=form, error=error), status


@pages.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    sign_out(get_db(), actor())
    logout_user()
    session.clear()
    flash(_("您已安全退出。"), "info")
    return redirect(url_for("pages.login"))


@pages.route("/account/password", methods=["GET", "POST"], endpoint="change_password")
@login_required
def change_password_page() -> str | Response | tuple[str, int]:
    form = PasswordForm()
    if form.validate_on_submit():
        user = actor()
        assert form.current_password.data and form.new_password.data  # DataRequired
        try:
            change_password(get_db(), user, form.current_password.data, form.new_password.data)
        except ValidationFailed as failure:
            refuse(failure, form, fallback="new_password", flash_message=False)
            return render_template("auth/password.html", form=form), 422
        login_user(user)  # this browser keeps its session under the new version
        flash(_("密码已修改，其他设备上的登录已失效。"), "success")
        return redirect(url_for("pages.home"))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/password.html", form=form), status


@pages.route("/language", methods=["POST"])
def set_language() -> Response:
    form = EmptyForm()
    if form.validate_on_submit():
        lang = request.form.get("lang")
        if lang in current_app.config["LANGUAGES"]:
            session["lang"] = lang
    return redirect(_safe_next(request.form.get("next")))
