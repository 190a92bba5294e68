"""结对帮扶 on the referral page: the charity sets up the pairing and may end it early; the
page shows it, with each month's visits against the plan, to everyone who sees the referral."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import login_required

from models import clock
from models.enums import CompanionRole
from web.auth import actor
from web.db import get_db
from web.forms import PairingEndForm, PairingForm
from web.services.errors import ServiceError
from web.services.referrals import pairings

from .blueprint import pages
from .referrals import _detail, _enum
from .refusals import refuse


def _anchor(referral_id: int) -> str:
    return url_for("pages.referral_page", referral_id=referral_id) + "#pairing"


@pages.route("/referrals/<int:referral_id>/pairing", methods=["POST"])
@login_required
def referral_pairing(referral_id: int) -> Any:
    form = PairingForm()
    if not form.validate_on_submit():
        return _detail(referral_id, pairing_form=form, status=422)
    member = form.member_id.data or ""
    data = pairings.PairingInput(
        companion_name=form.companion_name.data,
        companion_role=_enum(CompanionRole, form.companion_role.data),
        member_id=int(member) if member.isdigit() else None, starts_on=form.starts_on.data,
        ends_on=form.ends_on.data, visits_per_month=form.visits_per_month.data,
        note=form.pairing_note.data,
    )  # fmt: skip
    try:
        pairings.set_up_pairing(get_db(), actor(), referral_id, data, today=clock.today())
    except ServiceError as error:
        refuse(error, form, fallback="pairing_note", rename={"note": "pairing_note"})
        return _detail(referral_id, pairing_form=form, status=error.status)
    flash(_("已设立结对帮扶，服务站已收到通知。"), "success")
    return redirect(_anchor(referral_id))


@pages.route("/referrals/<int:referral_id>/pairing/end", methods=["POST"])
@login_required
def referral_pairing_end(referral_id: int) -> Any:
    form = PairingEndForm()
    if not form.validate_on_submit():
        return _detail(referral_id, pairing_end_form=form, status=422)
    data = pairings.PairingEndInput(ended_on=form.ended_on.data, reason=form.end_reason.data)
    try:
        pairings.end_pairing(get_db(), actor(), referral_id, data, today=clock.today())
    except ServiceError as error:
        refuse(error, form, fallback="end_reason", rename={"reason": "end_reason"})
        return _detail(referral_id, pairing_end_form=form, status=error.status)
    flash(_("结对帮扶已提前结束，服务站已收到通知。"), "success")
    return redirect(_anchor(referral_id))
