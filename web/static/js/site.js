// Every page's behaviour, loaded in <head> so that the "js" class is set before the first paint:
// the phone menu button, the navigation's dropdown groups, wide tables that scroll inside
// their box, a confirmation before actions that cannot be undone, and errors brought into view. Without this script the menu is a <details> that starts open and the groups are
// plain <details>, so every page still works (Content-Security-Policy: no inline script).
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function each(selector, fn) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), fn);
  }

  function setupMenu() {
    var button = document.querySelector(".menu-button");
    var menu = button && document.getElementById(button.getAttribute("aria-controls"));
    if (!menu) { return; }
    var header = button.closest("header");
    menu.open = true;  // from now on the button, not the <details>, shows and hides it
    function show(open) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
      header.classList.toggle("menu-open", open);
    }
    button.addEventListener("click", function () {
      show(button.getAttribute("aria-expanded") !== "true");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true"
          && !document.querySelector(".topbar details details[open]")
          && getComputedStyle(button).display !== "none") {
        show(false);
        button.focus();
      }
    });
  }

  // Dropdown groups are <details>: the keyboard opens them with Enter or Space on the summary.
  // One is open at a time; Escape, a click elsewhere or moving focus elsewhere closes it.
  function setupGroups() {
    var groups = document.querySelectorAll(".topbar details:not(.sitemenu)");
    if (!groups.length) { return; }
    function closeAll(except) {
      Array.prototype.forEach.call(groups, function (g) {
        if (g !== except && g.open) { g.open = false; }
      });
    }
    Array.prototype.forEach.call(groups, function (group) {
      group.addEventListener("toggle", function () {
        if (group.open) { closeAll(group); }
      });
      group.addEventListener("focusout", function (event) {
        if (event.relatedTarget && !group.contains(event.relatedTarget)) { group.open = false; }
      });
      group.addEventListener("keydown", function (event) {
        if (event.key === "Escape" && group.open) {
          event.stopPropagation();
          group.open = false;
          group.querySelector("summary").focus();
        }
      });
    });
    document.addEventListener("click", function (event) {
      var inside = event.target.closest && event.target.closest(".topbar details:not(.sitemenu)");
      closeAll(inside);
    });
  }

  // A table box that scrolls sideways is made a named, focusable region, so keyboard users can
  // scroll it too; one that fits is left alone.
  function markScrollBoxes() {
    each(".table-scroll", function (box) {
      if (box.scrollWidth > box.clientWidth + 1) {
        if (!box.hasAttribute("tabindex")) { box.setAttribute("tabindex", "0"); }
        box.setAttribute("role", "region");
        if (!box.hasAttribute("aria-label")) { box.setAttribute("aria-label", labelFor(box)); }
      } else {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
      }
    });
  }

  function labelFor(box) {
    var heading = box.previousElementSibling;
    while (heading && !/^H[1-6]$/.test(heading.tagName)) {
      heading = heading.previousElementSibling;
    }
    var name = heading ? heading.textContent.trim() : document.title.split(" · ")[0];
    var hint = english() ? " (table, scrolls sideways)"
                                                      : "（表格，可左右滚动）";
    return name + hint;
  }

  function english() {
    return document.documentElement.lang === "en";
  }

  // A form, or the button that submits it, carrying data-confirm="summary" asks first: a modal
  // <dialog> names the action, says what will happen and offers 确认 / 取消. Without script the
  // form submits at once, as it always did.
  var dialog = null;

  function confirmDialog() {
    if (dialog) { return dialog; }
    dialog = document.createElement("dialog");
    dialog.className = "confirm";
    dialog.setAttribute("aria-labelledby", "confirm-title");
    dialog.setAttribute("aria-describedby", "confirm-text");
    dialog.setAttribute("data-testid", "confirm-dialog");
    var title = document.createElement("h2");
    title.id = "confirm-title";
    var text = document.createElement("p");
    text.id = "confirm-text";
    var actions = document.createElement("div");
    actions.className = "confirm-actions";
    var ok = document.createElement("button");
    ok.type = "button";
    ok.className = "primary";
    ok.value = "ok";
    ok.textContent = english() ? "Confirm" : "确认";
    var cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "secondary";
    cancel.value = "cancel";
    cancel.textContent = english() ? "Cancel" : "取消";
    actions.appendChild(ok);
    actions.appendChild(cancel);
    dialog.appendChild(title);
    dialog.appendChild(text);
    dialog.appendChild(actions);
    ok.addEventListener("click", function () { dialog.close("ok"); });
    cancel.addEventListener("click", function () { dialog.close("cancel"); });
    document.body.appendChild(dialog);
    return dialog;
  }

  function setupConfirmations() {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      var submitter = event.submitter || null;
      var summary = (submitter && submitter.getAttribute("data-confirm"))
                    || form.getAttribute("data-confirm");
      if (!summary) { return; }
      if (form.getAttribute("data-confirmed") === "1") {
        form.removeAttribute("data-confirmed");
        return;
      }
      event.preventDefault();
      var box = confirmDialog();
      var name = submitter ? submitter.textContent.trim() : "";
      box.querySelector("#confirm-title").textContent =
        name ? (english() ? name + "?" : "确认" + name + "？") : (english() ? "Confirm" : "请确认");
      box.querySelector("#confirm-text").textContent = summary;
      box.returnValue = "";
      box.onclose = function () {
        box.onclose = null;
        if (box.returnValue !== "ok") {
          if (submitter) { submitter.focus(); }
          return;
        }
        form.setAttribute("data-confirmed", "1");
        if (form.requestSubmit) {
          form.requestSubmit(submitter || undefined);
        } else {
          form.submit();
        }
      };
      box.showModal();
      // The way out that changes nothing takes the focus: Enter alone never commits.
      box.querySelector("button[value=cancel]").focus();
    }, true);
  }

  // A page answered with errors: open the folded section that holds the first one and put the
  // cursor in its field, so the error is where the eye already is.
  function revealFirstError() {
    var error = document.querySelector("main .field-error, main [aria-invalid=true]");
    if (!error) { return; }
    for (var node = error.parentElement; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") { node.open = true; }
    }
    var holder = error.closest(".field, fieldset, form") || error.parentElement;
    var field = holder && holder.querySelector(
      "input:not([type=hidden]), select, textarea");
    if (field) {
      field.focus();
    } else {
      error.setAttribute("tabindex", "-1");
      error.focus();
    }
    error.scrollIntoView({block: "center"});
  }

  // Tables marked "stack" become cards on phones (CSS): each cell carries its column's header.
  function labelStackedCells() {
    each("table.stack", function (table) {
      // The table's own header row: a table inside a cell has headers of its own.
      var head = table.tHead && table.tHead.rows[0];
      var headers = Array.prototype.map.call(head ? head.cells : [], function (th) {
        return th.textContent.trim();
      });
      Array.prototype.forEach.call(table.tBodies, function (body) {
        Array.prototype.forEach.call(body.rows, function (row) {
          if (row.cells.length !== headers.length) { return; }  // "nothing here" rows
          Array.prototype.forEach.call(row.cells, function (cell, i) {
            if (headers[i]) { cell.setAttribute("data-label", headers[i]); }
          });
        });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    labelStackedCells();
    setupMenu();
    setupGroups();
    setupConfirmations();
    markScrollBoxes();
    revealFirstError();
    var pending = null;
    window.addEventListener("resize", function () {
      clearTimeout(pending);
      pending = setTimeout(markScrollBoxes, 150);
    });
    // Tables inside a <details> only have a width once it opens.
    document.addEventListener("toggle", markScrollBoxes, true);
  });
})();
