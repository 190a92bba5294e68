"""部门数据报送: a department's account (or civil-affairs staff) uploads a batch made from its
source's template; the page shows what was matched and raised, or every bad row."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import abort, render_template
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.wrappers import Response

from models import User
from models.enums import SOURCE_EVENTS, MonitoringSource, Role
from web import timing
from web.auth import actor
from web.db import get_db
from web.forms import MonitoringUploadForm
from web.services.discovery import list_batches, row_problems
from web.services.errors import ServiceError, ValidationFailed
from web.services.monitoring import BatchResult, batch_template, deliver_batch_file
from web.services.scoping import require_role

from .blueprint import pages
from .refusals import refuse

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _sources(user: User) -> list[MonitoringSource]:
    """The sources the user may deliver: a department's own, or any for civil affairs."""
    if user.role == Role.DATA_PROVIDER:
        return [user.feed_source] if user.feed_source else []
    return list(MonitoringSource)


@pages.route("/monitoring/upload", methods=["GET", "POST"])
@login_required
def monitoring_upload() -> tuple[str, int]:
    """Upload a department's batch; all of it is kept, or none."""
    db, user = get_db(), actor()
    require_role(user, Role.DATA_PROVIDER, Role.CIVIL_AFFAIRS)
    sources = _sources(user)
    form = MonitoringUploadForm()
    form.source.choices = [(s.value, _(s.label)) for s in sources]
    if not form.is_submitted():
        form.delivered_on.data = timing.today()
    result: BatchResult | None = None
    problems: list[Any] = []
    status = 200
    if form.is_submitted():
        status = 422
        if form.validate():
            source = MonitoringSource(form.source.data)
            delivered_on = form.delivered_on.data or timing.today()
            upload = form.file.data
            try:
                result = deliver_batch_file(
                    db, user, source, delivered_on, upload.filename or "", upload.read(),
                    timing.now(),
                )  # fmt: skip
            except ValidationFailed as error:
                refuse(error, flash_message=False)
                problems = row_problems(error.fields)
                form.file.errors = [*form.file.errors, error.message]
            except ServiceError as error:
                refuse(error)
                status = error.status
            else:
                status = 200
    return render_template(
        "monitoring/upload.html", form=form, result=result, problems=problems,
        sources=sources, events=SOURCE_EVENTS, batches=list_batches(db, user),
        fixed_source=user.role == Role.DATA_PROVIDER,
    ), status  # fmt: skip


@pages.route("/monitoring/templates/<source>.xlsx")
@login_required
def monitoring_template(source: str) -> Response:
    """The source's ``.xlsx`` template with Chinese headers."""
    user = actor()
    require_role(user, Role.DATA_PROVIDER, Role.CIVIL_AFFAIRS)
    if source not in MonitoringSource.codes() or MonitoringSource(source) not in _sources(user):
        abort(404)
    chosen = MonitoringSource(source)
    response = Response(batch_template(chosen), mimetype=XLSX)
    name = f"{chosen.label}监测数据模板.xlsx"
    response.headers["Content-Disposition"] = (
        f"attachment; filename={chosen.value}.xlsx; filename*=UTF-8''{quote(name)}"
    )
    return response
