"""系统管理: accounts, charities, stations and the audit log, for administrators and, within
their region, civil-affairs offices."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from marshmallow import ValidationError
from werkzeug.wrappers import Response

from models.base import utcnow
from models.enums import MonitoringSource, OrganizationStatus, Role, StationKind
from web.auth import actor
from web.db import get_db
from web.forms import AccountForm, EmptyForm, ResetPasswordForm, StationForm, SuspendForm
from web.schemas.administration import AuditFilterSchema
from web.services.audit_log import ACTION_LABELS, AuditFilter, export_audit, list_audit
from web.services.errors import ServiceError, ValidationFailed
from web.services.organizations import list_organizations, suspend_organization
from web.services.regions import region_label
from web.services.scoping import actor_prefix, require_role
from web.services.stations import (
    close_station,
    create_station,
    get_station,
    list_stations,
    update_station,
)
from web.services.users import (
    create_account,
    list_accounts,
    reset_password,
    set_account_active,
)

from .blueprint import pages
from .refusals import refuse
from .regions import region_path

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Pages an account that must change its password may still open.
_BEFORE_NEW_PASSWORD = {
    "pages.change_password", "pages.logout", "pages.set_language", "pages.login", "static",
}  # fmt: skip


@pages.before_app_request
def _new_password_first() -> Response | None:
    """An account given its password by an administrator chooses its own before anything
    else (pages only; the API refuses such an account its token)."""
    if (
        current_user.is_authenticated
        and getattr(current_user, "must_change_password", False)
        and request.endpoint not in _BEFORE_NEW_PASSWORD
        and not request.path.startswith("/api/")
    ):
        flash(_("请先设置您自己的新密码。"), "info")
        return redirect(url_for("pages.change_password"))
    return None


def _names(codes: set[str]) -> dict[str, str]:
    db = get_db()
    return {code: region_label(db, code) for code in codes if code}


# --- accounts ---------------------------------------------------------------------------------


@pages.route("/users")
@login_required
def users_page() -> str:
    """Accounts the user keeps."""
    user = actor()
    accounts = list_accounts(get_db(), user)
    return render_template(
        "admin/users.html", accounts=accounts, form=EmptyForm(), reset=ResetPasswordForm(),
        regions=_names({a.region_code for a in accounts}),
    )  # fmt: skip


def _account_choices(form: AccountForm) -> None:
    db, user = get_db(), actor()
    roles = [r for r in Role if user.role == Role.ADMIN or r != Role.ADMIN]
    form.role.choices = [(r.value, _(r.label)) for r in roles]
    form.station_id.choices = [("", "—")] + [
        (str(s.id), s.name) for s in list_stations(db, user) if s.is_active
    ]
    organizations = list_organizations(db, user, OrganizationStatus.VERIFIED)
    if user.role != Role.ADMIN:
        organizations = [
            o for o in organizations if o.registered_region_code.startswith(actor_prefix(user))
        ]
    form.organization_id.choices = [("", "—")] + [(str(o.id), o.name) for o in organizations]


@pages.route("/users/new", methods=["GET", "POST"])
@login_required
def user_new() -> str | Response | tuple[str, int]:
    """A new account."""
    user = actor()
    require_role(user, Role.CIVIL_AFFAIRS)
    form = AccountForm()
    _account_choices(form)
    if request.method == "GET":
        form.region_code.data = user.region_code
    if form.validate_on_submit():
        assert form.username.data and form.password.data and form.display_name.data
        try:
            made = create_account(
                get_db(), user, username=form.username.data, password=form.password.data,
                display_name=form.display_name.data, role=Role(form.role.data),
                region_code=form.region_code.data or user.region_code,
                station_id=int(form.station_id.data) if form.station_id.data else None,
                organization_id=int(form.organization_id.data)
                if form.organization_id.data else None,
                feed_source=MonitoringSource(form.feed_source.data)
                if form.feed_source.data else None,
            )  # fmt: skip
        except ServiceError as error:
            refuse(error, form, fallback="username")
            return _user_form(form, user), error.status
        flash(_("已创建账号 %(name)s，首次登录时须修改密码。", name=made.username), "success")
        return redirect(url_for("pages.users_page"))
    return _user_form(form, user), 422 if request.method == "POST" else 200


def _user_form(form: AccountForm, user: Any) -> str:
    return render_template(
        "admin/user_form.html", form=form, root=user.region_code,
        root_label=region_label(get_db(), user.region_code),
        path=region_path(form.region_code.data, user.region_code),
    )  # fmt: skip


@pages.route("/users/<int:user_id>/disable", methods=["POST"])
@login_required
def user_disable(user_id: int) -> Response:
    """Disable an account: its sessions and tokens end at once."""
    return _set_active(user_id, False)


@pages.route("/users/<int:user_id>/enable", methods=["POST"])
@login_required
def user_enable(user_id: int) -> Response:
    """Enable a disabled account."""
    return _set_active(user_id, True)


def _set_active(user_id: int, active: bool) -> Response:
    if EmptyForm().validate_on_submit():
        try:
            done = set_account_active(get_db(), actor(), user_id, active)
        except ServiceError as error:
            refuse(error)
        else:
            message = _("已启用账号 %(name)s。") if active else _("已停用账号 %(name)s。")
            flash(message % {"name": done.username}, "success")
    return redirect(url_for("pages.users_page"))


@pages.route("/users/<int:user_id>/password", methods=["POST"])
@login_required
def user_reset_password(user_id: int) -> Response:
    """Give an account a temporary password, to be changed at its next sign-in."""
    form = ResetPasswordForm()
    if form.validate_on_submit():
        assert form.password.data
        try:
            done = reset_password(get_db(), actor(), user_id, form.password.data)
        except ServiceError as error:
            refuse(error)
        else:
            flash(_("已重置 %(name)s 的密码，下次登录时须修改。", name=done.username), "success")
    else:
        flash("；".join(m for ms in form.errors.values() for m in ms), "error")
    return redirect(url_for("pages.users_page"))


# --- charities --------------------------------------------------------------------------------


@pages.route("/organizations")
@login_required
def organizations_page() -> str:
    """Charities on record, with verification and suspension for their registering office."""
    user = actor()
    require_role(user, Role.CIVIL_AFFAIRS)
    db = get_db()
    organizations = list_organizations(db, user)
    if user.role != Role.ADMIN:
        organizations = [
            o for o in organizations if o.registered_region_code.startswith(actor_prefix(user))
        ]
    return render_template(
        "admin/organizations.html", organizations=organizations, form=SuspendForm(),
        regions=_names({o.registered_region_code for o in organizations}),
    )  # fmt: skip


@pages.route("/organizations/<int:organization_id>/suspend", methods=["POST"])
@login_required
def organization_suspend(organization_id: int) -> Response:
    """Suspend a verified charity: its projects leave the ledgers published from now on."""
    form = SuspendForm()
    if form.validate_on_submit():
        try:
            done = suspend_organization(
                get_db(), actor(), organization_id, reason=form.reason.data or "", now=utcnow()
            )
        except ServiceError as error:
            refuse(error)
        else:
            flash(_("已暂停 %(name)s。", name=done.name), "success")
    else:
        flash(_("请说明暂停理由。"), "error")
    return redirect(url_for("pages.organizations_page"))


# --- stations ---------------------------------------------------------------------------------


@pages.route("/stations")
@login_required
def stations_page() -> str:
    """Stations of the user's region."""
    user = actor()
    require_role(user, Role.CIVIL_AFFAIRS)
    stations = list_stations(get_db(), user)
    return render_template(
        "admin/stations.html", stations=stations, form=EmptyForm(),
        regions=_names({s.region_code for s in stations}),
    )  # fmt: skip


