"""Revision 0017 keeps existing data valid: what completed referrals delivered is carried
over, a downgrade turns 部分满足 needs back into open ones, and existing phones are indexed by
the keyed hash the search uses."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from models import migrate
from models.session import make_session_factory
from tests.conftest import copy_demo, remove_local_resources, side_database_url
from tests.helpers import TEST_DATA_KEY, get_user, need_of, project_named
from web.services.crypto import PersonalDataCipher
from web.services.referrals import workflow

SURGERY = "从化区慈善医疗救助"  # ¥8,000 a person, answered by charity_f


def test_delivered_money_is_carried_over_and_partial_needs_survive_a_downgrade(
    engine: Engine, database_url: str, tmp_path: Path, cipher: PersonalDataCipher
) -> None:
    side = copy_demo(engine, side_database_url(database_url, tmp_path, "partial"))
    remove_local_resources(side)
    url = side.url.render_as_string(hide_password=False)
    with make_session_factory(side, cipher=cipher)() as db:
        need = need_of(db, "钟伟明", "medical")  # ¥40,000 gap, ¥8,000 delivered below
        station, office, charity = (
            get_user(db, u) for u in ("station_a", "ca_conghua", "charity_f")
        )
        referral = workflow.start_referral(db, station, need.id, project_named(db, SURGERY).id)
        workflow.submit_referral(db, station, referral.id)
        workflow.approve_referral(db, office, referral.id)
        workflow.accept_referral(db, charity, referral.id)
        workflow.start_service(db, charity, referral.id)
        workflow.complete_referral(db, charity, referral.id, delivered_amount_fen=800_000)
        need_id, expected = need.id, 800_000
        db.commit()
    migrate.downgrade(url, rev="0013")
    migrate.upgrade(url, data_key=TEST_DATA_KEY)
    with side.begin() as conn:
        phones = conn.execute(
            sa.text("SELECT phone_hash FROM households WHERE head_name = '钟伟明'")
        ).scalar_one()
        assert phones == cipher.lookup_hash("13719248651")
        delivered = conn.scalar(
            sa.text("SELECT delivered_fen FROM needs WHERE id = :id"), {"id": need_id}
        )
        assert delivered == expected
        # The new status is allowed by the column's check.
        conn.execute(sa.text("UPDATE needs SET status = 'partial' WHERE id = :id"), {"id": need_id})
    migrate.downgrade(url, rev="0013")
    with side.connect() as conn:
        status = conn.scalar(sa.text("SELECT status FROM needs WHERE id = :id"), {"id": need_id})
        assert status == "open"
    migrate.upgrade(url)
    side.dispose()
