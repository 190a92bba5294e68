"""查找匹配项目: the ranked projects for a need, and starting a referral from one."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.wrappers import Response

from matcher import LOW_MATCH_THRESHOLD
from models.enums import Domain, Role, TargetGroup
from web import timing
from web.auth import actor
from web.db import get_db
from web.forms import EmptyForm
from web.services.errors import ServiceError
from web.services.matching import match_need
from web.services.referrals.workflow import start_referral
from web.services.scoping import require_role

from .blueprint import pages
from .refusals import refuse


@pages.route("/needs/<int:need_id>/matches")
@login_required
def need_matches(need_id: int) -> str:
    user = actor()
    require_role(user, Role.STATION_STAFF, Role.CIVIL_AFFAIRS)
    explain = request.args.get("explain") == "1"
    result = match_need(get_db(), user, need_id, limit=10, explain=explain, today=timing.today())
    return render_template(
        "matching/matches.html", need=result.need, ranking=result.ranking, explain=explain,
        threshold=LOW_MATCH_THRESHOLD, form=EmptyForm(), domains=Domain.labels(),
        groups=TargetGroup.labels(), started_referral=request.args.get("referral", type=int),
    )  # fmt: skip


@pages.route("/needs/<int:need_id>/referrals", methods=["POST"])
@login_required
def need_start_referral(need_id: int) -> Response:
    db = get_db()
    form = EmptyForm()
    project_id = request.form.get("project_id", type=int)
    if not form.validate_on_submit() or project_id is None:
        return redirect(url_for("pages.need_matches", need_id=need_id))
    try:
        referral = start_referral(
            db, actor(), need_id, project_id, score=request.form.get("score", type=float),
            model_version=request.form.get("model_version"),
        )  # fmt: skip
    except ServiceError as error:
        refuse(error)
        return redirect(url_for("pages.need_matches", need_id=need_id))
    flash(
        _("已发起转介（草稿），编号 %(id)s；提交民政部门审批后送达慈善组织。", id=referral.id),
        "success",
    )
    need = referral.need_id
    return redirect(
        url_for("pages.need_matches", need_id=need, referred=project_id, referral=referral.id)
    )
