"""In a real browser, at the screens offices and stations use (1280×800, 1366×768, 1920×1080
and a 390×844 phone), each role opens every page of its navigation and the pages one click
below that matter (a household, a referral, a ledger): the page never scrolls sideways, every
navigation item stays on one line (and the header too, from 1280 px), table cells never shrink
to a character per line, and at 1366 px axe-core finds no WCAG 2 A/AA violation. A full-page
screenshot of each is kept in ``tests/browser/screenshots/`` (ignored by git) as
``role-page-width.png``. And the navigation itself: groups work with the keyboard, a menu
button opens it on phones, and without script it is still there; on paper, tables are whole."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, Page, StorageState, expect
from sqlalchemy.engine import Engine
from werkzeug.serving import BaseWSGIServer, make_server

from jobs.tasks import training_run_counts
from matcher import LearnedModel
from matcher.evaluation import shipped_case_files
from matcher.scoring import learned_model_name
from matcher.training import CaseFileCheck, TrainingResult, ndcg_refusal
from models import JobRun, clock
from models.base import utcnow
from models.enums import JobRunStatus
from seed.activity import load_activity
from tests.browser.helpers import go_to, new_page, sign_in
from tests.conftest import copy_demo, side_database_url
from tests.helpers import TEST_DATA_KEY, TEST_SECRET_KEY, get_user
from tests.web.test_words_for_people import deliver_feeds
from web.services.allocation import create_plan
from web.services.ledgers import build_edition

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(__file__).parent / "screenshots"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_WIDTH = 1366
PHONE_WIDTH = 390

VIEWPORTS = [(1280, 800), (1366, 768), (1920, 1080), (390, 844)]
#: One account a role, where the demo's referrals are (乳源 and 从化: one in each state).
ROLES = {
    "station": "station_c",
    "civil-affairs": "ca_conghua",
    "charity": "charity_h",
    "admin": "admin",
    "department": "words_yibao",  # made by deliver_feeds
}


@dataclass(frozen=True)
class Below:
    """A page one click below a navigation page: the first link matching ``selector``, which
    the demo gives each of ``roles`` (None: every role that has the page above)."""

    name: str
    selector: str
    roles: tuple[str, ...] | None = None


#: A published edition with projects in it (its fourth column counts them).
LEDGER_WITH_PROJECTS = (
    "[data-testid=edition-table] tbody tr:not(:has(td:nth-child(4):text-is('0')))"
    " a[href^='/ledgers/']"
)

#: From a navigation page (by path), the detail pages worth a visit, followed in order.
BELOW: dict[str, list[Below]] = {
    "/households": [
        Below("household", "[data-testid=household-table] tbody a[href^='/households/']"),
        Below(
            "matches",
            "[data-testid=need-table] a[href$='/matches']",
            roles=("station", "civil-affairs"),
        ),  # fmt: skip
    ],
    "/referrals": [Below("referral", "[data-testid=referral-list] tbody a[href^='/referrals/']")],
    "/ledgers": [Below("ledger", LEDGER_WITH_PROJECTS)],
    "/my/projects": [Below("project-form", "main a[href='/projects/new']")],
    "/warnings": [Below("warning", "[data-testid=warnings] tbody a[href^='/warnings/']")],
    "/allocation-plans": [
        Below("plan", "[data-testid=plan-list] tbody a[href^='/allocation-plans/']"),
    ],
}

#: Pages that are the same for every role (the API reference is the same document for all),
#: measured once per screen, as the first role that has them; they are the slowest to draw.
SAME_FOR_EVERY_ROLE = {"/api-docs"}

#: Measures one page in the browser; returns its problems in words.
MEASURE = (Path(__file__).parent / "layout_checks.js").read_text(encoding="utf-8")

AXE_RUN = """
async (context) => {
  const result = await axe.run(context || document,
                               {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
}
"""


def settle(page: Page) -> None:
    """Wait for what scripts draw after load: the dashboard's charts, the API docs."""
    if page.locator("#dashboard").count():
        expect(page.locator("#dashboard")).to_have_attribute("data-charts-ready", "1")
    if page.locator("#swagger-ui").count():
        expect(page.locator(".swagger-ui .info .title")).to_be_visible()


def page_name(path: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")
    return slug or "root"


def navigation_paths(page: Page) -> list[str]:
    """The paths of every link in the navigation and the account menu, in order."""
    hrefs = page.eval_on_selector_all(
        ".mainnav a, .account a, a.bell.in-menu", "links => links.map(a => a.getAttribute('href'))"
    )
    return list(dict.fromkeys(urlparse(h).path for h in hrefs))


def check_phone_menu(page: Page) -> list[str]:
    """On a phone the navigation hides behind a menu button that opens and closes it."""
    problems = []
    button = page.get_by_role("button", name="菜单")
    nav = page.get_by_role("navigation", name="主导航")
    if not button.is_visible() or nav.is_visible():
        return ["手机上应只见菜单按钮，不见展开的导航"]
    button.click()
    if button.get_attribute("aria-expanded") != "true" or not nav.is_visible():
        problems.append("菜单按钮没有展开导航")
    button.click()
    if button.get_attribute("aria-expanded") != "false" or nav.is_visible():
        problems.append("菜单按钮没有收起导航")
    return problems


def axe_violations(page: Page, context: str | None = None) -> list[str]:
    """axe-core's WCAG 2 A and AA violations on the page (or the part ``context`` selects)."""
    return [
        f"axe {v['id']}（{v['impact']}）：{v['help']} — {'；'.join(v['targets'])}"
        for v in page.evaluate(AXE_RUN, context)
    ]


def axe_open_menus(page: Page) -> list[str]:
    """axe-core on the header with every dropdown group and the account menu open."""
    page.evaluate("document.querySelectorAll('.topbar details').forEach(d => d.open = true)")
    problems = [f"打开的菜单：{p}" for p in axe_violations(page, ".topbar")]
    page.evaluate(
        "document.querySelectorAll('.navgroup details, .account').forEach(d => d.open = false)"
    )
    return problems


#: On a phone a list (a record a row) is a column of cards: only tables of figures read across
#: (``table.cross``: the dashboard's, 需求缺口's, an allocation plan's) may scroll sideways.
SIDEWAYS_LISTS = """() => Array.from(document.querySelectorAll('.table-scroll'))
  .filter(box => box.scrollWidth > box.clientWidth + 1)
  .map(box => box.querySelector('table'))
  .filter(table => table && !table.classList.contains('cross'))
  .map(table => `表格“${table.dataset.testid || table.className}”要左右滑动才能看全`)"""


def visit(page: Page, path: str, name: str, tag: str, width: int) -> list[str]:
    response = page.goto(path)
    if response is None or response.status != 200:
        return [f"{path}: HTTP {response.status if response else '—'}"]
    settle(page)
    problems = page.evaluate(MEASURE, width >= 1280)
    if width == PHONE_WIDTH:
        problems += page.evaluate(SIDEWAYS_LISTS)
    page.screenshot(path=SCREENSHOTS / f"{tag}-{name}-{width}.png", full_page=True)
    if width == AXE_WIDTH:
        problems += axe_violations(page)
    return [f"{name}（{path}）：{p}" for p in problems]


#: The departments whose ledgers `make seed` publishes (the Makefile's DEMO_LEDGERS).
DEMO_LEDGERS = ("440000000000", "440100000000", "440200000000", "441800000000",
                "440117000000", "440232000000", "441424000000")  # fmt: skip


def refused_training_run(now: dt.datetime) -> JobRun:
    """A retraining run as the job records it (``training_run_counts``): a model refused for
    ranking two of the five case files worse, with its figures on all five."""
    checks = [CaseFileCheck(path.name, 0.801 if n < 2 else 0.914, 0.914)
              for n, path in enumerate(shipped_case_files())]  # fmt: skip
    model = LearnedModel(coef=[], intercept=0.0, name=learned_model_name(3, clock.local_date(now)))
    result = TrainingResult(model, 0.812, 0.655, False, 214, "", checks,
                            [ndcg_refusal(c) for c in checks if not c.passed])  # fmt: skip
    return JobRun(
        job_name="retrain_matcher", scheduled_at=now, started_at=now,
        finished_at=now + dt.timedelta(seconds=12), status=JobRunStatus.SUCCEEDED,
        trigger="manual", counts=training_run_counts(result),
    )  # fmt: skip


@pytest.fixture(scope="module")
def demo_site(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, engine: Engine
) -> Iterator[str]:
    """A live server on the demo as `make run` serves it: its own copy of the demo, with the
    ledgers published, a few referrals walked and a draft allocation plan of 从化区, so lists
    have rows and details to open."""
    from web import create_app

    url = side_database_url(database_url, tmp_path_factory.mktemp("layout"), "layout")
    copy_demo(engine, url).dispose()
    app = create_app(
        {"DATABASE_URL": url, "SECRET_KEY": TEST_SECRET_KEY, "DATA_KEY": TEST_DATA_KEY}
    )
    now = utcnow()
    with app.extensions["sessionmaker"]() as db:
        for region in DEMO_LEDGERS:
            build_edition(db, None, region, clock.period_of(clock.local_date(now)), now)
        load_activity(db, clock.local_date(now))
        deliver_feeds(db, now)
        create_plan(db, get_user(db, "ca_conghua"), None, {}, now=now)
        db.add(refused_training_run(now))
        db.commit()
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    app.extensions["engine"].dispose()


@pytest.fixture(scope="module")
def measured() -> set[str]:
    """The pages measured so far in this run, as ``path@width``."""
    return set()


@pytest.fixture(scope="module")
def sessions() -> dict[str, StorageState]:
    """Each role's signed-in cookies once it has signed in (a sign-in hashes a password)."""
    return {}


@pytest.mark.parametrize("size", VIEWPORTS, ids=[f"{w}x{h}" for w, h in VIEWPORTS])
@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_of_a_role_fits_the_screen_and_passes_axe(
    browser: Browser,
    demo_site: str,
    role: str,
    size: tuple[int, int],
    measured: set[str],
    sessions: dict[str, StorageState],
) -> None:
    width, height = size
    assert AXE.exists(), f"{AXE} is missing: run `make install-dev` (npm ci installs axe-core)"
    SCREENSHOTS.mkdir(exist_ok=True)
    page = new_page(
        browser,
        demo_site,
        viewport={"width": width, "height": height},
        storage_state=sessions.get(role),
    )
    if width == AXE_WIDTH:
        page.context.add_init_script(path=str(AXE))  # scripts of the page itself stay under CSP
    if role in sessions:
        page.goto("/home")
    else:
        sign_in(page, ROLES[role])
    expect(page.get_by_test_id("home-title")).to_be_visible()
    sessions[role] = page.context.storage_state()

    problems = check_phone_menu(page) if width == PHONE_WIDTH else []
    if width == AXE_WIDTH:
        problems += axe_open_menus(page)
    visited: set[str] = set()
    for path in navigation_paths(page):
        if path in SAME_FOR_EVERY_ROLE and f"{path}@{width}" in measured:
            continue
        measured.add(f"{path}@{width}")
        problems += visit(page, path, page_name(path), role, width)
        visited.add(path)
        for below in BELOW.get(path, []):
            link = page.locator(below.selector).first
            if not link.count():
                if below.roles is None or role in below.roles:
                    problems.append(f"{path}：没有可点开的{below.name}（{below.selector}）")
                continue
            target = urlparse(link.get_attribute("href") or "").path
            if target in visited:
                continue
            problems += visit(page, target, below.name, role, width)
            visited.add(target)
    problems += [f"控制台错误：{e}" for e in page.console_errors]  # type: ignore[attr-defined]
    page.context.close()
    assert visited, "no navigation links found"
    assert not problems, "\n".join(problems)


def test_the_menu_works_by_keyboard_by_button_on_phones_and_without_script(
    browser: Browser, live_server: str
) -> None:
    # An office PC: Tab reaches a group, Enter opens it, Escape closes it, Enter follows a link.
    page = new_page(browser, live_server, viewport={"width": 1366, "height": 768})
    sign_in(page, "ca_conghua")
    expect(page.get_by_test_id("home-title")).to_be_visible()
    nav = page.get_by_role("navigation", name="主导航")
    households = nav.get_by_role("link", name="困难家庭", exact=True)
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="跳到正文")).to_be_focused()
    for _ in range(4):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "需求与转介":
            break
    group = nav.locator("summary", has_text="需求与转介")
    expect(group).to_be_focused()
    expect(households).to_be_hidden()
    page.keyboard.press("Enter")
    expect(households).to_be_visible()
    page.keyboard.press("Escape")
    expect(households).to_be_hidden()
    expect(group).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(households).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/households$"))
    expect(nav.locator("summary.is-current")).to_have_text("需求与转介")
    page.context.close()

    # A phone: the menu button opens and closes the menu; Escape closes it too.
    page = new_page(browser, live_server, viewport={"width": 390, "height": 844})
    sign_in(page, "station_a")
    expect(page.get_by_test_id("home-title")).to_be_visible()
    button = page.get_by_role("button", name="菜单")
    nav = page.get_by_role("navigation", name="主导航")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(nav).to_be_hidden()
    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="待办需求")).to_be_visible()
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    expect(button).to_be_focused()
    assert page.console_errors == []  # type: ignore[attr-defined]
    page.context.close()

    # Without script the menu is a <details>: open at first, closed by its summary.
    page = new_page(
        browser, live_server, viewport={"width": 390, "height": 844}, java_script_enabled=False
    )
    sign_in(page, "station_a")
    nav = page.get_by_role("navigation", name="主导航")
    expect(page.get_by_role("button", name="菜单")).to_be_hidden()
    expect(nav.get_by_role("link", name="待办需求")).to_be_visible()
    page.locator(".sitemenu > summary").click()
    expect(nav).to_be_hidden()
    page.locator(".sitemenu > summary").click()
    nav.get_by_role("link", name="待办需求").click()
    expect(page).to_have_url(re.compile(r"/worklist$"))
    page.context.close()


def test_the_printed_half_year_report_shows_whole_tables(
    browser: Browser, live_server: str
) -> None:
    page = new_page(browser, live_server, viewport={"width": 1366, "height": 768})
    sign_in(page, "ca_guangzhou")
    go_to(page, "统计看板")
    page.get_by_role("link", name="半年度报告（可打印）").click()
    expect(page.get_by_test_id("report")).to_be_visible()
    page.emulate_media(media="print")
    overflow = page.eval_on_selector_all(
        ".table-scroll", "boxes => boxes.map(b => getComputedStyle(b).overflowX)"
    )
    assert overflow and set(overflow) == {"visible"}, overflow  # paper cannot scroll
    expect(page.get_by_role("navigation", name="主导航")).to_be_hidden()
    page.context.close()
