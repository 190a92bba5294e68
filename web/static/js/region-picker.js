/* The region picker: 省 → 市 → 县 → 乡镇 → 村 lists fed by /regions/children, and a search by
   name fed by /regions/search. It keeps the chosen code(s) in the form's own field, which
   without this script stays a plain code input. */
(function () {
  "use strict";
  var ORDER = ["province", "city", "county", "township", "village"];
  var SEPARATOR = "、";
  var serial = 0;

  function fetchJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : []; });
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) node.textContent = text;
    return node;
  }

  function Picker(box) {
    this.box = box;
    this.input = box.querySelector("input");
    this.root = box.dataset.root;
    this.deepest = ORDER.indexOf(box.dataset.deepest || "village");
    this.multiple = box.hasAttribute("data-multiple");
    this.levels = JSON.parse(box.dataset.levelLabels || "{}");
    this.names = JSON.parse(box.dataset.names || "{}");
    this.id = "rp" + (++serial);
    this.build();
  }

  Picker.prototype.text = function (key) { return this.box.dataset[key] || ""; };

  Picker.prototype.build = function () {
    var self = this;
    var label = this.box.querySelector("label");
    this.input.type = "hidden";
    var group = el("div", { role: "group", class: "region-picker-body", "aria-labelledby": this.id + "-legend" });
    var legend = el("span", { id: this.id + "-legend", class: "region-picker-legend" }, label ? label.textContent : "");
    if (label) label.hidden = true;
    group.appendChild(legend);
    this.lists = el("div", { class: "region-picker-lists" });
    group.appendChild(this.lists);
    var searchId = this.id + "-search";
    var searchRow = el("div", { class: "region-picker-search" });
    searchRow.appendChild(el("label", { for: searchId }, this.text("labelSearch")));
    this.search = el("input", { id: searchId, type: "search", autocomplete: "off", "data-testid": "region-search" });
    searchRow.appendChild(this.search);
    group.appendChild(searchRow);
    this.results = el("ul", { class: "region-picker-results", "aria-live": "polite", "data-testid": "region-results" });
    group.appendChild(this.results);
    if (this.multiple) {
      this.add = el("button", { type: "button", class: "small secondary", "data-testid": "region-add" }, this.text("labelAdd"));
      this.add.addEventListener("click", function () { self.addCurrent(); });
      group.appendChild(this.add);
      this.chips = el("ul", { class: "region-picker-chips", "data-testid": "region-chips" });
      group.appendChild(this.chips);
      this.renderChips();
    } else {
      this.picked = el("p", { class: "muted", "aria-live": "polite", "data-testid": "region-picked" });
      group.appendChild(this.picked);
    }
    this.input.insertAdjacentElement("afterend", group);
    var timer = null;
    this.search.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { self.find(self.search.value.trim()); }, 250);
    });
    this.search.addEventListener("keydown", function (e) { if (e.key === "Enter") e.preventDefault(); });
    var path = (this.box.dataset.path || "").split(",").filter(Boolean);
    this.openPath(path);
  };

  Picker.prototype.current = null;

  Picker.prototype.codes = function () {
    return this.input.value.split(SEPARATOR).map(function (s) { return s.trim(); }).filter(Boolean);
  };

  Picker.prototype.renderChips = function () {
    var self = this;
    this.chips.textContent = "";
    this.codes().forEach(function (code) {
      var li = el("li", { class: "tag" }, (self.names[code] || code) + " ");
      var remove = el("button", { type: "button", class: "link", "aria-label": self.text("labelRemove") + " " + (self.names[code] || code) }, "×");
      remove.addEventListener("click", function () {
        self.input.value = self.codes().filter(function (c) { return c !== code; }).join(SEPARATOR);
        self.renderChips();
      });
      li.appendChild(remove);
      self.chips.appendChild(li);
    });
  };

  Picker.prototype.addCurrent = function () {
    if (!this.current) return;
    var codes = this.codes();
    if (codes.indexOf(this.current.code) < 0) codes.push(this.current.code);
    this.names[this.current.code] = this.current.label;
    this.input.value = codes.join(SEPARATOR);
    this.renderChips();
  };

  Picker.prototype.choose = function (choice) {
    this.current = choice;
    if (this.multiple) return;
    this.input.value = choice ? choice.code : "";
    this.picked.textContent = choice ? this.text("labelPicked") + "：" + choice.label : "";
    this.input.dispatchEvent(new Event("change", { bubbles: true }));
  };

  /* The list below `parent` at position `depth`, then the rest of `path` opened in turn. */
  Picker.prototype.openList = function (parent, depth, path) {
    var self = this;
    while (this.lists.children.length > depth) this.lists.removeChild(this.lists.lastChild);
    return fetchJson(this.box.dataset.childrenUrl + "?parent=" + encodeURIComponent(parent)).then(function (items) {
      if (!items.length || ORDER.indexOf(items[0].level) > self.deepest) return;
      var id = self.id + "-l" + depth;
      var wrap = el("div", { class: "region-picker-level" });
      wrap.appendChild(el("label", { for: id }, self.levels[items[0].level] || items[0].level_label));
      var select = el("select", { id: id, "data-level": items[0].level, "data-testid": "region-" + items[0].level });
      select.appendChild(el("option", { value: "" }, "—" + self.text("labelChoose") + "—"));
      items.forEach(function (item) {
        var option = el("option", { value: item.code }, item.name);
        option.dataset.children = item.has_children ? "1" : "";
        option.dataset.label = (item.path ? item.path + " " : "") + item.name;
        select.appendChild(option);
      });
      wrap.appendChild(select);
      self.lists.appendChild(wrap);
      select.addEventListener("change", function () { self.changed(select, depth); });
      if (path && path.length) {
        select.value = path[0];
        if (select.value === path[0]) return self.changed(select, depth, path.slice(1));
      }
    });
  };

  Picker.prototype.changed = function (select, depth, rest) {
    var option = select.options[select.selectedIndex];
    if (!select.value) {
      while (this.lists.children.length > depth + 1) this.lists.removeChild(this.lists.lastChild);
      var above = depth > 0 ? this.lists.children[depth - 1].querySelector("select") : null;
      var up = above && above.options[above.selectedIndex];
      this.choose(up && up.value ? { code: up.value, label: up.dataset.label } : this.rootChoice());
      return Promise.resolve();
    }
    this.choose({ code: select.value, label: option.dataset.label });
    if (option.dataset.children) return this.openList(select.value, depth + 1, rest);
    while (this.lists.children.length > depth + 1) this.lists.removeChild(this.lists.lastChild);
    return Promise.resolve();
  };

  /* The root itself, as chosen when no list below it has a choice. */
  Picker.prototype.rootChoice = function () {
    return { code: this.root, label: this.box.dataset.rootLabel || this.root };
  };

  Picker.prototype.openPath = function (path) {
    var self = this;
    var start = this.input.value;
    this.openList(this.root, 0, path).then(function () {
      if (self.multiple || path.length) return;
      self.choose(start === self.root ? self.rootChoice() : null);
    });
  };

  Picker.prototype.find = function (text) {
    var self = this;
    this.results.textContent = "";
    if (!text) return;
    var url = this.box.dataset.searchUrl + "?q=" + encodeURIComponent(text) + "&within=" + encodeURIComponent(this.root);
    fetchJson(url).then(function (items) {
      self.results.textContent = "";
      items = items.filter(function (item) { return ORDER.indexOf(item.level) <= self.deepest && item.code !== self.root; });
      if (!items.length) {
        self.results.appendChild(el("li", { class: "muted" }, self.text("labelNone")));
        return;
      }
      items.forEach(function (item) {
        var li = el("li");
        var label = (item.path ? item.path + " " : "") + item.name;
        var button = el("button", { type: "button", class: "link", "data-code": item.code }, label);
        button.addEventListener("click", function () { self.pickFound(item.code); });
        li.appendChild(button);
        self.results.appendChild(li);
      });
    });
  };

  /* Open the lists at a code found by name: its ancestors below the root, then the code. */
  Picker.prototype.pickFound = function (code) {
    var path = [];
    [4, 6, 9, 12].forEach(function (width) {
      var c = (code.slice(0, width) + "000000000000").slice(0, 12);
      if (path.indexOf(c) < 0) path.push(c);
    });
    var root = this.root;
    var rootIndex = path.indexOf(root);
    path = path.slice(rootIndex + 1).filter(function (c) { return c !== root; });
    this.results.textContent = "";
    this.search.value = "";
    var self = this;
    this.openList(this.root, 0, path).then(function () {
      var last = self.lists.lastChild && self.lists.lastChild.querySelector("select");
      if (last) last.focus();
    });
  };

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.fetch) return;
    document.querySelectorAll("[data-region-picker]").forEach(function (box) { new Picker(box); });
  });
})();
