"""In a real browser, the navigation: dropdown groups work with the keyboard, a menu button
opens it on phones, and without script it is still there."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from tests.browser.helpers import new_page, sign_in


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
