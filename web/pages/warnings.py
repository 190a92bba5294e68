"""预警工作台: the warnings the rules raised for a station or a region, each confirmed into a
need (then on to matching projects) or dismissed with a reason; and 预警规则, each county's
numbers for the rules beside the provincial defaults."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.wrappers import Response

from models import MonitoringWarning
from models.enums import DismissReason, Role, WarningRule, WarningStatus
from web import timing
from web.auth import actor
from web.db import get_db
from web.forms import EmptyForm, WarningConfirmForm, WarningDismissForm, WarningRuleForm, fen_of
from web.services.county_settings import is_county_office
from web.services.errors import Conflict, ServiceError
from web.services.regions import region_label
from web.services.scoping import require_role
from web.services.warning_settings import default_setting
from web.services.warnings import (
    RuleSetting,
    WarningFilter,
    confirm_warning,
    dismiss_warning,
    evidence_of,
    get_warning,
    list_warnings,
    need_draft,
    reset_rule_setting,
    rule_settings,
    set_rule_setting,
)

from .blueprint import pages
from .refusals import refuse


def _filters() -> tuple[WarningFilter, dict[str, str]]:
    """The worklist's filters from the query string, and the values to show back."""
    args = {k: request.args.get(k, "") for k in ("status", "rule", "unlisted", "overdue")}
    status = args["status"]
    return WarningFilter(
        status=None if status == "all" else WarningStatus(status)
        if status in WarningStatus.codes() else WarningStatus.OPEN,
        rule=WarningRule(args["rule"]) if args["rule"] in WarningRule.codes() else None,
        unlisted={"1": True, "0": False}.get(args["unlisted"]),
        overdue_only=args["overdue"] == "1",
    ), args  # fmt: skip


@pages.route("/warnings")
@login_required
def warnings_page() -> str:
    """The warnings waiting at the user's station, or in the user's region."""
    user = actor()
    require_role(user, Role.STATION_STAFF, Role.CIVIL_AFFAIRS)
    filters, args = _filters()
    today = timing.today()
    rows = list_warnings(get_db(), user, filters, today=today)
    return render_template(
        "warnings/list.html", warnings=rows, args=args, today=today,
        rules=WarningRule, statuses=WarningStatus, by_region=user.role != Role.STATION_STAFF,
    )  # fmt: skip


def _explanation(db: Any, warning: MonitoringWarning) -> str:
    for setting in rule_settings(db, warning.region_code):
        if setting.rule == warning.rule:
            return setting.explanation
    return ""


def _confirm_form(db: Any, warning: MonitoringWarning) -> WarningConfirmForm:
    draft = need_draft(db, warning)
    amount = draft.get("amount_gap_yuan")
    return WarningConfirmForm(
        data={
            "domain": str(draft.get("domain") or "") or None,
            "text": draft.get("text"),
            "amount_gap_yuan": None if amount is None else Decimal(str(amount)),
            "urgency": str(draft.get("urgency") or "") or "normal",
        }
    )


def _detail(
    warning: MonitoringWarning,
    confirm_form: WarningConfirmForm | None = None,
    dismiss_form: WarningDismissForm | None = None,
    status: int = 200,
) -> tuple[str, int]:
    db = get_db()
    is_open = warning.status == WarningStatus.OPEN
    if confirm_form is None and is_open:
        confirm_form = _confirm_form(db, warning)
    return render_template(
        "warnings/detail.html", warning=warning, evidence=evidence_of(db, warning),
        explanation=_explanation(db, warning), today=timing.today(), is_open=is_open,
        confirm_form=confirm_form, dismiss_form=dismiss_form or WarningDismissForm(),
        region=region_label(db, warning.region_code),
    ), status  # fmt: skip


@pages.route("/warnings/<int:warning_id>")
@login_required
def warning_page(warning_id: int) -> tuple[str, int]:
    """One warning: who, the rule, the evidence, and what the station decides."""
    user = actor()
    require_role(user, Role.STATION_STAFF, Role.CIVIL_AFFAIRS)
    return _detail(get_warning(get_db(), user, warning_id))


@pages.route("/warnings/<int:warning_id>/confirm", methods=["POST"])
@login_required
def warning_confirm(warning_id: int) -> Response | tuple[str, int]:
    """Confirm a warning: the need is registered, and its matching projects are shown."""
    db, user = get_db(), actor()
    require_role(user, Role.STATION_STAFF, Role.CIVIL_AFFAIRS)
    warning = get_warning(db, user, warning_id)
    form = WarningConfirmForm()
    if not form.validate_on_submit():
        return _detail(warning, confirm_form=form, status=422)
    need_input: dict[str, Any] = {
        "domain": form.domain.data,
        "text": (form.text.data or "").strip(),
        "amount_gap_yuan": form.amount_gap_yuan.data,
        "urgency": form.urgency.data,
    }
    try:
        need = confirm_warning(db, user, warning_id, need_input)
    except Conflict as error:
        refuse(error, form, rename={"amount_gap_fen": "amount_gap_yuan"})
        return redirect(url_for("pages.warning_page", warning_id=warning_id))
    except ServiceError as error:
        refuse(error, form, fallback="text", rename={"amount_gap_fen": "amount_gap_yuan"},
               flash_message=False)  # fmt: skip
        return _detail(get_warning(db, user, warning_id), confirm_form=form, status=error.status)
    flash(_("预警已确认，需求已登记；下面是可对接的慈善项目。"), "success")
    return redirect(url_for("pages.need_matches", need_id=need.id))


