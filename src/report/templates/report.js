/* report.html's only script: sorts, filters and pages the findings table and
   the agent list, 100 at a time. Without it the page is complete, only long.

   Items are server-rendered, escaped markup. In a long list only the first
   page is live DOM; the rest sits in a <noscript>, which a browser running
   this script keeps as one inert string (fast to load) and a browser without
   scripts renders as usual. The script cuts that string at item start tags
   (escaped data cannot contain "<") and turns a page at a time into nodes.
   Nothing typed, nor the URL, is ever parsed as markup. */
(function () {
  "use strict";
  var SEVERITY_RANK = { critical: 0, high: 1, medium: 2, low: 3, info: 4, none: 5 };
  var ENTITIES = { "&lt;": "<", "&gt;": ">", "&quot;": "\"", "&#x27;": "'", "&#x2f;": "/", "&#39;": "'", "&amp;": "&" };
  var root = document.documentElement;
  var each = function (list, f) { Array.prototype.forEach.call(list, f); };

  function decode(text) {
    return text.replace(/&(lt|gt|quot|amp|#x27|#x2f|#39);/g, function (e) { return ENTITIES[e]; });
  }
  function plain(markup) {
    return decode(markup.replace(/<[^>]*>/g, ""));
  }

  /* One row or panel: live (el) or still markup (html) until first shown. */
  function Item(index, el, html) {
    this.index = index;
    this.el = el;
    this.html = html;
    this.attrs = null;
    this.text = null;
    this.cells = null;
  }
  Item.prototype.attr = function (name) {
    if (this.el) return this.el.getAttribute(name);
    if (!this.attrs) {
      this.attrs = {};
      var tag = this.html.slice(0, this.html.indexOf(">"));
      var re = / ([a-z-]+)="([^"]*)"/g, m;
      while ((m = re.exec(tag))) this.attrs[m[1]] = decode(m[2]);
    }
    return this.attrs.hasOwnProperty(name) ? this.attrs[name] : null;
  };
  Item.prototype.searchText = function () {
    if (this.text === null) this.text = (this.el ? this.el.textContent : plain(this.html)).toLowerCase();
    return this.text;
  };
  Item.prototype.cell = function (col) {
    if (!this.cells) {
      this.cells = this.el
        ? Array.prototype.map.call(this.el.cells, function (c) { return c.textContent; })
        : this.html.split("<td").slice(1).map(function (c) { return plain("<td" + c); });
    }
    return (this.cells[col] || "").trim().toLowerCase();
  };

  /* Turns markup items into nodes, one parse for the lot. The <template>
     parser is inert (no scripts, no loads) and accepts table rows. */
  function materialize(items) {
    var todo = items.filter(function (it) { return !it.el; });
    if (!todo.length) return;
    var template = document.createElement("template");
    template.innerHTML = todo.map(function (it) { return it.html; }).join("");
    var nodes = template.content.children;
    for (var i = 0; i < todo.length; i++) {
      todo[i].el = nodes[i];
      todo[i].html = null;
    }
  }

  /* The markup items of a <noscript data-pg-rest="tr">: cut at each "<tr ". */
  function restItems(noscript, first) {
    var tag = noscript.getAttribute("data-pg-rest");
    var text = noscript.textContent;
    var open = "<" + tag + " ", close = "</" + tag + ">";
    var parts = text.split(open).slice(1);
    return parts.map(function (part, i) {
      var html = open + part;
      return new Item(first + i, null, html.slice(0, html.lastIndexOf(close) + close.length));
    });
  }

  function Pager(section) {
    var self = this;
    this.section = section;
    this.size = Number(section.getAttribute("data-page")) || 100;
    this.noun = section.getAttribute("data-pager");
    this.box = section.querySelector(".pg-items");
    this.items = Array.prototype.map.call(this.box.children, function (el, i) { return new Item(i, el, null); });
    var rest = section.querySelector("noscript[data-pg-rest]");
    if (rest) {
      this.items = this.items.concat(restItems(rest, this.items.length));
      rest.parentNode.removeChild(rest);
    }
    each(section.querySelectorAll(".pg-rest-note"), function (note) { note.hidden = true; });
    this.byId = null;
    this.order = this.items.slice();
    this.shown = this.order;
    this.page = 0;
    this.form = section.querySelector(".pg-controls");
    this.search = this.form.querySelector("input[type=search]");
    this.selects = this.form.querySelectorAll("select");
    this.status = section.querySelector(".pg-status");
    this.navs = section.querySelectorAll(".pg-nav");

    var timer = null;
    this.search.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { self.apply(); }, 200);
    });
    this.form.addEventListener("change", function () { self.apply(); });
    this.form.addEventListener("submit", function (e) { e.preventDefault(); self.apply(); });
    each(this.navs, function (nav) {
      nav.addEventListener("click", function (e) {
        var go = e.target.getAttribute && e.target.getAttribute("data-go");
        if (!go) return;
        self.page += go === "next" ? 1 : -1;
        self.render();
        section.scrollIntoView();
      });
    });
    this.headers = section.querySelectorAll("th[data-sort]");
    each(this.headers, function (th) {
      var button = document.createElement("button");
      button.type = "button";
      while (th.firstChild) button.appendChild(th.firstChild);
      th.appendChild(button);
      button.addEventListener("click", function () { self.sortBy(th); });
    });

    this.form.hidden = false;
    this.status.hidden = false;
    this.box.classList.add("pg-on");
    this.render();
  }

  Pager.prototype.apply = function () {
    var query = this.search.value.trim().toLowerCase();
    var filters = [];
    /* A select filters on a table column (data-col) or an item attribute (data-key). */
    each(this.selects, function (s) {
      if (!s.value) return;
      var col = s.getAttribute("data-col");
      var key = "data-" + s.getAttribute("data-key");
      filters.push([s.value, col === null
        ? function (item) { return item.attr(key); }
        : function (item) { return item.cell(Number(col)); }]);
    });
    this.shown = query || filters.length
      ? this.order.filter(function (item) {
        for (var i = 0; i < filters.length; i++) {
          var have = filters[i][1](item), want = filters[i][0];
          if (want === "*" ? have === "none" : have !== want) return false;
        }
        return !query || item.searchText().indexOf(query) !== -1;
      })
      : this.order;
    this.page = 0;
    this.render();
  };

  Pager.prototype.reset = function () {
    this.search.value = "";
    each(this.selects, function (s) { s.value = ""; });
    this.apply();
  };

  Pager.prototype.sortBy = function (th) {
    var col = th.cellIndex;
    var bySeverity = th.getAttribute("data-sort") === "sev";
    var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
    each(this.headers, function (h) { h.setAttribute("aria-sort", "none"); });
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
    var keys = this.items.map(function (it) {
      return bySeverity ? SEVERITY_RANK[it.cell(col)] : it.cell(col);
    });
    this.order.sort(function (a, b) {
      var x = keys[a.index], y = keys[b.index];
      if (x < y) return -dir;
      if (x > y) return dir;
      return a.index - b.index;
    });
    this.apply();
  };

  Pager.prototype.render = function () {
    var total = this.shown.length;
    var pages = Math.max(1, Math.ceil(total / this.size));
    this.page = Math.min(Math.max(this.page, 0), pages - 1);
    var from = this.page * this.size;
    var slice = this.shown.slice(from, from + this.size);
    this.fill(slice);
    var of = total !== this.items.length ? " matching the filters (of " + this.items.length + ")" : "";
    this.status.textContent = total
      ? "Showing " + (from + 1) + "–" + (from + slice.length) + " of " + total + " " + this.noun + of + "."
      : "No " + this.noun + " match the filters (of " + this.items.length + ").";
    var self = this;
    each(this.navs, function (nav) {
      nav.hidden = pages < 2;
      nav.querySelector("[data-go=prev]").disabled = self.page === 0;
      nav.querySelector("[data-go=next]").disabled = self.page >= pages - 1;
      nav.querySelector(".pg-page").textContent = "Page " + (self.page + 1) + " of " + pages;
    });
  };

  Pager.prototype.fill = function (items) {
    materialize(items);
    var fragment = document.createDocumentFragment();
    items.forEach(function (it) { fragment.appendChild(it.el); });
    this.box.textContent = "";
    this.box.appendChild(fragment);
  };

  /* Brings the item with this id onto the page, clearing filters that hide it. */
  Pager.prototype.reveal = function (id) {
    if (!this.byId) {
      /* Built on first use: reading 40,000 ids would slow every page load. */
      var byId = this.byId = Object.create(null);
      this.items.forEach(function (it) {
        var key = it.attr("id");
        if (key) byId[key] = it;
      });
    }
    var item = this.byId[id];
    if (!item) return null;
    var at = this.shown.indexOf(item);
    if (at === -1) {
      this.reset();
      at = this.shown.indexOf(item);
    }
    this.page = Math.floor(at / this.size);
    this.render();
    return item.el;
  };

  function reveal(id, pagers) {
    var el = null;
    for (var i = 0; i < pagers.length && !el; i++) el = pagers[i].reveal(id);
    el = el || document.getElementById(id);
    if (!el) return false;
    if (el.tagName === "DETAILS") el.open = true;
    el.scrollIntoView({ block: "center" });
    el.classList.remove("flash");
    void el.offsetWidth;
    el.classList.add("flash");
    return true;
  }

  function hashId() {
    try {
      return decodeURIComponent(location.hash.slice(1));
    } catch (e) {
      return "";
    }
  }

  var pagers = Array.prototype.map.call(document.querySelectorAll("[data-pager]"), function (s) {
    return new Pager(s);
  });

  /* In-page links to an item on another page (or filtered out) would go nowhere. */
  document.addEventListener("click", function (e) {
    var a = e.target.closest ? e.target.closest("a[href^='#']") : null;
    if (!a || e.ctrlKey || e.metaKey || e.shiftKey) return;
    var id = a.getAttribute("href").slice(1);
    if (id && reveal(id, pagers)) {
      e.preventDefault();
      if (history.replaceState) history.replaceState(null, "", "#" + id);
    }
  });
  window.addEventListener("hashchange", function () { reveal(hashId(), pagers); });
  if (location.hash) reveal(hashId(), pagers);

  /* Printing shows everything, expanded; the screen view comes back after. */
  var closed = [];
  window.addEventListener("beforeprint", function () {
    pagers.forEach(function (p) { p.fill(p.order); });
    closed = Array.prototype.filter.call(document.querySelectorAll("details"), function (d) { return !d.open; });
    closed.forEach(function (d) { d.open = true; });
  });
  window.addEventListener("afterprint", function () {
    closed.forEach(function (d) { d.open = false; });
    closed = [];
    pagers.forEach(function (p) { p.render(); });
  });

  root.setAttribute("data-enhanced", "true");
})();
