"""The bell: opening a notification reads it and goes where it points, only for its owner."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from models import Notification
from tests.helpers import get_user
from web.services.errors import NotFound
from web.services.notifications import notify, open_notification


def note_for(db: Session, username: str, link: str | None) -> Notification:
    user = get_user(db, username)
    notify(db, [user.id], "approved", "已批准转介。", link=link)
    db.flush()
    note = user_notes(db, username)[-1]
    assert note.read_at is None
    return note


def user_notes(db: Session, username: str) -> list[Notification]:
    user = get_user(db, username)
    return sorted(
        db.query(Notification).filter(Notification.user_id == user.id), key=lambda n: n.id
    )


def test_opening_ones_own_notification_reads_it_and_gives_its_page(db: Session) -> None:
    note = note_for(db, "charity_f", "/referrals/7")
    assert open_notification(db, get_user(db, "charity_f"), note.id) == "/referrals/7"
    db.refresh(note)
    assert note.read_at is not None


def test_someone_elses_notification_is_not_found_and_stays_unread(db: Session) -> None:
    note = note_for(db, "charity_f", "/referrals/7")
    for other in ("charity_g", "station_a", "admin"):
        with pytest.raises(NotFound):
            open_notification(db, get_user(db, other), note.id)
    db.refresh(note)
    assert note.read_at is None


@pytest.mark.parametrize("link", ["https://example.org/x", "//example.org/x", None])
def test_a_link_off_this_site_is_not_followed(db: Session, link: str | None) -> None:
    note = note_for(db, "station_a", link)
    assert open_notification(db, get_user(db, "station_a"), note.id) is None