@pages.route("/warnings/<int:warning_id>/dismiss", methods=["POST"])
@login_required
def warning_dismiss(warning_id: int) -> Response | tuple[str, int]:
    """Dismiss a warning with a reason from the list."""
    db, user = get_db(), actor()
    require_role(user, Role.STATION_STAFF, Role.CIVIL_AFFAIRS)
    warning = get_warning(db, user, warning_id)
    form = WarningDismissForm()
    if not form.validate_on_submit():
        return _detail(warning, dismiss_form=form, status=422)
    try:
        dismiss_warning(
            db, user, warning_id, DismissReason(form.reason.data),
            (form.note.data or "").strip() or None,
        )  # fmt: skip
    except ServiceError as error:
        if error.status != 422:
            refuse(error)
            return redirect(url_for("pages.warning_page", warning_id=warning_id))
        refuse(error, form, fallback="note", flash_message=False)
        return _detail(get_warning(db, user, warning_id), dismiss_form=form, status=error.status)
    flash(_("预警已排除。"), "success")
    return redirect(url_for("pages.warnings_page"))


def _defaults() -> dict[WarningRule, RuleSetting]:
    """The provincial defaults, shown beside what the county runs."""
    return {rule: default_setting(rule) for rule in WarningRule}


@pages.route("/settings/warnings")
@login_required
def warning_settings() -> str:
    """The warning rules as they run in the county (a form per rule for its office)."""
    db, user = get_db(), actor()
    require_role(user, Role.CIVIL_AFFAIRS)
    own = is_county_office(db, user)
    settings = rule_settings(db, user.region_code)
    forms = {s.rule: _rule_form(s) for s in settings} if own else {}
    return render_template(
        "warnings/settings.html", settings=settings, defaults=_defaults(),
        own=own, forms=forms, region=region_label(db, user.region_code),
    )  # fmt: skip


def _rule_form(setting: RuleSetting) -> WarningRuleForm:
    threshold = setting.threshold_fen
    return WarningRuleForm(
        formdata=None,
        meta={"csrf": False},
        data={
            "enabled": setting.enabled,
            "threshold_yuan": None if threshold is None else Decimal(threshold) / 100,
            "income_share_percent": setting.income_share_percent,
            "due_days": setting.due_days,
        },
        prefix=setting.rule.value,
    )


@pages.route("/settings/warnings", methods=["POST"])
@login_required
def warning_settings_save() -> Response | tuple[str, int]:
    """Save one rule, or put it back to the provincial default."""
    db, user = get_db(), actor()
    rule_code = request.form.get("rule_code", "")
    if not EmptyForm().validate_on_submit() or rule_code not in WarningRule.codes():
        flash(_("请选择规则。"), "error")
        return redirect(url_for("pages.warning_settings"))
    if not is_county_office(db, user):
        flash(_("只有县（区）民政部门可以设置本县的预警规则。"), "error")
        return redirect(url_for("pages.warning_settings"))
    rule = WarningRule(rule_code)
    back = url_for("pages.warning_settings", _anchor=f"rule-{rule.value}")
    if "reset" in request.form:
        try:
            reset_rule_setting(db, user, rule)
        except ServiceError as error:
            refuse(error)
        else:
            flash(_("已恢复省默认值：%(rule)s。", rule=_(rule.label)), "success")
        return redirect(back)
    form = _posted_rule_form(rule)
    if not form.validate():
        return _settings_with(db, user, rule, form)
    try:
        set_rule_setting(
            db, user, rule, enabled=bool(form.enabled.data),
            threshold_fen=fen_of(form.threshold_yuan.data),
            income_share_percent=form.income_share_percent.data, due_days=form.due_days.data or 0,
        )  # fmt: skip
    except ServiceError as error:
        if error.status != 422:
            refuse(error)
            return redirect(back)
        refuse(error, form, fallback="due_days", flash_message=False,
               rename={"threshold_fen": "threshold_yuan"})  # fmt: skip
        return _settings_with(db, user, rule, form)
    flash(_("已保存：%(rule)s。", rule=_(rule.label)), "success")
    return redirect(back)


def _posted_rule_form(rule: WarningRule) -> WarningRuleForm:
    # One form per rule on the page: the prefix keeps their fields' ids apart; the page's one
    # CSRF token is checked by EmptyForm.
    return WarningRuleForm(prefix=rule.value, meta={"csrf": False})


def _settings_with(db: Any, user: Any, rule: WarningRule, form: WarningRuleForm) -> Any:
    """The settings page again, the rule's form with what was typed and its errors."""
    require_role(user, Role.CIVIL_AFFAIRS)
    settings = rule_settings(db, user.region_code)
    forms = {s.rule: _rule_form(s) for s in settings}
    forms[rule] = form
    return render_template(
        "warnings/settings.html", settings=settings, defaults=_defaults(),
        own=is_county_office(db, user), forms=forms, region=region_label(db, user.region_code),
    ), 422  # fmt: skip
