"""本地资源: a station's list of its township's local resources, and the form to register,
edit and withdraw one."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.wrappers import Response

from models import Project
from models.enums import LocalProviderKind, Role
from web.auth import actor
from web.db import get_db
from web.forms import LocalResourceForm, ReviewForm
from web.labels import LABELS
from web.services.errors import ServiceError, ValidationFailed
from web.services.local_resources import (
    LocalResourceInput,
    list_local_resources,
    local_input_of,
    own_local_resource,
    register_local_resource,
    require_station,
    update_local_resource,
    withdraw_local_resource,
)
from web.services.regions import region_label
from web.services.scoping import require_role

from .blueprint import pages
from .refusals import refuse
from .supply import _FORM_FIELD, form_data, project_input


def _input(form: LocalResourceForm) -> LocalResourceInput:
    return LocalResourceInput(
        project=project_input(form),
        provider_name=(form.provider_name.data or "").strip(),
        provider_kind=LocalProviderKind(form.provider_kind.data),
    )


def _form_page(form: LocalResourceForm, project: Project | None, status: int = 200) -> Any:
    db = get_db()
    township = require_station(actor())
    codes = (form.service_area.data or "").replace(",", "、").replace("，", "、").split("、")
    names = {c.strip(): region_label(db, c.strip()) for c in codes if c.strip().isdigit()}
    return render_template(
        "supply/project_form.html", form=form, project=project, area_names=names, local=True,
        area_root=township, root_label=region_label(db, township),
    ), status  # fmt: skip


@pages.route("/local-resources")
@login_required
def local_resources_page() -> str:
    user = actor()
    require_role(user, Role.STATION_STAFF)
    db = get_db()
    township = require_station(user)
    resources = list_local_resources(db, user)
    return render_template(
        "supply/local_resources.html", resources=resources, labels=LABELS, form=ReviewForm(),
        township=region_label(db, township), kinds=dict(LocalProviderKind.labels()),
        station_id=user.station_id,
    )  # fmt: skip


@pages.route("/local-resources/new", methods=["GET", "POST"])
@login_required
def new_local_resource() -> Any:
    user = actor()
    require_role(user, Role.STATION_STAFF)
    township = require_station(user)
    form = LocalResourceForm()
    if request.method == "GET":
        form.service_area.data = township
    if form.validate_on_submit():
        try:
            project = register_local_resource(get_db(), user, _input(form))
        except ValidationFailed as error:
            refuse(error, form, fallback="name", rename=_FORM_FIELD, flash_message=False)
            return _form_page(form, None, 422)
        flash(_("本地资源已登记，已提交县（区）民政部门审核；审核通过后列入本乡镇资源台账。"),
              "success")  # fmt: skip
        return redirect(url_for("pages.local_resources_page", _anchor=f"resource-{project.id}"))
    return _form_page(form, None, 422 if request.method == "POST" else 200)


@pages.route("/local-resources/<int:project_id>/edit", methods=["GET", "POST"])
@login_required
def edit_local_resource(project_id: int) -> Any:
    user = actor()
    db = get_db()
    project = own_local_resource(db, user, project_id)
    if request.method == "GET":
        data = local_input_of(project)
        form = LocalResourceForm(
            data={**form_data(data.project), "provider_name": data.provider_name,
                  "provider_kind": data.provider_kind.value}
        )  # fmt: skip
    else:
        form = LocalResourceForm()
    if form.validate_on_submit():
        try:
            update_local_resource(db, user, project_id, _input(form))
        except ServiceError as error:
            refuse(error, form, fallback="name", rename=_FORM_FIELD, flash_message=False)
            return _form_page(form, project, error.status)
        if project.pending_changes:
            flash(_("修改已提交审核；审核通过前，台账中仍显示原已审核的内容。"), "success")
        else:
            flash(_("本地资源已保存，已提交县（区）民政部门审核。"), "success")
        return redirect(url_for("pages.local_resources_page"))
    return _form_page(form, project, 422 if request.method == "POST" else 200)


@pages.route("/local-resources/<int:project_id>/withdraw", methods=["POST"])
@login_required
def withdraw_local_resource_page(project_id: int) -> Response:
    form = ReviewForm()
    if not form.validate_on_submit():
        flash(_("请求无效，请重试。"), "error")
        return redirect(url_for("pages.local_resources_page"))
    try:
        withdraw_local_resource(get_db(), actor(), project_id, form.reason.data or "")
    except ServiceError as error:
        refuse(error)
    else:
        flash(_("本地资源已撤回。"), "success")
    return redirect(url_for("pages.local_resources_page"))
