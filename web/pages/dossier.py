"""帮扶档案: a household's whole record of help as one printable page, and as ``.xlsx``."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, render_template
from flask_login import login_required

from web.auth import actor
from web.db import get_db
from web.services.dossier import SATISFACTION, dossier, export_dossier

from .blueprint import pages

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pages.route("/households/<int:household_id>/dossier")
@login_required
def household_dossier(household_id: int) -> str:
    """The household's 帮扶档案, laid out to print (or save as PDF from the print dialog)."""
    data = dossier(get_db(), actor(), household_id, form="page")
    return render_template("households/dossier.html", d=data, satisfaction=SATISFACTION)


@pages.route("/households/<int:household_id>/dossier.xlsx")
@login_required
def household_dossier_export(household_id: int) -> Response:
    """The household's 帮扶档案 as ``.xlsx``, one sheet per section, IDs masked."""
    data = dossier(get_db(), actor(), household_id, form="xlsx")
    response = Response(export_dossier(data), mimetype=XLSX)
    name = f"帮扶档案-{data['household']['head_name']}.xlsx"
    response.headers["Content-Disposition"] = (
        f"attachment; filename=dossier.xlsx; filename*=UTF-8''{quote(name)}"
    )
    return response
