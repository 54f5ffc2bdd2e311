"""The report's one inline script: filters, image search, and the per-image view.

It only enhances what the HTML already holds (every finding row, every flagged image's
section): without script the page is complete. It reads the finding and image facts from
``<script type="application/json" id="report-data">`` (see ``build._script_data``):

``findings`` holds one ``[code, severity, source, split, image]`` per finding, in the order
of the rows' and thumbnails' ``data-i``.

It loads nothing and writes nothing but the address bar's ``#img-...`` fragment.
"""

from __future__ import annotations

SCRIPT = r"""
(function () {
  "use strict";
  var doc = document, body = doc.body;
  var data = JSON.parse(doc.getElementById("report-data").textContent || "{}");
  var F = data.findings || [];
  var form = doc.getElementById("filters");
  var rows = Array.prototype.slice.call(doc.querySelectorAll("#findings tr[data-i], #findings figure[data-i]"));
  var rules = Array.prototype.slice.call(doc.querySelectorAll("#findings section.rule"));
  var index = Array.prototype.slice.call(doc.querySelectorAll("#findings table.index tr[data-code]"));
  var sections = Array.prototype.slice.call(doc.querySelectorAll("#images section.img"));
  var bar = doc.getElementById("viewer-bar");
  var pressed = {}, current = null;
  function el(id) { return doc.getElementById(id); }
  function val(id) { var e = el(id); return e ? e.value : ""; }

  function match(f, q) {
    var any = false, k;
    for (k in pressed) { if (pressed[k]) { any = true; break; } }
    if (any && !pressed[f[0]]) return false;
    var sev = val("f-sev"), src = val("f-source"), split = val("f-split");
    if (sev && f[1] !== sev) return false;
    if (src && (f[2] || "-") !== src) return false;
    if (split && (f[3] || "-") !== split) return false;
    if (q && (!f[4] || f[4].toLowerCase().indexOf(q) < 0)) return false;
    return true;
  }

  function apply() {
    var q = val("f-q").trim().toLowerCase();
    var active = !!(q || val("f-sev") || val("f-source") || val("f-split"));
    for (var k in pressed) { if (pressed[k]) active = true; }
    var ok = F.map(function (f) { return match(f, q); });
    var byCode = {}, byImage = {}, n = 0;
    F.forEach(function (f, i) {
      if (!ok[i]) return;
      n += 1; byCode[f[0]] = 1;
      if (f[4]) byImage[f[4]] = 1;
    });
    rows.forEach(function (r) { r.classList.toggle("fhide", !ok[+r.getAttribute("data-i")]); });
    rules.forEach(function (s) {
      var code = s.id.slice(5), show = !!byCode[code];
      s.classList.toggle("fhide", !show);
      if (active && show) {
        s.querySelector("details").open = true;
        Array.prototype.forEach.call(s.querySelectorAll("details.page"), function (d) {
          if (d.querySelector("tr[data-i]:not(.fhide)")) d.open = true;
        });
      }
    });
    index.forEach(function (r) { r.classList.toggle("fhide", !byCode[r.getAttribute("data-code")]); });
    var shown = 0;
    sections.forEach(function (s) {
      var show = !!byImage[s.getAttribute("data-image")];
      s.classList.toggle("fhide", !show);
      if (show) shown += 1;
    });
    el("f-count").textContent = n + " of " + F.length + " findings, " + shown + " of " + sections.length + " flagged images shown";
  }

  function visible() { return sections.filter(function (s) { return !s.classList.contains("fhide"); }); }

  function show(s) {
    if (current) current.classList.remove("current");
    current = s;
    s.classList.add("current");
    body.classList.add("viewing");
    bar.hidden = false;
    var list = visible(), i = list.indexOf(s);
    el("v-pos").textContent = (i < 0 ? "" : (i + 1) + " of " + list.length + ": ") + s.getAttribute("data-image");
    if (history.replaceState) history.replaceState(null, "", "#" + s.id);
    window.scrollTo(0, 0);
  }

  function step(d) {
    var list = visible();
    if (!list.length) return;
    var i = list.indexOf(current);
    var j = i < 0 ? (d > 0 ? 0 : list.length - 1) : i + d;
    if (j >= 0 && j < list.length) show(list[j]);
  }

  function close() {
    body.classList.remove("viewing");
    bar.hidden = true;
    var s = current;
    if (s) { s.classList.remove("current"); current = null; s.scrollIntoView(); }
  }

  if (form) {
    form.hidden = false;
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    form.addEventListener("input", apply);
    form.addEventListener("change", apply);
    form.addEventListener("click", function (e) {
      var b = e.target.closest("button.frule");
      if (b) {
        var code = b.getAttribute("data-code");
        pressed[code] = !pressed[code];
        b.setAttribute("aria-pressed", pressed[code] ? "true" : "false");
        apply();
      } else if (e.target.id === "f-clear") {
        pressed = {};
        Array.prototype.forEach.call(form.querySelectorAll("button.frule"), function (x) { x.setAttribute("aria-pressed", "false"); });
        form.reset();
        apply();
      }
    });
    apply();
  }

  doc.addEventListener("click", function (e) {
    var a = e.target.closest ? e.target.closest("a[href^='#img-']") : null;
    if (a) {
      var s = el(a.getAttribute("href").slice(1));
      if (s && s.classList.contains("img")) { e.preventDefault(); show(s); }
      return;
    }
    if (e.target.id === "v-next") step(1);
    else if (e.target.id === "v-prev") step(-1);
    else if (e.target.id === "v-close") close();
  });

  doc.addEventListener("keydown", function (e) {
    if (!body.classList.contains("viewing") || e.altKey || e.ctrlKey || e.metaKey) return;
    var t = e.target.tagName;
    if (t === "INPUT" || t === "SELECT" || t === "TEXTAREA") return;
    if (e.key === "ArrowRight" || e.key === "j") { step(1); e.preventDefault(); }
    else if (e.key === "ArrowLeft" || e.key === "k") { step(-1); e.preventDefault(); }
    else if (e.key === "Escape") { close(); e.preventDefault(); }
  });

  if (location.hash.indexOf("#img-") === 0) {
    var s0 = el(decodeURIComponent(location.hash.slice(1)));
    if (s0 && s0.classList.contains("img")) show(s0);
  }
  body.setAttribute("data-script", "ready");
})();
"""
