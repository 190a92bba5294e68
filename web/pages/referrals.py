"""Referral pages: a station's referrals, an office's approval queue, a charity's inbox, one
referral with its timeline and the steps open to the viewer, 双向转介, and notifications."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.wrappers import Response

from models import clock
from models.enums import (
    AttachmentKind,
    BackReferralStatus,
    DeclineReason,
    Domain,
    GovAidType,
    ReferralStatus,
    Role,
    ServiceType,
    Urgency,
)
from web.auth import actor
from web.db import get_db
from web.forms import (
    AttachmentForm,
    BackReferralForm,
    EmptyForm,
    EpisodeForm,
    FollowUpForm,
    FollowUpResolveForm,
    HandleForm,
    PairingEndForm,
    PairingForm,
    ReferralStepForm,
    fen_of,
)
from web.labels import LABELS
from web.services import notifications
from web.services.errors import ServiceError
from web.services.referrals import (
    attachments,
    back_referrals,
    episodes,
    followups,
    pairings,
    views,
    workflow,
)
from web.services.referrals.guards import provides, sees_as_provider
from web.storage import attachment_response, attachment_storage

from .blueprint import pages
from .refusals import refuse

S = ReferralStatus

STEP_LABELS = {
    "submit": "提交审批",
    "cancel": "取消转介",
    "approve": "批准",
    "return": "退回",
    "accept": "接收",
    "decline": "婉拒",
    "start": "开始服务",
    "complete": "完成帮扶",
}

#: What happens when a step that cannot be undone is taken, said in the confirmation dialog.
STEP_CONFIRMS = {
    "cancel": "取消后该转介不再办理；已批准的，占用的名额将释放并通知慈善组织。",
    "approve": "批准后将占用该项目 1 个名额并通知慈善组织，慈善组织须在答复期限内接收或婉拒。",
    "return": "退回后转介回到服务站，服务站按退回原因修改后可重新提交。",
    "decline": "婉拒后名额将释放，服务站和民政部门会收到婉拒原因，需另选项目。",
    "complete": "完成帮扶后本次转介结束，不能再登记服务记录；实际帮扶记入该户救助链。",
}

DONE = {
    "submit": "已提交民政部门审批。",
    "cancel": "已取消。",
    "approve": "已批准，已送达慈善组织。",
    "return": "已退回服务站。",
    "accept": "已接收，可查看联系方式。",
    "decline": "已婉拒，名额已释放。",
    "start": "已开始服务，可逐次登记服务记录。",
    "complete": "帮扶已完成。",
}

TITLES = {
    Role.STATION_STAFF: "我的转介",
    Role.CIVIL_AFFAIRS: "转介审批",
    Role.CHARITY_STAFF: "转介收件箱",
    Role.ADMIN: "转介",
}

DEFAULT_BOX = {Role.CIVIL_AFFAIRS: "queue", Role.CHARITY_STAFF: "inbox"}


def _enum(enum_cls: type, value: str | None) -> Any:
    try:
        return enum_cls(value) if value else None
    except ValueError:
        return None


@pages.route("/referrals")
@login_required
def referrals_page() -> str:
    user = actor()
    db = get_db()
    box = request.args.get("box") or DEFAULT_BOX.get(user.role, "all")
    box = box if box in views.BOXES else "all"
    status = _enum(ReferralStatus, request.args.get("status"))
    filters = views.ReferralFilter(
        status=(status,) if status else views.BOXES[box],
        urgency=_enum(Urgency, request.args.get("urgency")),
        domain=_enum(Domain, request.args.get("domain")),
    )
    rows = views.list_referrals(db, user, filters)
    return render_template(
        "referrals/list.html", title=_(TITLES[user.role]), lines=views.referral_summaries(
            db, user, rows), box=box, status=status, statuses=ReferralStatus,
        domains=Domain, form=EmptyForm(), can_batch=user.role == Role.CIVIL_AFFAIRS,
        due_follow_ups=followups.due_follow_ups(db, user), today=clock.today(),
    )  # fmt: skip


@pages.route("/referrals/batch-approve", methods=["POST"])
@login_required
def referrals_batch_approve() -> Response:
    db = get_db()
    if not EmptyForm().validate_on_submit():
        abort(400)
    items: list[tuple[int, int | None]] = []
    for pick in request.form.getlist("pick"):
        rid, _sep, version = pick.partition(":")
        if rid.isdigit() and version.isdigit():
            items.append((int(rid), int(version)))
    if not items:
        flash(_("请先勾选要批准的转介。"), "error")
        return redirect(url_for("pages.referrals_page", box="queue"))
    outcomes = workflow.approve_many(db, actor(), items)
    approved = sum(1 for o in outcomes if o.ok)
    flash(_("已批准 %(n)s 件。", n=approved), "success")
    for outcome in outcomes:
        if not outcome.ok:
            flash(_("转介 %(id)s 未批准：%(why)s", id=outcome.id, why=outcome.message), "error")
    return redirect(url_for("pages.referrals_page", box="queue"))


def _detail(
    referral_id: int, form: ReferralStepForm | None = None, status: int = 200, **extra: Any
) -> Any:
    user = actor()
    db = get_db()
    referral = views.get_referral(db, user, referral_id)
    today = clock.today()
    view = views.referral_view(db, user, referral, today)
    steps = workflow.steps_open_to(user, referral)
    contact = None
    if view["contact_available"]:
        contact = views.referral_contact(db, user, referral_id)
    warnings = workflow.submit_warnings(db, user, referral)
    kinds = attachments.attachable_kinds(db, user, referral)
    attachment_form = extra.get("attachment_form") or AttachmentForm()
    attachment_form.kind.choices = [(k.value, _(k.label)) for k in kinds]
    attachment_form.episode_id.choices = [
        (str(e["id"]), f"{e['on']} {_(e['kind_label'])} {e['quantity']} {e['unit']}")
        for e in view["episodes"]
    ]
    pairing = pairings.find_pairing(db, referral.id)
    can_pair = pairings.can_set_up(user, referral, pairing)
    pairing_form = extra.get("pairing_form") or PairingForm(starts_on=today)
    if can_pair:
        # By relation and birth year: the charity has not opened the household's contact.
        pairing_form.member_id.choices = [
            (str(m.id), _(m.relation.label)
             + (f"（{_('%(year)s年生', year=m.birth_year)}）" if m.birth_year else ""))
            for m in referral.need.household.members
        ]  # fmt: skip
        if not pairing_form.member_id.data and referral.need.member_id is not None:
            pairing_form.member_id.data = str(referral.need.member_id)
    if form is None:
        form = ReferralStepForm(version=referral.version)
    form.version.data = referral.version
    body = render_template(
        "referrals/detail.html", r=view, steps=steps, step_labels=STEP_LABELS, form=form,
        step_confirms=STEP_CONFIRMS,
        contact=contact, warnings=warnings, labels=LABELS, today=today,
        episode_form=extra.get("episode_form") or EpisodeForm(on=today),
        back_form=extra.get("back_form") or BackReferralForm(),
        follow_up_form=extra.get("follow_up_form") or FollowUpForm(),
        resolve_form=extra.get("resolve_form") or FollowUpResolveForm(),
        attachments=[attachments.attachment_view(a)
                     for a in attachments.list_attachments(db, user, referral_id)],
        attachment_form=attachment_form if kinds else None,
        is_charity=user.role == Role.CHARITY_STAFF, is_provider=provides(user, referral),
        sees_as_provider=sees_as_provider(user, referral), declines=DeclineReason,
        services=ServiceType, aid_types=GovAidType,
        pairing=pairings.pairing_view(db, user, referral, pairing, today),
        pairing_form=pairing_form if can_pair else None,
        pairing_end_form=extra.get("pairing_end_form") or PairingEndForm(ended_on=today),
        pairing_grace_days=pairings.GRACE_DAYS,
    )  # fmt: skip
    return body, status


@pages.route("/referrals/<int:referral_id>")
@login_required
def referral_page(referral_id: int) -> Any:
    return _detail(referral_id)


@pages.route(
    "/referrals/<int:referral_id>/<any(" + ",".join(STEP_LABELS) + "):step>", methods=["POST"]
)
@login_required
def referral_step(referral_id: int, step: str) -> Any:
    db = get_db()
    user = actor()
    form = ReferralStepForm()
    if not form.validate_on_submit():
        return _detail(referral_id, form, 422)
    version = form.version.data
    try:
        if step == "submit":
            acknowledged = bool(form.acknowledge_duplicate.data)
            workflow.submit_referral(
                db, user, referral_id, version=version, acknowledge_duplicate=acknowledged
            )
        elif step == "cancel":
            workflow.cancel_referral(db, user, referral_id, form.reason.data, version=version)
        elif step == "approve":
            workflow.approve_referral(db, user, referral_id, version=version)
        elif step == "return":
            workflow.return_referral(db, user, referral_id, form.reason.data, version=version)
        elif step == "accept":
            workflow.accept_referral(db, user, referral_id, version=version)
        elif step == "decline":
            workflow.decline_referral(
                db, user, referral_id, _enum(DeclineReason, form.decline_reason.data),
                form.decline_note.data, version=version,
            )  # fmt: skip
        elif step == "start":
            workflow.start_service(db, user, referral_id, version=version)
        else:
            workflow.complete_referral(
                db, user, referral_id, delivered_amount_fen=fen_of(form.delivered_amount.data),
                delivered_service=form.delivered_service.data, version=version,
                follow_up_days=current_app.config["FOLLOW_UP_DAYS"],
            )  # fmt: skip
    except ServiceError as error:
        rename = {"delivered_amount_fen": "delivered_amount", "note": "decline_note"}
        if step == "decline":
            rename["reason"] = "decline_reason"
        refuse(error, form, fallback="reason", rename=rename)
        return _detail(referral_id, form, error.status)
    flash(_(DONE[step]), "success")
    return redirect(url_for("pages.referral_page", referral_id=referral_id))


@pages.route("/referrals/<int:referral_id>/episodes", methods=["POST"])
@login_required
def referral_episode(referral_id: int) -> Any:
    db = get_db()
    form = EpisodeForm()
    if not form.validate_on_submit():
        return _detail(referral_id, episode_form=form, status=422)
    assert form.on.data and form.quantity.data and form.unit.data  # required by the form
    data = episodes.EpisodeInput(
        on=form.on.data, kind=ServiceType(form.kind.data), quantity=form.quantity.data,
        unit=form.unit.data, value_fen=fen_of(form.value.data) or 0, note=form.remark.data,
    )  # fmt: skip
    try:
        episodes.add_episode(db, actor(), referral_id, data, today=clock.today())
    except ServiceError as error:
        refuse(error, form, fallback="remark", rename={"value_fen": "value", "note": "remark"})
        return _detail(referral_id, episode_form=form, status=error.status)
    flash(_("已登记服务记录。"), "success")
    return redirect(url_for("pages.referral_page", referral_id=referral_id) + "#episodes")


@pages.route("/referrals/<int:referral_id>/back-referral", methods=["POST"])
@login_required
def referral_refer_back(referral_id: int) -> Any:
    db = get_db()
    form = BackReferralForm()
    if not form.validate_on_submit():
        return _detail(referral_id, back_form=form, status=422)
    aid_types = [GovAidType(a) for a in form.aid_types.data or []]
    try:
        back_referrals.refer_back(db, actor(), referral_id, aid_types, form.note.data)
    except ServiceError as error:
        refuse(error, form, fallback="note")
        return _detail(referral_id, back_form=form, status=error.status)
    flash(_("已转给民政部门核查。"), "success")
    return redirect(url_for("pages.referral_page", referral_id=referral_id))


@pages.route("/referrals/<int:referral_id>/follow-up", methods=["POST"])
@login_required
def referral_follow_up(referral_id: int) -> Any:
    db = get_db()
    form = FollowUpForm()
    if not form.validate_on_submit():
        return _detail(referral_id, follow_up_form=form, status=422)
    try:
        recorded = followups.record_follow_up(
            db, actor(), referral_id, followups.FollowUpInput(**form.answers())
        )
    except ServiceError as error:
        refuse(error, form, fallback="note")
        return _detail(referral_id, follow_up_form=form, status=error.status)
    flash(_("已登记回访。"), "success")
    if recorded.flagged_at is not None:
        flash(_("回访与完成记录不符，已提请民政部门核实。"), "warning")
    if recorded.need_met is False:
        flash(_("家庭反映需求尚未满足：需求状态不会自动改变，如需继续帮扶，请为该需求另行发起转介。"),
              "warning")  # fmt: skip
    return redirect(url_for("pages.referral_page", referral_id=referral_id) + "#follow-up")


@pages.route("/referrals/<int:referral_id>/follow-up/resolve", methods=["POST"])
@login_required
def referral_follow_up_resolve(referral_id: int) -> Any:
    db = get_db()
    form = FollowUpResolveForm()
    if not form.validate_on_submit():
        return _detail(referral_id, resolve_form=form, status=422)
    try:
        followups.resolve_follow_up(db, actor(), referral_id, form.resolution.data)
    except ServiceError as error:
        refuse(error, form, fallback="resolution")
        return _detail(referral_id, resolve_form=form, status=error.status)
    flash(_("已记录核实处理情况。"), "success")
    return redirect(url_for("pages.referral_page", referral_id=referral_id) + "#follow-up")


@pages.route("/back-referrals")
@login_required
def back_referrals_page() -> str:
    db = get_db()
    show = request.args.get("status", "open")
    status = None if show == "all" else _enum(BackReferralStatus, show)
    items = back_referrals.back_referral_lines(
        db, actor(), back_referrals.list_back_referrals(db, actor(), status)
    )
    return render_template(
        "referrals/back.html", items=items, show=show, form=HandleForm(), labels=LABELS,
        is_office=actor().role == Role.CIVIL_AFFAIRS,
    )  # fmt: skip


@pages.route("/back-referrals/<int:back_id>/handle", methods=["POST"])
@login_required
def back_referral_handle(back_id: int) -> Response:
    db = get_db()
    form = HandleForm()
    if not form.validate_on_submit():
        flash(_("请填写处理情况。"), "error")
    else:
        try:
            back_referrals.handle_back_referral(db, actor(), back_id, form.note.data)
            flash(_("已记录处理情况。"), "success")
        except ServiceError as error:
            refuse(error)
    return redirect(url_for("pages.back_referrals_page"))


@pages.route("/notifications")
@login_required
def notifications_page() -> str:
    db = get_db()
    user = actor()
    return render_template(
        "referrals/notifications.html", items=notifications.list_notifications(db, user),
        form=EmptyForm(),
    )  # fmt: skip


@pages.route("/notifications/<int:notification_id>/open")
@login_required
def notification_open(notification_id: int) -> Response:
    """Mark one notification read and go where it points."""
    target = notifications.open_notification(get_db(), actor(), notification_id)
    return redirect(target or url_for("pages.notifications_page"))


@pages.route("/notifications/read", methods=["POST"])
@login_required
def notifications_read() -> Response:
    if EmptyForm().validate_on_submit():
        notifications.mark_read(get_db(), actor())
        flash(_("已全部标为已读。"), "success")
    return redirect(url_for("pages.notifications_page"))


@pages.route("/referrals/<int:referral_id>/attachments", methods=["POST"])
@login_required
def referral_attachment(referral_id: int) -> Any:
    db = get_db()
    form = AttachmentForm()
    if not form.validate_on_submit():
        return _detail(referral_id, attachment_form=form, status=422)
    kind = _enum(AttachmentKind, form.kind.data)
    if kind is None:
        form.kind.errors = [_("请选择附件附于哪一项。")]
        return _detail(referral_id, attachment_form=form, status=422)
    chosen = form.episode_id.data or ""
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    upload = form.file.data
    try:
        attachments.add_attachment(
            db, actor(), attachment_storage(), referral_id, upload.stream.read(limit + 1),
            upload.filename, kind, owner_id=int(chosen) if chosen.isdigit() else None,
            caption=form.caption.data, max_bytes=limit,
        )  # fmt: skip
    except ServiceError as error:
        refuse(error, form, fallback="file")
        return _detail(referral_id, attachment_form=form, status=error.status)
    flash(_("已上传附件。"), "success")
    return redirect(url_for("pages.referral_page", referral_id=referral_id) + "#attachments")


@pages.route("/attachments/<int:attachment_id>")
@login_required
def attachment_download(attachment_id: int) -> Response:
    found = attachments.download_attachment(get_db(), actor(), attachment_storage(), attachment_id)
    return attachment_response(found)
