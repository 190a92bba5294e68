"""联合分配: a civil-affairs office's allocation plans — the list, the form that solves a new
one, and one plan beside first come first served, with its weights, its lines to change,
remove or add, and its approval."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.wrappers import Response

from models import User
from models.enums import AllocationPlanStatus, Role
from web import timing
from web.auth import actor
from web.db import get_db
from web.forms import (
    AllocationApprovalForm,
    AllocationLineForm,
    AllocationPlanForm,
    AllocationWeightsForm,
    EmptyForm,
)
from web.services.allocation import (
    add_line,
    approve_plan,
    change_line,
    create_plan,
    get_plan,
    list_plans,
    parse_weights,
    require_office,
    set_weights,
)
from web.services.audit import write_audit
from web.services.county_settings import allows_self_approval
from web.services.errors import ServiceError
from web.services.regions import region_label
from web.services.scoping import require_role

from .allocation_view import plan_view, region_names, user_names
from .blueprint import pages
from .refusals import refuse
from .regions import region_path

#: The service names a weight ``weights.<name>``; the form, ``<name>``.
_WEIGHT_FIELDS = {f"weights.{name}": name for name in (*AllocationWeightsForm.NUMBERS,
                                                       "township_floor")}  # fmt: skip


def _reader() -> User:
    """The signed-in user, refused (403) unless civil-affairs staff (or an administrator,
    who reads plans and takes no step in them)."""
    user = actor()
    require_role(user, Role.CIVIL_AFFAIRS)
    return user


def _office() -> User:
    """The signed-in user, refused (403) unless civil-affairs staff."""
    user = actor()
    require_office(user)
    return user


@pages.route("/allocation-plans")
@login_required
def allocation_plans() -> str:
    """The office's allocation plans, newest first."""
    user = _reader()
    db = get_db()
    plans = list_plans(db, user)
    return render_template(
        "allocation/list.html", plans=plans,
        regions=region_names(db, [p.region_code for p in plans]),
        people=user_names(db, [p.created_by_id for p in plans]),
    )  # fmt: skip


def _say_if_expired(form: AllocationWeightsForm) -> None:
    """A form refused for its token has no field to show why: say it above the form."""
    if form.meta.csrf and form.csrf_token.errors:
        flash(_("请求无效，请重试。"), "error")


def _new_plan_page(form: AllocationPlanForm, status: int = 200) -> tuple[str, int]:
    user = actor()
    db = get_db()
    root = user.region_code or ""
    return render_template(
        "allocation/new.html", form=form, root=root, root_label=region_label(db, root),
        path=region_path(form.region_code.data, root),
    ), status  # fmt: skip


@pages.route("/allocation-plans/new", methods=["GET", "POST"])
@login_required
def new_allocation_plan() -> Any:
    """Solve a new plan for the office's county or one of its townships."""
    user = _office()
    form = AllocationPlanForm()
    if not form.is_submitted():
        form.region_code.data = user.region_code
        form.show(parse_weights(None).to_dict())
        return _new_plan_page(form)
    if not form.validate():
        _say_if_expired(form)
        return _new_plan_page(form, 422)
    try:
        plan = create_plan(get_db(), user, form.region_code.data, form.weights(), now=timing.now())
    except ServiceError as error:
        refuse(error, form, rename=_WEIGHT_FIELDS)
        return _new_plan_page(form, error.status)
    flash(_("分配方案已生成，请核对后提交批准。"), "success")
    return redirect(url_for("pages.allocation_plan", plan_id=plan.id))


def _plan_page(
    plan_id: int, weights_form: AllocationWeightsForm | None = None, status: int = 200
) -> tuple[str, int]:
    user = actor()
    db = get_db()
    plan = get_plan(db, user, plan_id)
    view = plan_view(db, plan)
    write_audit(db, user, "allocation_plan.read", plan, region_code=plan.region_code,
                detail={"households": view.household_ids})  # fmt: skip
    if weights_form is None:
        weights_form = AllocationWeightsForm(formdata=None)
        weights_form.show(plan.weights)
    may_edit = plan.status == AllocationPlanStatus.DRAFT and user.role == Role.CIVIL_AFFAIRS
    return render_template(
        "allocation/plan.html", view=view, plan=plan, may_edit=may_edit,
        weights_form=weights_form, approval_form=AllocationApprovalForm(formdata=None),
        may_approve=plan.created_by_id != user.id or allows_self_approval(db, plan.region_code),
    ), status  # fmt: skip


