"""No page or export shows a field name, an enum code or an amount in fen: each role opens
every page of its navigation and the detail pages below them (a household, its 帮扶档案, its
matches, a referral, a ledger, a project under review), and every ``.xlsx`` those pages link
to, and the words people read are scanned for snake_case identifiers, ``_fen``, the codes of
the vocabularies in ``models/enums.py`` and the matcher's model and case-file names; a
half-year is written 2026年下半年, never 2026H2."""

from __future__ import annotations

import datetime as dt
import inspect
import io
import re
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

import models.enums
from jobs.tasks import TASKS, JobContext
from models import JobRun, User, clock
from models.base import utcnow
from models.enums import JobRunStatus, LabelledEnum, MonitoringSource, Role
from seed.activity import load_activity
from tests.helpers import DEMO_PASSWORD, sign_in
from tests.web.test_review_pages import ask_for_change, conghua_project
from web.pages.filters import case_file, model_name
from web.services.ledgers import build_edition
from web.services.monitoring import deliver_batch
from web.services.users import create_user

ROLES = ("station_c", "station_a", "ca_conghua", "ca_province", "charity_h", "charity_f", "admin",
         "words_yibao")  # fmt: skip
#: The departments whose ledgers the demo publishes (the Makefile's DEMO_LEDGERS).
DEMO_LEDGERS = ("440000000000", "440100000000", "440117000000", "441800000000", "440232000000")
#: From a page, the first link matching each pattern is followed too.
BELOW = (
    r"/households/\d+",
    r"/households/\d+/dossier",
    r"/needs/\d+/matches",
    r"/referrals/\d+",
    r"/ledgers/\d+",
    r"/review/projects/\d+",
    r"/reports/half-year\?[^\"]*",
    r"/warnings/\d+",
)

SNAKE = re.compile(r"(?<![\w./-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w/-])")
CODES = {
    member.value
    for _name, enum in inspect.getmembers(models.enums, inspect.isclass)
    if issubclass(enum, LabelledEnum) and enum is not LabelledEnum
    for member in enum
}
WORD = re.compile(r"(?<![\w./@-])[a-z][a-z0-9_]*(?![\w/@-])")
#: The matcher's model names (weighted-v2, logistic-3-20261207) and the case files' names.
MODEL_OR_FILE = re.compile(r"\b(?:weighted-v\d+|logistic-\d+-\d{8}|\w+\.json)\b")
HALF_YEAR = re.compile(r"(?<![0-9A-Za-z_-])20\d\dH[12](?![0-9A-Za-z_])")
#: Attributes people read (or hear from a screen reader).
READ_ATTRIBUTES = {"placeholder", "aria-label", "title", "alt", "data-confirm", "data-label"}


