"""The synthetic Guangdong the dashboard and worklist benchmarks load."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from seed.synthetic import guangdong

NOW = dt.datetime(2026, 11, 23, 4, 0, tzinfo=dt.UTC)
VILLAGES = [("440117101001", 1), ("440117101002", 1), ("440232100001", 2)]


def test_households_members_needs_and_referrals_hang_together() -> None:
    chunks = list(guangdong(VILLAGES, [7, 8, 9], 3_000, 5_000, NOW, chunk=1_000))
    assert len(chunks) == 3
    rows = {k: [r for c in chunks for r in c[k]] for k in chunks[0]}
    assert len(rows["households"]) == 3_000
    assert {(h["region_code"], h["station_id"]) for h in rows["households"]} == set(VILLAGES)
    people = len(rows["members"]) / 3_000
    assert 2.2 < people < 2.8  # 600,000 households make about 1.5 million people
    heads = Counter(m["household_id"] for m in rows["members"] if m["relation"] == "head")
    assert set(heads.values()) == {1} and len(heads) == 3_000
    assert 1.2 < len(rows["needs"]) / 3_000 < 1.4
    assert abs(len(rows["referrals"]) - 5_000) < 250
    need_ids = {n["id"] for n in rows["needs"]}
    assert {r["need_id"] for r in rows["referrals"]} <= need_ids
    # A need's status follows its latest referral; one never referred is open.
    latest = {}
    for referral in sorted(rows["referrals"], key=lambda r: r["submitted_at"]):
        latest[referral["need_id"]] = referral["status"]
    status = {n["id"]: n["status"] for n in rows["needs"]}
    assert all(status[n] == "fulfilled" for n, s in latest.items() if s == "completed")
    assert all(status[n] == "open" for n in need_ids - set(latest))
    assert all(r["submitted_at"] <= NOW for r in rows["referrals"])
    assert all(
        r["completed_at"] and r["delivered_amount_fen"]
        for r in rows["referrals"] if r["status"] == "completed"
    )  # fmt: skip
