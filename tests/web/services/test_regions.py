"""Regions above a code: the whole chain, or the breadcrumb from a user's region down."""

from __future__ import annotations

from sqlalchemy.orm import Session

from web.services.regions import ancestors

VILLAGE = "440117101202"  # a village of 温泉镇, 从化区


def test_ancestors_run_from_the_province_down_to_the_region(db: Session) -> None:
    codes = [r.code for r in ancestors(db, VILLAGE)]
    assert codes == ["440000000000", "440100000000", "440117000000", "440117101000", VILLAGE]


def test_a_breadcrumb_starts_at_the_users_own_region(db: Session) -> None:
    codes = [r.code for r in ancestors(db, VILLAGE, within="440117000000")]
    assert codes == ["440117000000", "440117101000", VILLAGE]
    assert ancestors(db, VILLAGE, within="440232000000") == []
