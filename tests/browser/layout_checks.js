// What tests/browser/test_layout.py measures on each page, in the page itself. Called with
// `wide` (true from 1280 px up); returns every problem found, in words, or an empty list.
(wide) => {
  const problems = [];
  const width = window.innerWidth;
  const px = (style, ...names) => names.reduce((sum, n) => sum + parseFloat(style[n]), 0);

  // The page itself never scrolls sideways (wide tables scroll inside their own box).
  const scrollWidth = document.documentElement.scrollWidth;
  if (scrollWidth > width) {
    const culprits = [...document.querySelectorAll("body *")]
      .filter((e) => e.getBoundingClientRect().right > width + 1 && !e.closest(".table-scroll"))
      .slice(0, 3)
      .map((e) => e.tagName.toLowerCase() + (e.className ? "." + e.className : ""));
    problems.push(`页面横向滚动：${scrollWidth} > ${width}（${culprits.join("、")}）`);
  }

  // Every navigation item is one line box high and on the screen: open the phone menu and
  // every group to measure what they hold, then put them back as they were.
  const header = document.querySelector(".topbar");
  const closed = [...document.querySelectorAll(".topbar details:not([open])")];
  const menuWasOpen = header.classList.contains("menu-open");
  header.classList.add("menu-open");
  closed.forEach((d) => { d.open = true; });
  const items = document.querySelectorAll(
    ".brand, .mainnav a, .mainnav summary, .account summary, .topbar .dropdown a," +
    " .topbar .dropdown button");
  for (const item of items) {
    const box = item.getBoundingClientRect();
    if (!box.width) continue;
    const style = getComputedStyle(item);
    const height = box.height - px(style, "paddingTop", "paddingBottom", "borderTopWidth",
                                   "borderBottomWidth");
    const line = parseFloat(style.lineHeight);
    const name = item.textContent.trim();
    if (height > line * 1.5) problems.push(`导航项“${name}”折行：高 ${height}，行高 ${line}`);
    if (box.right > width + 0.5) problems.push(`导航项“${name}”超出屏幕：右缘 ${box.right}`);
  }
  // From 1280 px up the header is one line: everything in it beside the brand.
  if (wide) {
    const brand = document.querySelector(".brand").getBoundingClientRect();
    for (const e of document.querySelectorAll(".mainnav > ul > li, .who > *")) {
      const r = e.getBoundingClientRect();
      if (r.width && (r.top >= brand.bottom || r.bottom <= brand.top)) {
        problems.push(`页头不在一行：“${e.textContent.trim().slice(0, 12)}”在第二行`);
      }
    }
  }
  closed.forEach((d) => { d.open = false; });
  if (!menuWasOpen) header.classList.remove("menu-open");

  // A table cell that wraps still holds three characters a line.
  for (const cell of document.querySelectorAll("table.data th, table.data td")) {
    const box = cell.getBoundingClientRect();
    const text = cell.innerText.trim();
    if (!box.width || text.length < 2) continue;
    const style = getComputedStyle(cell);
    const inner = box.width - px(style, "paddingLeft", "paddingRight");
    const lines = Math.round((box.height - px(style, "paddingTop", "paddingBottom"))
                             / parseFloat(style.lineHeight));
    if (lines > 1 && inner < 3 * parseFloat(style.fontSize)) {
      problems.push(`表格单元格过窄：“${text.slice(0, 12)}”宽 ${Math.round(inner)}px，${lines} 行`);
    }
  }
  return problems;
}
