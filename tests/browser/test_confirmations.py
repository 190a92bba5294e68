"""In a real browser: an action that cannot be undone asks first, saying what will happen, and
取消 leaves everything as it was; a form answered with errors inside a folded section opens it
and puts the cursor on the first error."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.browser.helpers import new_page, sign_in


def test_closing_a_need_asks_first_and_an_empty_aid_form_shows_its_errors(
    browser: Browser, live_server: str
) -> None:
    page = new_page(browser, live_server, viewport={"width": 390, "height": 844})
    sign_in(page, "station_a")
    page.goto("/households")
    page.get_by_role("link", name="冯建华").click()
    needs = page.get_by_test_id("need-table")
    expect(needs).to_be_visible()
    closable = needs.locator("button[data-confirm]")
    before = closable.count()
    assert before, "冯建华 has no need left to close"

    close = closable.first
    # The reason is asked first (the form will not go without one), then the confirmation.
    close.locator("xpath=ancestor::form").locator("input[name=reason]").fill("已由其他渠道解决")
    close.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("关闭后该需求不再出现在待办需求中")
    expect(dialog.get_by_role("button", name="确认")).to_be_visible()
    dialog.get_by_role("button", name="取消").click()
    expect(dialog).to_be_hidden()
    expect(close).to_be_focused()
    expect(closable).to_have_count(before)  # nothing closed

    # 登记政府救助 is folded; saved empty, the page comes back with it open at the first error.
    aid = page.locator("details", has_text="登记政府救助")
    aid.locator("summary").click()
    aid.get_by_role("button", name="保存").click()
    aid = page.locator("details", has_text="登记政府救助")
    expect(aid).to_have_attribute("open", "")
    first_error = aid.locator(".field-error").first
    expect(first_error).to_be_visible()
    focused = page.evaluate(
        "document.activeElement.closest('.field').contains("
        "document.querySelector('details[open] .field-error'))"
    )
    assert focused, "the cursor is not in the field of the first error"
    assert [e for e in page.console_errors if "422" not in e] == []  # type: ignore[attr-defined]
    page.context.close()
