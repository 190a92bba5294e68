"""Supply-side pages: a charity's projects, review queues, ledger editions, Excel import."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.wrappers import Response

from models import LedgerEdition, Project, Region, clock
from models.base import utcnow
from models.enums import LedgerEditionState, Role
from web import timing
from web.auth import actor
from web.db import get_db
from web.forms import (
    BuildForm,
    EmptyForm,
    ProjectForm,
    ProjectPrefillForm,
    ReviewForm,
    UploadForm,
    fen_of,
)
from web.labels import LABELS
from web.services.errors import ServiceError, ValidationFailed
from web.services.excel import import_projects
from web.services.ledgers import (
    current_editions,
    edition_diff,
    get_edition,
    list_editions,
    township_editions_to_publish,
    upcoming_editions,
)
from web.services.organizations import (
    list_organizations,
    own_organization,
    review_organization,
)
from web.services.project_changes import pending_changes, project_under_review
from web.services.projects import (
    ProjectInput,
    confirm_project,
    input_of,
    list_projects,
    own_project,
    register_project,
    review_project,
    stale_projects,
    submit_project,
    update_project,
    withdraw_project,
)
from web.services.regions import region_label
from web.services.rematch import RematchResult, rematch_after_publication, rematch_open_needs
from web.services.scoping import require_role

from .blueprint import pages
from .filters import half_year
from .refusals import refuse
from .regions import PROVINCE, region_path
from .uploads import run_upload, upload_page


def _yuan(value: int | None) -> Decimal | None:
    return None if value is None else Decimal(value) / 100


def project_input(form: ProjectForm) -> ProjectInput:
    """The project a validated form describes."""
    assert form.name.data is not None and form.quota.data is not None  # required by the form
    assert form.starts_on.data is not None and form.ends_on.data is not None
    area = (form.service_area.data or "").replace(",", "、").replace("，", "、").split("、")
    return ProjectInput(
        name=form.name.data.strip(),
        description=form.description.data or "",
        domains=form.domains.data or [],
        target_groups=form.target_groups.data or [],
        forms=form.forms.data or [],
        service_types=form.service_types.data or [],
        service_area=[code.strip() for code in area if code.strip()],
        min_age=form.min_age.data,
        max_age=form.max_age.data,
        household_categories=form.household_categories.data or [],
        max_income_per_head_fen=fen_of(form.max_income_per_head.data),
        max_disability_grade=form.max_disability_grade.data,
        illness_kinds=form.illness_kinds.data or [],
        school_stages=form.school_stages.data or [],
        sexes=form.sexes.data or [],
        disability_types=form.disability_types.data or [],
        conditions=form.conditions.data or [],
        child_statuses=form.child_statuses.data or [],
        household_situations=form.household_situations.data or [],
        amount_per_beneficiary_fen=fen_of(form.amount_per_beneficiary.data),
        budget_fen=fen_of(form.budget.data),
        quota=form.quota.data,
        starts_on=form.starts_on.data,
        ends_on=form.ends_on.data,
        accepts_simplified=form.accepts_simplified.data,
        response_days=form.response_days.data or 7,
        contact_name=form.contact_name.data or None,
        contact_phone=form.contact_phone.data or None,
    )


def form_data(data: ProjectInput) -> dict[str, Any]:
    values = dict(vars(data))
    values["service_area"] = "、".join(data.service_area)
    values["max_income_per_head"] = _yuan(values.pop("max_income_per_head_fen"))
    values["amount_per_beneficiary"] = _yuan(values.pop("amount_per_beneficiary_fen"))
    values["budget"] = _yuan(values.pop("budget_fen"))
    return values


_FORM_FIELD = {
    "max_income_per_head_fen": "max_income_per_head",
    "amount_per_beneficiary_fen": "amount_per_beneficiary",
    "budget_fen": "budget",
}


@pages.route("/my/projects")
@login_required
def my_projects() -> str:
    user = actor()
    db = get_db()
    organization = own_organization(db, user)
    projects = list_projects(db, user, organization_id=organization.id)
    stale = {p.id for p in stale_projects(db, user, utcnow())}
    return render_template(
        "supply/my_projects.html", organization=organization, projects=projects, stale=stale,
        labels=LABELS, form=EmptyForm(),
    )  # fmt: skip


def _project_form_page(form: ProjectForm, project: Project | None, status: int = 200) -> Any:
    db = get_db()
    codes = (form.service_area.data or "").replace(",", "、").replace("，", "、").split("、")
    names = {c.strip(): region_label(db, c.strip()) for c in codes if c.strip().isdigit()}
    return render_template(
        "supply/project_form.html", form=form, project=project, area_names=names,
        root_label=region_label(db, PROVINCE),
    ), status  # fmt: skip


def _prefill(form: ProjectForm) -> None:
    """Fill a new project from the link it was opened by (需求缺口's 据此设立项目): each value
    is checked as any input is, and one that fails is left out and said so."""
    if not any(request.args.get(key) for key in ("domain", "area", "group")):
        return
    given = ProjectPrefillForm(request.args)
    given.validate()
    area = given.area.data
    if area and not given.area.errors and get_db().get(Region, area) is None:
        given.area.errors = [_("没有这个区划。")]
    if given.domain.data and not given.domain.errors:
        form.domains.data = [given.domain.data]
    if area and not given.area.errors:
        form.service_area.data = area
    if given.group.data and not given.group.errors:
        form.target_groups.data = [given.group.data]
    wrong = [str(field.label.text) for field in given if field.errors]
    if wrong:
        flash(_("链接中的以下内容无效，未填入：%(fields)s", fields="、".join(wrong)), "error")


@pages.route("/projects/new", methods=["GET", "POST"])
@login_required
def new_project() -> Any:
    user = actor()
    require_role(user, Role.CHARITY_STAFF)
    form = ProjectForm()
    if request.method == "GET" and user.organization is not None:
        form.service_area.data = user.organization.registered_region_code
        _prefill(form)
    if form.validate_on_submit():
        try:
            project = register_project(get_db(), user, project_input(form))
        except ValidationFailed as error:
            refuse(error, form, fallback="name", rename=_FORM_FIELD, flash_message=False)
            return _project_form_page(form, None, 422)
        flash(_("项目已保存为草稿，提交审核后由登记民政部门审核。"), "success")
        return redirect(url_for("pages.my_projects", _anchor=f"project-{project.id}"))
    return _project_form_page(form, None, 422 if request.method == "POST" else 200)


@pages.route("/projects/<int:project_id>/edit", methods=["GET", "POST"])
@login_required
def edit_project(project_id: int) -> Any:
    user = actor()
    db = get_db()
    project = own_project(db, user, project_id)
    form = ProjectForm(data=form_data(input_of(project)) if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            update_project(db, user, project_id, project_input(form))
        except ValidationFailed as error:
            refuse(error, form, fallback="name", rename=_FORM_FIELD, flash_message=False)
            return _project_form_page(form, project, 422)
        if project.pending_changes:
            flash(_("修改已提交审核；审核通过前，台账中仍显示原已审核的内容。"), "success")
        else:
            flash(_("项目已保存。"), "success")
        return redirect(url_for("pages.my_projects"))
    return _project_form_page(form, project, 422 if request.method == "POST" else 200)


@pages.route("/projects/<int:project_id>/<action>", methods=["POST"])
@login_required
def project_action(project_id: int, action: str) -> Response:
    user = actor()
    db = get_db()
    form = ReviewForm()
    if not form.validate_on_submit():
        flash(_("请求无效，请重试。"), "error")
        return redirect(request.referrer or url_for("pages.home"))
    reason = (form.reason.data or "").strip() or None
    messages = {
        "submit": _("已提交审核。"),
        "confirm": _("已确认项目仍在提供。"),
        "withdraw": _("项目已撤回。"),
        "approve": _("已审核通过。"),
        "reject": _("已驳回。"),
    }
    try:
        if action == "submit":
            submit_project(db, user, project_id)
        elif action == "confirm":
            confirm_project(db, user, project_id, utcnow())
        elif action == "withdraw":
            withdraw_project(db, user, project_id, reason or "")
        elif action in ("approve", "reject"):
            review_project(
                db, user, project_id, approve=action == "approve", reason=reason, now=utcnow()
            )
        else:
            return redirect(url_for("pages.home"))
    except ServiceError as error:
        refuse(error)
        return redirect(request.referrer or url_for("pages.home"))
    flash(messages[action], "success")
    if action in ("approve", "reject"):  # the project leaves the queue: back to what is left
        return redirect(url_for("pages.review_queue"))
    return redirect(request.referrer or url_for("pages.home"))


@pages.route("/review")
@login_required
def review_queue() -> str:
    user = actor()
    require_role(user, Role.CIVIL_AFFAIRS)
    db = get_db()
    organizations = list_organizations(db, user, reviewable=True)
    projects = list_projects(db, user, reviewable=True)
    return render_template(
        "supply/review.html", organizations=organizations, projects=projects, labels=LABELS,
        form=ReviewForm(), changes={p.id: pending_changes(db, p) for p in projects},
    )  # fmt: skip


@pages.route("/review/projects/<int:project_id>")
@login_required
def review_project_page(project_id: int) -> str:
    """A project waiting for review: each field as in force and as it would be approved."""
    user = actor()
    require_role(user, Role.CIVIL_AFFAIRS)
    project, rows = project_under_review(get_db(), user, project_id)
    return render_template("supply/review_project.html", project=project, rows=rows)


@pages.route("/organizations/<int:organization_id>/<action>", methods=["POST"])
@login_required
def organization_action(organization_id: int, action: str) -> Response:
    form = ReviewForm()
    db = get_db()
    if form.validate_on_submit() and action in ("approve", "reject"):
        try:
            review_organization(
                db, actor(), organization_id, approve=action == "approve",
                reason=form.reason.data, now=utcnow(),
            )  # fmt: skip
            flash(_("已审核通过。") if action == "approve" else _("已驳回。"), "success")
        except ServiceError as error:
            refuse(error)
    return redirect(url_for("pages.review_queue"))


@pages.route("/ledgers", methods=["GET", "POST"])
@login_required
def ledgers() -> Any:
    user = actor()
    db = get_db()
    form = BuildForm()
    today = timing.today()
    this_half = clock.period_of(today)
    form.period.choices = [(p, half_year(p)) for p in (this_half, clock.next_period(this_half))]
    if request.method == "GET":
        form.region_code.data = user.region_code
        form.period.data = clock.period_of(today)
    if user.role in (Role.CIVIL_AFFAIRS, Role.ADMIN) and form.validate_on_submit():
        from web.services.ledgers import build_edition

        assert form.region_code.data and form.period.data  # required by the form
        try:
            result = build_edition(db, user, form.region_code.data, form.period.data, timing.now())
        except ServiceError as error:
            refuse(error)
        else:
            edition = result.edition
            message = _(
                "已发布 %(period)s 第 %(rev)s 版，共 %(n)s 个项目。",
                period=edition.period,
                rev=edition.revision,
                n=edition.project_count,
            )
            flash(message, "success")
            if edition.effective_from > today:
                flash(_("该期台账将于 %(day)s 生效，此前仍使用当前台账。",
                        day=edition.effective_from.isoformat()), "info")  # fmt: skip
            if result.stale:
                names = "、".join(p.name for p in result.stale)
                flash(_("以下项目超过半年未确认，未列入本期台账：%(names)s", names=names), "info")
            rematched = rematch_after_publication(db, user, edition, timing.now())
            if rematched is not None:
                flash_rematch(rematched)
            return redirect(url_for("pages.ledger", edition_id=result.edition.id))
    editions = list_editions(db, user)
    if user.role == Role.STATION_STAFF:
        return redirect(url_for("pages.current_ledgers"))
    townships = (
        township_editions_to_publish(db, user)
        if user.role in (Role.CIVIL_AFFAIRS, Role.ADMIN)
        else []
    )
    return render_template(
        "supply/ledgers.html", editions=editions, form=form, today=today, townships=townships,
        rematch_form=EmptyForm(),
        region_names={e.region_code: region_label(db, e.region_code) for e in editions},
        root=user.region_code, root_label=region_label(db, user.region_code),
        path=region_path(form.region_code.data, user.region_code),
    )  # fmt: skip


def flash_rematch(result: RematchResult) -> None:
    """Say what a re-match of the waiting needs found."""
    flash(
        _(
            "已重新匹配待办需求 %(needs)s 项：%(gained)s 项有新的合适项目，"
            "已通知 %(stations)s 个服务站。",
            needs=result.needs, gained=result.gained_needs, stations=result.stations_notified,
        ),
        "success",
    )  # fmt: skip


@pages.route("/ledgers/rematch", methods=["POST"])
@login_required
def ledgers_rematch() -> Response:
    """Re-match every waiting need of the office's region now (confirmed on the page)."""
    user = actor()
    require_role(user, Role.CIVIL_AFFAIRS)
    if EmptyForm().validate_on_submit():
        try:
            result = rematch_open_needs(get_db(), user, now=timing.now(), today=timing.today())
        except ServiceError as error:
            refuse(error)
        else:
            flash_rematch(result)
    return redirect(url_for("pages.ledgers"))


def upcoming_name(edition: LedgerEdition) -> str:
    """The page's name for an edition waiting for its half-year, in the page's language
    (the Chinese one is :func:`upcoming_title`, which notifications keep)."""
    day = edition.effective_from
    return _(
        "下期台账（%(period)s，%(month)s月%(day)s日生效）",
        period=half_year(edition.period), month=day.month, day=day.day,
    )  # fmt: skip


@pages.route("/ledgers/current")
@login_required
def current_ledgers() -> str:
    user = actor()
    db = get_db()
    today = timing.today()
    editions = current_editions(db, user.region_code, today)
    upcoming = [
        (edition, upcoming_name(edition), edition_diff(db, edition))
        for edition in upcoming_editions(db, user.region_code, today)
    ]
    return render_template(
        "supply/current.html", editions=editions, upcoming=upcoming, labels=LABELS,
        region_names={e.region_code: region_label(db, e.region_code)
                      for e in [*editions, *(u[0] for u in upcoming)]},
    )  # fmt: skip


@pages.route("/ledgers/<int:edition_id>")
@login_required
def ledger(edition_id: int) -> str:
    db = get_db()
    edition = get_edition(db, actor(), edition_id)
    state = edition.state_on(timing.today())
    return render_template(
        "supply/ledger.html", edition=edition, diff=edition_diff(db, edition), state=state,
        upcoming=upcoming_name(edition) if state == LedgerEditionState.UPCOMING else None,
        region_name=region_label(db, edition.region_code), labels=LABELS,
    )  # fmt: skip


@pages.route("/imports/projects", methods=["GET", "POST"])
@login_required
def import_page() -> Any:
    user = actor()
    require_role(user, Role.CHARITY_STAFF, Role.CIVIL_AFFAIRS)
    form = UploadForm()
    result, failure = run_upload(form, lambda stream: import_projects(get_db(), user, stream))
    if result is not None:
        flash(_("已导入 %(n)s 个项目（草稿）。", n=len(result.created)), "success")
        mine = user.role == Role.CHARITY_STAFF
        return redirect(url_for("pages.my_projects" if mine else "pages.ledgers"))
    return upload_page(
        form, failure, title=_("从 Excel 导入项目"),
        intro=_("请使用台账模板（中文表头）；整个文件先整体校验，有任何一行出错则不导入任何数据。"),
        template_url=url_for("imports.ProjectImportTemplate"),
    )  # fmt: skip
