"""The region picker's answers: the places below one, and places found by name (JSON)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_login import login_required
from marshmallow import ValidationError
from werkzeug.wrappers import Response

from web.auth import actor
from web.db import get_db
from web.schemas.administration import (
    RegionChildrenQuerySchema,
    RegionChoiceSchema,
    RegionSearchQuerySchema,
)
from web.services.errors import ValidationFailed
from web.services.regions import region_children, search_regions

from .blueprint import pages

_CHOICES = RegionChoiceSchema(many=True)
#: The top of the tree the picker opens at when a page offers every place: 广东省.
PROVINCE = "440000000000"


def _query(schema: Any) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = schema.load(request.args.to_dict())
    except ValidationError as error:
        raise ValidationFailed(fields=error.normalized_messages()) from None
    return loaded


@pages.route("/regions/children")
@login_required
def region_children_json() -> Response:
    """The places one level below ``parent`` (the province without it)."""
    args = _query(RegionChildrenQuerySchema())
    return jsonify(_CHOICES.dump(region_children(get_db(), args["parent"])))


@pages.route("/regions/search")
@login_required
def region_search_json() -> Response:
    """Places whose name contains ``q``, at or below ``within`` (default: the user's region)."""
    args = _query(RegionSearchQuerySchema())
    within = args["within"] or actor().region_code
    return jsonify(_CHOICES.dump(search_regions(get_db(), args["q"], within=within)))


def region_path(code: str | None, root: str) -> list[str]:
    """The codes from just below ``root`` down to ``code``, for the picker to open at."""
    from web.services.regions import ancestors

    if not code or not (len(code) == 12 and code.isdigit()):
        return []
    return [r.code for r in ancestors(get_db(), code, within=root) if r.code != root]
