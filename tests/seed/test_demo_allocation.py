"""The demo shows why an allocation plan matters: 荔乡慈善会's rehabilitation project has two
places left and four 从化 needs ask for it; first come first served gives them to the two
registered first, the plan to the urgent need of 陈建新's disabled son among them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from matcher.allocation import Weights, first_come_first_served
from tests.helpers import get_user, need_of, project_named
from web.services.allocation import create_plan
from web.services.allocation_candidates import load_candidates
from web.services.ledgers import build_edition
from web.services.matching import clear_cache

NOW = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
REHAB = "荔乡康复·困难残疾人康复训练资助"


def test_the_plan_gives_a_last_place_to_the_urgent_need_first_come_leaves_out(
    db: Session,
) -> None:
    clear_cache()
    for region in ("440000000000", "440100000000", "440117000000"):
        build_edition(db, None, region, "2026H2", NOW)
    rehab = project_named(db, REHAB)
    assert rehab.quota - rehab.quota_used == 2
    waiting = {
        name: need_of(db, name, "disability").id
        for name in ("罗桂兰", "谭国平", "邱桂芳", "陈建新")
    }

    plan = create_plan(db, get_user(db, "ca_conghua"), None, {}, now=NOW)
    placed = {line.need_id for line in plan.lines if line.project_id == rehab.id}
    needs, options, projects = load_candidates(plan.figures["candidates"])
    assert set(waiting.values()) <= {n.need_id for n in needs}  # consented, open, waiting
    fcfs = first_come_first_served(needs, options, projects, Weights())
    first_come = {line.need_id for line in fcfs.lines if line.project_id == rehab.id}

    assert len(placed) == len(first_come) == 2
    assert waiting["陈建新"] in placed and waiting["陈建新"] not in first_come
    assert first_come == {waiting["罗桂兰"], waiting["谭国平"]}  # the two registered first
    assert plan.figures["urgent"]["plan"] > plan.figures["urgent"]["fcfs"]