def _station_form(form: StationForm, user: Any, station: Any = None) -> str:
    return render_template(
        "admin/station_form.html", form=form, station=station, root=user.region_code,
        root_label=region_label(get_db(), user.region_code),
        path=region_path(form.region_code.data, user.region_code),
    )  # fmt: skip


def _station_fields(form: StationForm) -> dict[str, Any]:
    return {
        "name": form.name.data or "",
        "contact_name": form.contact_name.data or None,
        "phone": form.phone.data or None,
        "address": form.address.data or None,
    }


@pages.route("/stations/new", methods=["GET", "POST"])
@login_required
def station_new() -> str | Response | tuple[str, int]:
    """Open a station at a township or village picked from the lists."""
    user = actor()
    require_role(user, Role.CIVIL_AFFAIRS)
    form = StationForm()
    form.kind.choices = [(k.value, _(k.label)) for k in StationKind]
    if form.validate_on_submit():
        try:
            station = create_station(
                get_db(), user, kind=StationKind(form.kind.data),
                region_code=form.region_code.data or "", **_station_fields(form),
            )  # fmt: skip
        except ServiceError as error:
            refuse(error, form, fallback="name")
            return _station_form(form, user), error.status
        flash(_("已设立 %(name)s。", name=station.name), "success")
        return redirect(url_for("pages.stations_page"))
    return _station_form(form, user), 422 if request.method == "POST" else 200