class Words(HTMLParser):
    """The text of a page as people read it: text outside scripts and styles, and the
    attributes shown or spoken."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if value and name in READ_ATTRIBUTES:
                self.parts.append(value)
        if tag == "input" and dict(attrs).get("type") in ("submit", "button"):
            self.parts.append(dict(attrs).get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def read_words(html: str) -> str:
    parser = Words()
    parser.feed(html)
    return "\n".join(parser.parts)


def problems_in(text: str, where: str, usernames: frozenset[str] = frozenset()) -> list[str]:
    """What in ``text`` is a code, not a word; ``usernames`` are names people sign in with
    (the administration pages and the audit log show them as typed)."""
    found = [f"{where}: 字段名 {m}" for m in SNAKE.findall(text) if m not in usernames]
    found += [f"{where}: 分 {m}" for m in re.findall(r"\w*_fen\b", text)]
    found += [f"{where}: 代码 {w}" for w in WORD.findall(text) if w in CODES and w not in usernames]
    found += [f"{where}: 模型或文件名 {m}" for m in MODEL_OR_FILE.findall(text)]
    found += [f"{where}: 期次 {m}（应写作 2026年下半年）" for m in HALF_YEAR.findall(text)]
    return found


def links(html: str) -> list[str]:
    return [h.replace("&amp;", "&") for h in re.findall(r'href="(/[^"#]*)', html)]


def navigation(html: str) -> list[str]:
    nav = html.split('class="mainnav"', 1)[1].split("</nav>", 1)[0]
    return list(dict.fromkeys(links(nav)))


@pytest.fixture
def busy_demo(db: Session) -> None:
    """The demo as `make run` serves it: ledgers published, referrals in every state, a job
    run of each job with its counts, and a change to a verified project waiting for review."""
    now = utcnow()
    for region in DEMO_LEDGERS:
        build_edition(db, None, region, clock.period_of(clock.local_date(now)), now)
    load_activity(db, clock.local_date(now))
    for name in TASKS:
        if name == "retrain_matcher":  # slow, and its figures have a page of their own
            continue
        context = JobContext(db=db, slot=now, now=now, config={})
        counts = TASKS[name](context)
        # An hour back: the refresh has queued a re-match run for ``now`` (shown too).
        earlier = now - dt.timedelta(hours=1)
        db.add(JobRun(job_name=name, scheduled_at=earlier, started_at=earlier, finished_at=now,
                      status=JobRunStatus.SUCCEEDED, trigger="manual", counts=counts))  # fmt: skip
    project = conghua_project(db)
    ask_for_change(db, project, amount_per_beneficiary_fen=600000, forms=["cash"])
    deliver_feeds(db, now)
    db.commit()


def deliver_feeds(db: Session, now: dt.datetime) -> None:
    """A medical-insurance batch raising warnings at 温泉镇站 and 必背镇站, one of them for a
    person not in the ledger, delivered by the department account ``words_yibao``."""
    provider = create_user(
        db, None, username="words_yibao", password=DEMO_PASSWORD, display_name="省医保局",
        role=Role.DATA_PROVIDER, region_code="440000000000",
        feed_source=MonitoringSource.MEDICAL_INSURANCE,
    )  # fmt: skip
    day = (clock.local_date(now) - dt.timedelta(days=30)).isoformat()
    deliver_batch(db, provider, MonitoringSource.MEDICAL_INSURANCE, clock.local_date(now), [
        {"id_number": id_number, "name": name, "region_code": region, "event": "medical_expense",
         "occurred_on": day, "amount_yuan": 52000.0, "detail": "住院自付"}
        for id_number, name, region in (("440122197804121076", "钟伟明", "440117103217"),
                                        ("440232198609142552", "赵金福", "440232113201"),
                                        ("44011719850301123X", "罗未名", "440117103217"))
    ], now)  # fmt: skip


def test_no_page_or_export_shows_a_field_name_an_enum_code_or_fen(
    client: FlaskClient, db: Session, busy_demo: None
) -> None:
    usernames = frozenset(db.scalars(sa.select(User.username)))
    problems: list[str] = []
    exports: set[tuple[str, str]] = set()
    opened: set[str] = set()
    for username in ROLES:
        user = client.application.test_client()
        sign_in(user, username)
        home = user.get("/home")
        seen: set[str] = set()
        queue = ["/home", *navigation(home.text)]
        while queue:
            path = queue.pop(0)
            if path in seen or path.startswith("/api/") or path == "/api-docs":
                continue
            seen.add(path)
            opened.add(path)
            page = user.get(path)
            assert page.status_code == 200, f"{username} {path}: {page.status_code}"
            problems += problems_in(read_words(page.text), f"{username} {path}", usernames)
            found = links(page.text)
            exports |= {(username, h) for h in found if ".xlsx" in h}
            for pattern in BELOW:
                first = next((h for h in found if re.fullmatch(pattern, h)), None)
                if first and first not in seen:
                    queue.append(first)
        for owner, href in sorted(exports):
            if owner != username:
                continue
            response = user.get(href)
            assert response.status_code == 200, f"{username} {href}"
            book = load_workbook(io.BytesIO(response.data), read_only=True)
            for sheet in book.worksheets:
                text = [sheet.title] + [
                    str(cell) for row in sheet.iter_rows(values_only=True) for cell in row
                    if isinstance(cell, str)
                ]  # fmt: skip
                problems += problems_in("\n".join(text), f"{username} {href}", usernames)
    for pattern in BELOW:
        assert any(re.fullmatch(pattern, p) for p in opened), f"no page opened like {pattern}"
    assert {"/jobs", "/review", "/dashboard", "/worklist", "/my/projects", "/warnings",
            "/settings/warnings", "/monitoring/upload"} <= opened  # fmt: skip
    assert len(exports) > 20, "the exports were not found on the pages"
    assert not problems, "\n".join(dict.fromkeys(problems))


def test_a_model_and_a_case_file_are_named_by_what_they_are(app: Flask) -> None:
    with app.test_request_context():
        assert model_name("weighted-v2") == "规则加权模型第 2 版"
        assert model_name("logistic-3-20261207") == "学习模型第 3 号，2026年12月7日训练"
        assert model_name("bm25") == "其他排序模型"
        assert case_file("holdout_cases.json") == "留出评测集"
        assert case_file("extra_cases.json") == "评测集“extra_cases”"


def test_the_jobs_page_says_how_each_run_came_about(client: FlaskClient, db: Session) -> None:
    now = utcnow()
    for n, trigger in enumerate(("schedule", "catch_up", "after_refresh", "resumed")):
        at = now - dt.timedelta(hours=n + 1)
        db.add(JobRun(job_name="stale_needs", scheduled_at=at, started_at=at, finished_at=at,
                      status=JobRunStatus.SUCCEEDED, trigger=trigger, counts={}))  # fmt: skip
    db.commit()
    sign_in(client, "admin")
    runs = client.get("/jobs").text.split('data-testid="job-runs"', 1)[1]
    words = read_words(runs)
    assert all(label in words for label in ("按计划", "补跑", "台账更新后", "其他方式"))
    assert "resumed" not in words and not problems_in(words, "/jobs")
