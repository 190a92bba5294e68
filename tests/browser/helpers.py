"""Shared steps of the browser tests."""

from __future__ import annotations

from playwright.sync_api import Browser, ConsoleMessage, Page

from tests.helpers import DEMO_PASSWORD


def new_page(browser: Browser, live_server: str) -> Page:
    """A page in a fresh browser context that records console errors."""
    context = browser.new_context(base_url=live_server, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", record)
    page.console_errors = errors  # type: ignore[attr-defined]  # read by the tests
    return page


def sign_in(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