@pages.route("/allocation-plans/<int:plan_id>")
@login_required
def allocation_plan(plan_id: int) -> tuple[str, int]:
    """One plan beside first come first served (the households it names are recorded as
    looked at)."""
    _reader()
    return _plan_page(plan_id)


@pages.route("/allocation-plans/<int:plan_id>/weights", methods=["POST"])
@login_required
def allocation_plan_weights(plan_id: int) -> Any:
    """Solve the plan again with new weights (lines changed by hand are replaced)."""
    user = _office()
    get_plan(get_db(), user, plan_id)
    form = AllocationWeightsForm()
    if not form.validate():
        _say_if_expired(form)
        return _plan_page(plan_id, form, 422)
    try:
        set_weights(get_db(), user, plan_id, form.weights())
    except ServiceError as error:
        refuse(error, form, rename=_WEIGHT_FIELDS)
        return _plan_page(plan_id, form, error.status)
    flash(_("已按新的权重重新计算方案。"), "success")
    return redirect(url_for("pages.allocation_plan", plan_id=plan_id))


def _line_refusal(form: AllocationLineForm) -> str:
    if form.meta.csrf and form.csrf_token.errors:
        return _("请求无效，请重试。")
    return _("请选择项目。")


def _back(plan_id: int, anchor: str = "lines") -> Response:
    return redirect(url_for("pages.allocation_plan", plan_id=plan_id, _anchor=anchor))


@pages.route("/allocation-plans/<int:plan_id>/lines/<int:line_id>", methods=["POST"])
@login_required
def allocation_line_change(plan_id: int, line_id: int) -> Response:
    """Give a line's need another of its projects."""
    user = _office()
    get_plan(get_db(), user, plan_id)
    form = AllocationLineForm()
    if not form.validate():
        flash(_line_refusal(form), "error")
        return _back(plan_id, f"line-{line_id}")
    try:
        change_line(get_db(), user, plan_id, line_id, form.project_id.data)
    except ServiceError as error:
        refuse(error)
    else:
        flash(_("已改派。"), "success")
    return _back(plan_id, f"line-{line_id}")


@pages.route("/allocation-plans/<int:plan_id>/lines/<int:line_id>/remove", methods=["POST"])
@login_required
def allocation_line_remove(plan_id: int, line_id: int) -> Response:
    """Take a line out of the plan (its need joins the ones left out)."""
    user = _office()
    get_plan(get_db(), user, plan_id)
    if not EmptyForm().validate():
        flash(_("请求无效，请重试。"), "error")
        return _back(plan_id)
    try:
        change_line(get_db(), user, plan_id, line_id, None)
    except ServiceError as error:
        refuse(error)
    else:
        flash(_("已从方案中移除，该需求列入“未分配的需求”。"), "success")
    return _back(plan_id)


@pages.route("/allocation-plans/<int:plan_id>/lines", methods=["POST"])
@login_required
def allocation_line_add(plan_id: int) -> Response:
    """Give a need the plan left out one of its projects."""
    user = _office()
    get_plan(get_db(), user, plan_id)
    form = AllocationLineForm()
    need_id, project_id = form.need_id.data, form.project_id.data
    if not form.validate() or need_id is None or project_id is None:
        flash(_line_refusal(form), "error")
        return _back(plan_id, "unplaced")
    try:
        add_line(get_db(), user, plan_id, need_id, project_id)
    except ServiceError as error:
        refuse(error)
        return _back(plan_id, "unplaced")
    flash(_("已加入方案。"), "success")
    return _back(plan_id)


@pages.route("/allocation-plans/<int:plan_id>/approve", methods=["POST"])
@login_required
def allocation_plan_approve(plan_id: int) -> Response:
    """Approve the plan: each line becomes an approved referral, or a conflict."""
    user = _office()
    get_plan(get_db(), user, plan_id)
    form = AllocationApprovalForm()
    if not form.validate():
        for message in form.checked.errors or [_("请求无效，请重试。")]:
            flash(message, "error")
        return _back(plan_id, "approve")
    try:
        result = approve_plan(get_db(), user, plan_id, now=timing.now())
    except ServiceError as error:
        refuse(error)
        return _back(plan_id, "approve")
    flash(
        _("方案已批准：%(approved)s 行已转为转介并通知慈善组织，%(conflicts)s 行冲突未批准。",
          approved=result.approved, conflicts=result.conflicts),
        "success" if not result.conflicts else "warning",
    )  # fmt: skip
    return _back(plan_id, "top")