@pages.route("/stations/<int:station_id>/edit", methods=["GET", "POST"])
@login_required
def station_edit(station_id: int) -> str | Response | tuple[str, int]:
    """Change a station's name, contact or place."""
    user = actor()
    require_role(user, Role.CIVIL_AFFAIRS)
    station = get_station(get_db(), user, station_id)
    form = StationForm(obj=station if request.method == "GET" else None)
    form.kind.choices = [(k.value, _(k.label)) for k in StationKind]
    if request.method == "GET":
        form.kind.data = station.kind.value
    if form.validate_on_submit():
        try:
            update_station(
                get_db(), user, station_id, kind=StationKind(form.kind.data),
                region_code=form.region_code.data or None, is_active=station.is_active,
                **_station_fields(form),
            )  # fmt: skip
        except ServiceError as error:
            refuse(error, form, fallback="name")
            return _station_form(form, user, station), error.status
        flash(_("已保存。"), "success")
        return redirect(url_for("pages.stations_page"))
    return _station_form(form, user, station), 422 if request.method == "POST" else 200


@pages.route("/stations/<int:station_id>/close", methods=["POST"])
@login_required
def station_close(station_id: int) -> Response:
    """Close a station; its households stay on record."""
    if EmptyForm().validate_on_submit():
        try:
            station = close_station(get_db(), actor(), station_id)
        except ServiceError as error:
            refuse(error)
        else:
            flash(_("已关闭 %(name)s。", name=station.name), "success")
    return redirect(url_for("pages.stations_page"))


# --- the audit log ----------------------------------------------------------------------------


def _audit_filter() -> tuple[AuditFilter, dict[str, list[str]]]:
    args = {k: v.strip() for k, v in request.args.items() if v.strip()}
    try:
        loaded: AuditFilter = AuditFilterSchema().load(args)
    except ValidationError as error:
        messages = error.normalized_messages()
        return AuditFilter(), {k: list(v) for k, v in messages.items() if isinstance(v, list)}
    return loaded, {}


@pages.route("/audit")
@login_required
def audit_page() -> str | tuple[str, int]:
    """The audit log, filtered by person, household, action and day; reading it is recorded."""
    user = actor()
    filters, errors = _audit_filter()
    if errors:
        require_role(user, Role.CIVIL_AFFAIRS)
        rows: list[Any] = []
    else:
        rows = list_audit(get_db(), user, filters)
    return render_template(
        "admin/audit.html", rows=rows, args=request.args, errors=errors,
        actions=sorted(ACTION_LABELS.items(), key=lambda item: item[0]),
    ), 422 if errors else 200  # fmt: skip


@pages.route("/audit/export.xlsx")
@login_required
def audit_export() -> Response:
    """The filtered audit log as ``.xlsx``; the export is recorded."""
    filters, errors = _audit_filter()
    if errors:
        raise ValidationFailed(fields=dict(errors))
    data = export_audit(get_db(), actor(), filters)
    response = Response(data, mimetype=XLSX)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=audit.xlsx; filename*=UTF-8''{quote('审计日志.xlsx')}"
    )
    return response
