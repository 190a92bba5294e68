"""A live server on 127.0.0.1 with its own demo database, and the system Chromium.

The live server needs committed data (the browser's requests are separate transactions), so it
gets a database of its own: a SQLite file, or ``<name>_live`` beside the PostgreSQL test
database. Browser tests are skipped, with the reason, only where Chromium is not installed.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page
from sqlalchemy.engine import Engine
from werkzeug.serving import BaseWSGIServer, make_server

from tests.browser.helpers import new_page
from tests.conftest import copy_demo, side_database_url
from tests.helpers import TEST_DATA_KEY, TEST_SECRET_KEY

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if Path(CHROMIUM).exists() or shutil.which("chromium"):
        return
    reason = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    for item in items:
        if "browser" in str(item.fspath):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def live_app(database_url: str, tmp_path_factory: pytest.TempPathFactory, engine: Engine) -> Flask:
    from web import create_app

    url = side_database_url(database_url, tmp_path_factory.mktemp("live"), "live")
    copy_demo(engine, url).dispose()
    return create_app(
        {"DATABASE_URL": url, "SECRET_KEY": TEST_SECRET_KEY, "DATA_KEY": TEST_DATA_KEY}
    )


@pytest.fixture(scope="session")
def live_server(live_app: Flask) -> Iterator[str]:
    server: BaseWSGIServer = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    live_app.extensions["engine"].dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, live_server: str) -> Iterator[Page]:
    page = new_page(browser, live_server)
    yield page
    page.context.close()
