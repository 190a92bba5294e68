"""Shared steps of the browser tests."""

from __future__ import annotations

from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    StorageState,
    ViewportSize,
    expect,
)

from tests.helpers import DEMO_PASSWORD


def new_page(
    browser: Browser,
    live_server: str,
    viewport: ViewportSize | None = None,
    storage_state: StorageState | None = None,
    java_script_enabled: bool = True,
) -> Page:
    """A page in a fresh browser context that records console errors: at ``viewport``,
    signed in as ``storage_state`` says, with or without script."""
    context = browser.new_context(
        base_url=live_server,
        locale="zh-CN",
        viewport=viewport,
        storage_state=storage_state,
        java_script_enabled=java_script_enabled,
    )
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


def go_to(page: Page, name: str) -> None:
    """Follow the navigation link ``name`` as a user would: open the phone menu if it is
    closed, then the dropdown group holding the link, then click it."""
    page.locator("#site-menu").wait_for(state="attached")  # a signed-in page has loaded
    menu = page.get_by_test_id("menu-button")
    if menu.is_visible() and menu.get_attribute("aria-expanded") != "true":
        menu.click()
    nav = page.get_by_role("navigation", name="主导航")
    link = nav.get_by_role("link", name=name, exact=True)
    if not link.is_visible():
        by_name = page.get_by_role("link", name=name, exact=True, include_hidden=True)
        nav.locator("details", has=by_name).locator("summary").click()
    link.click()


def sign_out(page: Page) -> None:
    """Sign out through the account menu."""
    if not page.get_by_role("button", name="退出").is_visible():
        page.get_by_test_id("current-user").click()
    page.get_by_role("button", name="退出").click()


def confirm(page: Page, says: str = "") -> None:
    """Answer 确认 in the confirmation dialog an irreversible action opens, after checking it
    says ``says`` about what will happen."""
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    if says:
        expect(dialog).to_contain_text(says)
    dialog.get_by_role("button", name="确认").click()
