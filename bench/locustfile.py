"""The traffic of ``load_bench.py``: station staff searching matches and reading households,
and referrals going through their steps (``StationWorker``), or match searches alone
(``MatchSearcher``), against a running server.

Each simulated user works through its own slice of the needs, so two users never refer the
same need at once (a refusal there would be the workflow working, not an error). Tokens and
ids come from the JSON file named by ``LOAD_FIXTURE``, written by ``load_bench.py``.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
from typing import Any

import gevent  # type: ignore[import-untyped]
from locust import FastHttpUser, events, task

FIXTURE: dict[str, Any] = json.loads(open(os.environ["LOAD_FIXTURE"], encoding="utf-8").read())  # noqa: SIM115
_slices = itertools.count()


def poisson_pacing(rate: float) -> Any:
    """Tasks that start as a Poisson process of ``rate`` a second: exponential gaps between
    starts, less the time the last task took (none when it ran late), so many users together
    arrive as independent people do. ``constant_throughput`` keeps users started together in
    step, so every second they all arrive at once: the load is a burst of one request per
    user, not a rate, and the last of the burst waits for all the others.

    Like ``constant_throughput``, a user whose answer came late does not catch up: a person
    does not send two requests at once because the last was slow. So when answers slow down
    the offered rate falls a little (at a 0.1 s answer by half a percent): quote the rate
    achieved, not the users."""

    def wait_time(user: Any) -> float:
        now = time.perf_counter()
        user._due = max(user._due + random.expovariate(rate), now)  # noqa: S311
        return user._due - now

    return wait_time


class _Station(FastHttpUser):
    """A station's worker, with its slice of the needs and households and its tokens."""

    abstract = True
    # One task a second per user on average: the offered rate is the number of users.
    wait_time = poisson_pacing(1)

    def on_start(self) -> None:
        n = next(_slices)
        needs = FIXTURE["need_ids"]
        users = int(os.environ.get("LOAD_USERS", "1"))
        self.needs = itertools.cycle(needs[n::users] or needs)
        self.households = itertools.cycle(FIXTURE["household_ids"][n::users] or [0])
        self.station = {"Authorization": FIXTURE["tokens"]["station"]}
        self.office = {"Authorization": FIXTURE["tokens"]["office"]}
        # Users spawned together start at random moments of their first second; the pacing
        # counts from there.
        gevent.sleep(random.random())  # noqa: S311
        self._due = time.perf_counter()

    def search_matches(self) -> None:
        self.client.get(
            f"/api/v1/needs/{next(self.needs)}/matches?limit=10",
            headers=self.station, name="GET /needs/<id>/matches",
        )  # fmt: skip


class StationWorker(_Station):
    """The mix: match searches, household reads and lists, referrals through their steps."""

    @task(5)
    def search(self) -> None:
        self.search_matches()

    @task(3)
    def read_household(self) -> None:
        self.client.get(
            f"/api/v1/households/{next(self.households)}",
            headers=self.station, name="GET /households/<id>",
        )  # fmt: skip

    @task(1)
    def list_households(self) -> None:
        self.client.get("/api/v1/households?per_page=20", headers=self.station,
                        name="GET /households")  # fmt: skip

    @task(1)
    def refer(self) -> None:
        """Start, submit, approve and cancel a referral of this user's next need."""
        need = next(self.needs)
        found = self.client.get(f"/api/v1/needs/{need}/matches?limit=3", headers=self.station,
                                name="GET /needs/<id>/matches")  # fmt: skip
        items = found.json().get("items") if found.status_code == 200 else None
        if not items:
            return
        started = self.client.post(
            "/api/v1/referrals", headers=self.station, name="POST /referrals",
            json={"need_id": need, "project_id": items[0]["project_id"]},
        )  # fmt: skip
        if started.status_code != 201:
            return
        referral = started.json()
        for step, headers, extra in (
            ("submit", self.station, {}),
            ("approve", self.office, {}),
            ("cancel", self.station, {"reason": "家庭已获其他救助"}),
        ):
            moved = self.client.post(
                f"/api/v1/referrals/{referral['id']}/{step}", headers=headers,
                json={"version": referral["version"], **extra},
                name=f"POST /referrals/<id>/{step}",
            )  # fmt: skip
            if moved.status_code != 200:
                return
            referral = moved.json()


class MatchSearcher(_Station):
    """Match searches alone (``load_bench.py --only matches``): what the search costs when
    nothing else queues beside it."""

    tasks = [_Station.search_matches]


@events.quitting.add_listener
def _exit_code(environment: Any, **_kwargs: Any) -> None:
    # Failures are counted and printed by load_bench.py; locust itself exits 0.
    environment.process_exit_code = 0
