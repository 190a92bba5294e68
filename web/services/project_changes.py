"""A project's fields as people read them: the names its form uses, amounts in yuan, codes as
their Chinese labels, regions by name. Wherever a change of a project is shown (the review
queue, a ledger's differences from the previous edition) it is shown through here, so no page
shows a field name, an enum code or an amount in fen.

Values come back as lists of short pieces (a label, a number, a name); pages translate each.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Project, Region, User

from .contracts import PROJECT
from .errors import Forbidden
from .projects import get_project, input_of, may_review_project

#: Fields a ledger snapshot holds beyond the project contract, and the contract's own names
#: where a snapshot reads better with another (a snapshot lists regions, not codes).
_EXTRA_NAMES = {
    "service_area": "服务区域",
    "quota_used": "已用名额",
    "organization_name": "慈善组织",
    "organization_uscc": "统一社会信用代码",
}

#: Every project field by its name on pages (amounts' names say 元).
FIELD_NAMES: dict[str, str] = {name: rule.label for name, rule in PROJECT.items()} | _EXTRA_NAMES

#: Said for a field a later version adds before its name is written here: never the code.
OTHER_FIELD = "其他信息"


def field_name(name: str) -> str:
    """The Chinese name of project field ``name``."""
    return FIELD_NAMES.get(name, OTHER_FIELD)


def yuan(fen: int) -> str:
    """An amount in fen as yuan with two decimals and thousands separators: ``6,000.00``."""
    return f"{fen / 100:,.2f}"


def shown_value(name: str, value: Any, region_names: dict[str, str]) -> list[str]:
    """``value`` of field ``name`` as pieces to show; ``["—"]`` when empty.

    Amounts (``*_fen``) in yuan; vocabulary codes as labels; booleans 是/否; region codes as
    the names in ``region_names`` (an unknown code, kept as given, is a code users typed).
    """
    if value is None or value == [] or value == "":
        return ["—"]
    rule = PROJECT.get(name)
    if name.endswith("_fen") and isinstance(value, int):
        return [yuan(value)]
    if isinstance(value, bool):
        return ["是" if value else "否"]
    if name == "service_area":
        return [region_names.get(str(code), str(code)) for code in value]
    if rule is not None and rule.vocabulary is not None:
        labels = rule.vocabulary.labels()
        codes = value if isinstance(value, list) else [value]
        return [labels.get(str(code), str(code)) for code in codes]
    if isinstance(value, dt.date):
        return [value.isoformat()]
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


@dataclass(frozen=True)
class FieldChange:
    """One field of a project before and after a change, as pieces to show."""

    field: str
    before: list[str]
    after: list[str]

    @property
    def changed(self) -> bool:
        return self.before != self.after


def region_names_of(db: Session, codes: set[str]) -> dict[str, str]:
    """The names of the regions ``codes`` name (one query)."""
    if not codes:
        return {}
    rows = db.execute(sa.select(Region.code, Region.name).where(Region.code.in_(codes)))
    return {code: name for code, name in rows}


def pending_changes(db: Session, project: Project) -> list[FieldChange]:
    """The change a charity asked for on a verified project, field by field, in the order of
    the project form; empty when none is waiting."""
    asked = project.pending_changes or {}
    if not asked:
        return []
    return _rows(db, project, asked, only_asked=True)


def project_under_review(
    db: Session, actor: User, project_id: int
) -> tuple[Project, list[FieldChange]]:
    """A project and every field of it as its reviewer sees it: as in force (``before``) and as it
    will be once approved (``after``, the same where nothing changes; for a new project both
    are what it was registered with).

    :raise NotFound: the project is outside ``actor``'s scope.
    :raise Forbidden: ``actor`` is not the charity's registering department.
    """
    project = get_project(db, actor, project_id)
    if not may_review_project(actor, project):
        raise Forbidden("只有该慈善组织的登记民政部门可以审核其项目。")
    return project, _rows(db, project, project.pending_changes or {}, only_asked=False)


def _rows(
    db: Session, project: Project, asked: dict[str, Any], *, only_asked: bool
) -> list[FieldChange]:
    current = vars(input_of(project))
    codes = {str(c) for c in current.get("service_area") or []}
    codes |= {str(c) for c in asked.get("service_area") or []}
    names = region_names_of(db, codes)
    order = [name for name in PROJECT if name in asked or not only_asked]
    order += sorted(name for name in asked if name not in PROJECT)
    return [
        FieldChange(
            field_name(name),
            shown_value(name, current.get(name), names),
            shown_value(name, asked.get(name, current.get(name)), names),
        )
        for name in order
    ]
