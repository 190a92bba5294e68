"""Station pages of the needs ledger: households, their members, aid and needs, the worklist."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from decimal import Decimal
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.wrappers import Response

from models import Household, Station, clock
from models.base import utcnow
from models.enums import (
    Domain,
    GovAidType,
    HouseholdCategory,
    Relation,
    Role,
)
from web.auth import actor
from web.db import get_db
from web.forms import (
    AidForm,
    ConsentForm,
    EmptyForm,
    HouseholdForm,
    NeedForm,
    NeedSummaryForm,
    ReviewForm,
    UploadForm,
)
from web.labels import LABELS
from web.services.discovery import household_warnings
from web.services.errors import ServiceError, ValidationFailed
from web.services.household_search import open_search, seal_search
from web.services.households import (
    DuplicateCheck,
    HouseholdFilter,
    HouseholdInput,
    MemberInput,
    add_gov_aid,
    add_need,
    check_duplicates,
    create_household,
    get_household,
    household_for_change,
    household_for_edit,
    list_households,
    record_consent,
    reveal_household_phone,
    reveal_member,
    suggested_conditions,
    update_household,
    withdraw_consent,
)
from web.services.households_excel import import_households
from web.services.monitoring import household_records
from web.services.needs import (
    ACTION_LABELS,
    ACTIONS,
    actions_for,
    get_need,
    set_need_status,
    update_need_summary,
    worklist,
)
from web.services.public_text import suggest_public_summary
from web.services.referrals.chain import household_chain
from web.services.scoping import require_role
from web.services.stations import list_stations, station_for, station_regions
from web.services.warnings import get_warning

from .blueprint import pages
from .refusals import refuse
from .uploads import run_upload, upload_page


def _fen(value: Decimal | None) -> int:
    return 0 if value is None else int(round(value * 100))


def _region_choices(db: Any, station: Station) -> list[tuple[str, str]]:
    """The station's township and villages by name (a name two of them share, with the name
    of the place above it): people pick a place, not a code."""
    regions = station_regions(db, station)
    names = {r.code: r.name for r in regions}
    uses = Counter(names.values())

    def label(region: Any) -> str:
        if uses[region.name] == 1:
            return str(region.name)
        return f"{names.get(region.parent_code or '', '')} · {region.name}"

    return [(r.code, label(r)) for r in regions]


def flash_duplicates(check: DuplicateCheck) -> None:
    if check.is_skipped:
        flash(_("今日身份证号查重次数已达上限，本次未与其他服务站核对重复登记；请明日再核对。"),
              "warning")  # fmt: skip
    for duplicate in check.duplicates[:20]:
        message = _(
            "注意：%(name)s 已在 %(station)s 登记，请核实是否重复。",
            name=duplicate.member_name,
            station=duplicate.station_name,
        )
        flash(message, "info")


def household_input(form: HouseholdForm) -> HouseholdInput:
    members = [
        MemberInput(
            name=(entry.form.name.data or "").strip(),
            relation=Relation(entry.form.relation.data),
            id_number=(entry.form.id_number.data or "").strip() or None,
            birth_on=entry.form.birth_on.data,
            sex=entry.form.sex.data or None,
            disability_type=entry.form.disability_type.data or None,
            disability_grade=entry.form.disability_grade.data,
            illness=(entry.form.illness.data or "").strip() or None,
            illness_kind=entry.form.illness_kind.data or None,
            self_care=entry.form.self_care.data,
            school_stage=entry.form.school_stage.data or None,
            # Conditions picked confirm them; none picked leaves the illness text to be read
            # (and offered for confirming) until the station picks them.
            conditions=entry.form.conditions.data or None,
            child_status=entry.form.child_status.data or None,
        )
        for entry in _filled_members(form)
    ]
    return HouseholdInput(
        region_code=form.region_code.data,
        address=form.address.data or None,
        phone=form.phone.data or None,
        categories=form.categories.data or [],
        situations=form.situations.data or [],
        income_per_head_fen=_fen(form.income_per_head.data),
        medical_expense_fen=_fen(form.medical_expense.data),
        education_expense_fen=_fen(form.education_expense.data),
        members=members,
    )


def _filled_members(form: HouseholdForm) -> list[Any]:
    """The member rows with a name or an ID number; blank rows are not members."""
    return [
        entry
        for entry in form.members
        if (entry.form.name.data or "").strip() or (entry.form.id_number.data or "").strip()
    ]


def _member_rows(form: HouseholdForm) -> dict[str, str]:
    """The service's ``members.<n>`` (filled rows only) as the form's row names."""
    return {f"members.{n}": entry.name for n, entry in enumerate(_filled_members(form))}


@pages.route("/households", methods=["GET", "POST"])
@login_required
def households() -> str | Response:
    """The households list. A search for a name, an ID number or a phone is posted, and goes
    on to an address holding the term sealed (``seal_search``): an address ends up in server
    and proxy logs, the browser's history and the next page's Referer, and the term must not,
    yet going back to the results and paging them work as with any list. The filters stay in
    the address as they are, to be linked."""
    user = actor()
    require_role(user, Role.STATION_STAFF, Role.CIVIL_AFFAIRS)
    db = get_db()
    given = request.form if request.method == "POST" else request.args
    category = given.get("category") or None
    consent_arg = given.get("consent")
    consent = {"yes": True, "no": False}.get(consent_arg or "")
    page = min(100_000, max(1, given.get("page", 1, type=int) or 1))
    filters = HouseholdFilter(
        category=category if category in HouseholdCategory.codes() else None,
        consent=consent,
        station_id=given.get("station_id", type=int),
    )
    if request.method == "POST":
        typed = (request.form.get("q") or "").strip()[:64]
        sealed = seal_search(db, user, typed) if typed else None
        address = _list_address(sealed, filters, page=page if page > 1 else None)
        return redirect(url_for("pages.households", **address), 303)
    sealed = request.args.get("s")
    query = open_search(db, user, sealed) if sealed else None
    if sealed and query is None:
        flash(_("这次查找已失效，请重新输入查找内容。"), "warning")
        sealed = None
    filters = replace(filters, query=query)
    result = list_households(db, user, page=page, per_page=20, filters=filters)
    return render_template(
        "households/list.html", result=result, query=query, labels=LABELS, filters=filters,
        consent_arg=consent_arg, stations=list_stations(db, user),
        pager=_list_address(sealed, filters),
    )  # fmt: skip


def _list_address(
    sealed: str | None, filters: HouseholdFilter, page: int | None = None
) -> dict[str, Any]:
    """The households list's address arguments: the sealed search and the filters as read
    (the consent filter as its form writes it), nothing else and nothing empty."""
    consent = None if filters.consent is None else ("yes" if filters.consent else "no")
    address = {"s": sealed, "category": filters.category, "consent": consent,
               "station_id": filters.station_id, "page": page}  # fmt: skip
    return {key: value for key, value in address.items() if value}


def _household_form_page(form: HouseholdForm, household: Household | None, general: list[str],
                         status: int = 200) -> Any:  # fmt: skip
    return render_template(
        "households/form.html", form=form, household=household, general=general
    ), status


@pages.route("/households/new", methods=["GET", "POST"])
@pages.route("/households/<int:household_id>/edit", methods=["GET", "POST"])
@login_required
def household_form(household_id: int | None = None) -> Any:
    user = actor()
    require_role(user, Role.STATION_STAFF, Role.CIVIL_AFFAIRS)
    db = get_db()
    household = None
    if household_id is not None:
        # Only the form shown is a look; a post's own record is the change it makes.
        load = household_for_edit if request.method == "GET" else household_for_change
        household = load(db, user, household_id)
    if household is not None:
        station = household.station
    else:
        station_id = request.args.get("station_id", type=int)
        station = station_for(db, user, station_id, own_first=True)
    if request.method == "GET" and household is not None:
        form = HouseholdForm(data=_form_data(household))
    else:
        form = HouseholdForm()
    form.region_code.choices = _region_choices(db, station)
    if request.method == "POST" and "add_member" in request.form:
        form.members.append_entry()
        return _household_form_page(form, household, [])
    if request.method == "GET" and household is None:
        form.members[0].form.relation.data = Relation.HEAD.value
        # A person found by a warning (未在册) is registered from it: the name comes from the
        # warning (in the user's scope), never from the address, which logs would keep.
        warning_id = request.args.get("warning", type=int)
        if warning_id is not None:
            form.members[0].form.name.data = get_warning(db, user, warning_id).record.name
    if form.validate_on_submit():
        data = household_input(form)
        try:
            if household is None:
                household = create_household(db, user, data, station_id=station.id)
                flash_duplicates(check_duplicates(
                    db, user, [household], current_app.config["DUPLICATE_CHECKS_PER_DAY"]
                ))  # fmt: skip
            else:
                update_household(db, user, household.id, data)
        except ValidationFailed as error:
            general = refuse(error, form, rename=_member_rows(form), flash_message=False)
            return _household_form_page(form, household, general, 422)
        flash(_("已保存。"), "success")
        return redirect(url_for("pages.household", household_id=household.id))
    status = 422 if request.method == "POST" else 200
    return _household_form_page(form, household, [], status)


def _form_data(household: Household) -> dict[str, Any]:
    return {
        "region_code": household.region_code,
        "address": household.address,
        "phone": None,
        "categories": household.categories,
        "situations": household.situations,
        "income_per_head": Decimal(household.income_per_head_fen) / 100,
        "medical_expense": Decimal(household.medical_expense_fen) / 100,
        "education_expense": Decimal(household.education_expense_fen) / 100,
        "members": [
            {
                "name": m.name,
                "relation": m.relation.value,
                "id_number": None,
                "birth_on": None,  # never sent back, like the ID number: kept if left empty
                "sex": m.sex.value if m.sex else "",
                "disability_type": m.disability_type.value if m.disability_type else "",
                "disability_grade": m.disability_grade,
                "illness": m.illness,
                "illness_kind": m.illness_kind.value if m.illness_kind else "",
                "self_care": m.self_care.value,
                "school_stage": m.school_stage.value if m.school_stage else "",
                # Unconfirmed: what the illness text names, for the station to confirm.
                "conditions": m.conditions
                if m.conditions is not None
                else suggested_conditions(m.illness),
                "child_status": m.child_status.value if m.child_status else "",
            }
            for m in household.members
        ]
        + [{}],
    }


@pages.route("/households/<int:household_id>")
@login_required
def household(household_id: int) -> str:
    db = get_db()
    record = get_household(db, actor(), household_id)
    return _detail(record)


def _detail(record: Household, revealed: dict[str, str] | None = None, **forms: Any) -> str:
    today = clock.today()
    need_form = forms.get("need_form") or NeedForm()
    need_form.member_id.choices = [("", "—")] + [(str(m.id), m.name) for m in record.members]
    return render_template(
        "households/detail.html",
        household=record,
        groups=record.priority_groups(today),
        today=today,
        labels=LABELS,
        revealed=revealed or {},
        need_form=need_form,
        aid_form=forms.get("aid_form") or AidForm(),
        consent_form=forms.get("consent_form") or ConsentForm(on=today),
        action_form=EmptyForm(),
        status_form=ReviewForm(),
        need_actions={n.id: actions_for(actor(), n) for n in record.needs},
        action_labels=ACTION_LABELS,
        chain=household_chain(get_db(), actor(), record),
        feed_records=household_records(get_db(), actor(), record.id),
        warnings=household_warnings(get_db(), actor(), record),
        summary_form=forms.get("summary_form"),
        summary_need_id=forms.get("summary_need_id"),
        suggest_summary=suggest_public_summary,
        suggested={m.id: suggested_conditions(m.illness) for m in record.members
                   if m.conditions is None},
    )  # fmt: skip


@pages.route("/households/<int:household_id>/reveal", methods=["POST"])
@login_required
def household_reveal(household_id: int) -> str | Response:
    """Show a whole ID number or phone once, on this response only; audited."""
    db = get_db()
    user = actor()
    form = EmptyForm()
    if not form.validate_on_submit():
        return redirect(url_for("pages.household", household_id=household_id))
    record = get_household(db, user, household_id)
    member_id = request.form.get("member_id", type=int)
    if member_id is not None:
        revealed = {f"member-{member_id}": reveal_member(db, user, record, member_id)}
    else:
        revealed = {"phone": reveal_household_phone(db, user, record)}
    return _detail(record, revealed)


@pages.route("/households/<int:household_id>/needs", methods=["POST"])
@login_required
def household_add_need(household_id: int) -> Any:
    db = get_db()
    user = actor()
    record = household_for_change(db, user, household_id)
    form = NeedForm()
    form.member_id.choices = [("", "—")] + [(str(m.id), m.name) for m in record.members]
    if form.validate_on_submit():
        assert form.text.data is not None  # required by the form
        try:
            add_need(
                db, user, record, domain=Domain(form.domain.data), text=form.text.data,
                member_id=int(form.member_id.data) if form.member_id.data else None,
                amount_gap_fen=_fen(form.amount_gap.data) or None, urgency=form.urgency.data,
                public_summary=form.public_summary.data,
            )  # fmt: skip
        except ValidationFailed as error:
            refuse(error, form, fallback="text", flash_message=False)
        else:
            flash(_("需求已登记。"), "success")
            return redirect(url_for("pages.household", household_id=household_id, _anchor="needs"))
    return _detail(get_household(db, user, household_id), need_form=form), 422


@pages.route("/needs/<int:need_id>/public-summary", methods=["POST"])
@login_required
def need_public_summary(need_id: int) -> Any:
    """Write or confirm the summary charities read before they accept."""
    db = get_db()
    user = actor()
    form = NeedSummaryForm()
    try:
        if form.validate_on_submit():
            assert form.public_summary.data is not None  # required by the form
            try:
                need = update_need_summary(db, user, need_id, form.public_summary.data)
            except ValidationFailed as error:
                refuse(error, form, fallback="public_summary", flash_message=False)
            else:
                flash(_("对外情况说明已保存。"), "success")
                household_id = need.household_id
                return redirect(
                    url_for("pages.household", household_id=household_id, _anchor="needs")
                )
        record = get_household(db, user, get_need(db, user, need_id).household_id)
    except ServiceError as error:
        refuse(error)
        return redirect(url_for("pages.worklist_page"))
    return _detail(record, summary_form=form, summary_need_id=need_id), 422


@pages.route("/households/<int:household_id>/aid", methods=["POST"])
@login_required
def household_add_aid(household_id: int) -> Any:
    db = get_db()
    user = actor()
    record = household_for_change(db, user, household_id)
    form = AidForm()
    if form.validate_on_submit():
        assert form.period_start_on.data is not None  # required by the form
        try:
            add_gov_aid(
                db, user, record, GovAidType(form.aid_type.data), _fen(form.amount.data),
                form.period_start_on.data, form.period_end_on.data,
            )  # fmt: skip
        except ValidationFailed as error:
            refuse(error, form, fallback="amount", flash_message=False)
        else:
            flash(_("救助记录已登记。"), "success")
            return redirect(url_for("pages.household", household_id=household_id, _anchor="aid"))
    return _detail(get_household(db, user, household_id), aid_form=form), 422


@pages.route("/households/<int:household_id>/consent", methods=["POST"])
@login_required
def household_consent(household_id: int) -> Any:
    db = get_db()
    user = actor()
    if request.form.get("withdraw"):
        if EmptyForm().validate_on_submit():
            withdraw_consent(db, user, household_id, utcnow())
            flash(_("已撤回授权：不能再发起转介，慈善组织也看不到该户。"), "info")
        return redirect(url_for("pages.household", household_id=household_id))
    form = ConsentForm()
    if form.validate_on_submit():
        assert form.on.data and form.scope.data  # required by the form
        record_consent(db, user, household_id, form.on.data, form.scope.data)
        flash(_("授权已记录。"), "success")
        return redirect(url_for("pages.household", household_id=household_id))
    return _detail(get_household(db, user, household_id), consent_form=form), 422


@pages.route("/needs/<int:need_id>/status", methods=["POST"])
@login_required
def need_status(need_id: int) -> Response:
    db = get_db()
    form = ReviewForm()
    action = request.form.get("action", "")
    household_id = request.form.get("household_id", type=int)
    if form.validate_on_submit() and action in ACTIONS:
        try:
            set_need_status(db, actor(), need_id, ACTIONS[action][0], form.reason.data)
            flash(_("需求状态已更新。"), "success")
        except ServiceError as error:
            refuse(error)
    if household_id:
        return redirect(url_for("pages.household", household_id=household_id, _anchor="needs"))
    return redirect(url_for("pages.worklist_page"))


@pages.route("/worklist")
@login_required
def worklist_page() -> str:
    user = actor()
    require_role(user, Role.STATION_STAFF, Role.CIVIL_AFFAIRS)
    db = get_db()
    stations = list_stations(db, user)
    station_id = request.args.get("station_id", type=int) or user.station_id
    if station_id is None and stations:
        station_id = stations[0].id
    only_gained = request.args.get("gained") == "1"
    result = worklist(db, user, station_id, clock.today(), only_gained=only_gained)
    return render_template(
        "households/worklist.html", result=result, labels=LABELS, stations=stations
    )


@pages.route("/imports/households", methods=["GET", "POST"])
@login_required
def household_import_page() -> Any:
    user = actor()
    require_role(user, Role.STATION_STAFF)
    form = UploadForm()
    limit = current_app.config["DUPLICATE_CHECKS_PER_DAY"]
    result, failure = run_upload(
        form, lambda stream: import_households(get_db(), user, stream, duplicate_limit=limit)
    )
    if result is not None:
        message = _("已导入 %(h)s 户、%(m)s 名成员。", h=len(result.households), m=result.members)
        flash(message, "success")
        flash_duplicates(DuplicateCheck(result.duplicates, result.is_duplicate_check_skipped))
        return redirect(url_for("pages.households"))
    return upload_page(
        form, failure, title=_("从 Excel 导入困难家庭"),
        intro=_("每行一名家庭成员，同一户的成员填写相同的户编号；家庭信息填在户主所在行。整个文件先整体校验，有任何一行出错则不导入任何数据。"),  # noqa: E501
        template_url=url_for("imports.HouseholdImportTemplate"),
    )  # fmt: skip
