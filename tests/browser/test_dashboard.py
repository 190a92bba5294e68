"""In a real browser: a civil-affairs user opens the dashboard, the charts render, drills down
from the city to a district and downloads the figures."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
from flask import Flask
from playwright.sync_api import Browser, expect

from tests.browser.helpers import new_page, sign_in


def test_the_dashboard_draws_its_charts_drills_down_and_downloads(
    browser: Browser, live_server: str, live_app: Flask
) -> None:
    page = new_page(browser, live_server)
    sign_in(page, "ca_guangzhou")
    page.get_by_role("link", name="统计看板").click()
    expect(page.get_by_test_id("dashboard-title")).to_contain_text("广州市")
    expect(page.locator("#dashboard")).to_have_attribute("data-charts-ready", "1")
    canvases = page.locator("canvas[data-chart]")
    # A chart with figures is drawn; one with none (no referral yet) says 暂无数据. Seven:
    # the six figures, and 主动发现 by rule.
    assert canvases.count() + page.get_by_test_id("chart-empty").count() == 7
    assert page.locator("canvas[data-chart=needs_and_places]").count() == 1
    # Chart.js has drawn: each canvas has a size and the needs chart has pixels set.
    assert canvases.first.bounding_box()["height"] > 100
    painted = page.evaluate(
        "() => { const c = document.querySelector('canvas[data-chart=needs_and_places]');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " return d.some((v, i) => i % 4 === 3 && v > 0); }"
    )
    assert painted

    page.get_by_test_id("table-children").get_by_role("link", name="从化区").click()
    expect(page.get_by_test_id("dashboard-title")).to_contain_text("从化区")
    expect(page.get_by_test_id("trail")).to_contain_text("广州市")
    expect(page.locator("#dashboard")).to_have_attribute("data-charts-ready", "1")
    expect(page.get_by_test_id("table-children")).to_contain_text("温泉镇")

    with page.expect_download() as download:
        page.get_by_test_id("xlsx-needs_and_places").click()
    book = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    rows = [[c.value for c in row] for row in book.active.iter_rows()]
    assert str(rows[0][0]).startswith("从化区") and rows[1] == [
        "帮扶领域",
        "待对接需求",
        "可用名额",
        "缺口",
    ]
    assert len(rows) == 2 + 12  # a row per domain
    assert page.console_errors == []  # type: ignore[attr-defined]  # set by new_page
    page.context.close()


#: For each chart, whether its value axis counts (whole numbers) and which axis that is.
COUNT_AXES = {"needs_and_places": "y", "funnel": "x", "groups_reached": "y", "children": "y"}

AXES = """
() => Array.from(document.querySelectorAll('canvas[data-chart]')).map(c => {
  const chart = Chart.getChart(c);
  return {name: c.dataset.chart,
          types: Object.values(chart.scales).map(s => s.type),
          ticks: Object.fromEntries(Object.entries(chart.scales).map(
            ([id, s]) => [id, s.ticks.map(t => t.value)]))};
})
"""


def test_charts_have_linear_axes_whole_number_counts_and_say_when_empty(
    browser: Browser, live_server: str
) -> None:
    page = new_page(browser, live_server)
    sign_in(page, "ca_province")
    expect(page.get_by_test_id("home-title")).to_be_visible()
    for region in ("440117000000", "440300000000"):  # 从化区 has figures, 深圳市 hardly any
        page.goto(f"/dashboard?region={region}")
        expect(page.locator("#dashboard")).to_have_attribute("data-charts-ready", "1")
        for chart in page.evaluate(AXES):
            assert "logarithmic" not in chart["types"], chart
            axis = COUNT_AXES.get(chart["name"])
            if axis:
                assert all(float(t).is_integer() for t in chart["ticks"][axis]), chart
    # 深圳市: the charts with nothing to draw say so instead of an empty frame.
    empty = page.get_by_test_id("chart-empty")
    expect(empty.first).to_have_text("暂无数据")
    assert empty.count() + page.locator("canvas[data-chart]").count() == 7
    assert page.console_errors == []  # type: ignore[attr-defined]  # set by new_page
    page.context.close()
