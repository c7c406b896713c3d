// Items table: search, filter, sort and page the rows embedded as JSON (no network, no library).
(function () {
  "use strict";
  var rows = JSON.parse(document.getElementById("rows-data").textContent);
  var body = document.getElementById("items-body");
  var search = document.getElementById("items-search");
  var filter = document.getElementById("items-decision");
  var info = document.getElementById("items-info");
  var pageSize = 50, page = 0, sortKey = null, sortDir = 1, view = rows;

  function esc(s) {
    return String(s === undefined || s === null ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  function text(r) {
    if (r._t === undefined) { r._t = JSON.stringify(r).toLowerCase(); }
    return r._t;
  }
  function topScore(r) {
    var best = -1;
    (r.wk || []).forEach(function (w) { if (typeof w.s === "number" && w.s > best) { best = w.s; } });
    return best;
  }
  var keys = {
    d: function (r) { return r.d; },
    id: function (r) { return r.id; },
    md: function (r) { return r.md; },
    why: function (r) { return (r.why || []).join(" "); },
    wk: function (r) { return topScore(r); },
    sg: function (r) { return (r.sg || []).length; }
  };
  function works(r) {
    return (r.wk || []).map(function (w) {
      var s = "<div class='ev'><b>" + esc(w.t || w.w) + "</b> <span class='muted'>" + esc(w.w) +
        "</span> — " + esc(w.h) + " · " + esc(w.m) + " score " + esc(w.s);
      if (w.sp) { s += " · span " + esc(w.sp); }
      if (w.tf !== undefined) { s += " · time ×" + esc(w.tf) + " pitch ×" + esc(w.pf); }
      if (w.q) { s += "<br><q>" + esc(w.q) + "</q>"; }
      return s + "</div>";
    }).join("");
  }
  function signals(r) {
    return (r.sg || []).map(function (g) {
      var s = "<div class='ev'><b>" + esc(g.c) + "</b> <code>" + esc(g.l) + "</code>";
      if (g.st !== undefined) { s += " status " + esc(g.st); }
      if (g.r) { s += "<br>rule: <code>" + esc(g.r) + "</code>"; }
      return s + "</div>";
    }).join("");
  }
  function render() {
    var start = page * pageSize, html = [];
    view.slice(start, start + pageSize).forEach(function (r) {
      html.push("<tr><td><span class='badge " + esc(r.d) + "'>" + esc(r.d) + "</span></td><td><code>" +
        esc(r.id) + "</code>" + (r.at && r.at !== r.id ? "<br><span class='muted'>" + esc(r.at) + "</span>" : "") +
        "</td><td>" + esc(r.md) + "</td><td>" + (r.why || []).map(esc).join("<br>") + "</td><td>" +
        works(r) + "</td><td>" + signals(r) + "</td></tr>");
    });
    body.innerHTML = html.join("");
    var pages = Math.max(1, Math.ceil(view.length / pageSize));
    info.textContent = view.length + " of " + rows.length + " rows · page " + (page + 1) + " of " + pages;
  }
  function apply() {
    var q = search.value.trim().toLowerCase(), d = filter.value;
    view = rows.filter(function (r) {
      return (!d || r.d === d) && (!q || text(r).indexOf(q) >= 0);
    });
    if (sortKey) {
      var f = keys[sortKey];
      view.sort(function (a, b) {
        var x = f(a), y = f(b);
        return (x < y ? -1 : x > y ? 1 : 0) * sortDir;
      });
    }
    page = 0;
    render();
  }
  search.addEventListener("input", apply);
  filter.addEventListener("change", apply);
  document.getElementById("items-prev").addEventListener("click", function () {
    if (page > 0) { page -= 1; render(); }
  });
  document.getElementById("items-next").addEventListener("click", function () {
    if ((page + 1) * pageSize < view.length) { page += 1; render(); }
  });
  Array.prototype.forEach.call(document.querySelectorAll("#items th.sortable"), function (th) {
    th.addEventListener("click", function () {
      var k = th.getAttribute("data-key");
      sortDir = sortKey === k ? -sortDir : 1;
      sortKey = k;
      Array.prototype.forEach.call(document.querySelectorAll("#items th.sortable"), function (o) {
        o.classList.remove("asc", "desc");
      });
      th.classList.add(sortDir > 0 ? "asc" : "desc");
      apply();
    });
  });
  apply();
})();
