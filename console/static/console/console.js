/* The staff console's small scripts: the user's time zone, copy buttons, JSON highlighting, live job progress. */
(function () {
  "use strict";
  // The server shows times in the browser's zone: tell it once (a cookie read by console.middleware).
  try {
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (tz && document.cookie.indexOf("hub_tz=" + tz) === -1) {
      document.cookie = "hub_tz=" + encodeURIComponent(tz) + "; path=/; max-age=31536000; samesite=lax";
    }
  } catch (e) { /* no Intl: times stay in the server's zone */ }

  function escapeHtml(s) {
    return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  function highlight(pre) {
    var text = pre.textContent;
    var html = escapeHtml(text).replace(
      /("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g,
      function (m, str, colon, lit, num) {
        if (str) { return colon ? '<span class="k">' + str + "</span>" + colon : '<span class="s">' + str + "</span>"; }
        if (lit) { return '<span class="b">' + lit + "</span>"; }
        return '<span class="n">' + num + "</span>";
      });
    pre.innerHTML = html;
  }

  function bar(el, data) {
    var fill = el.querySelector(".hub-progress-fill");
    var text = el.querySelector(".hub-progress-text");
    fill.classList.toggle("indeterminate", data.percent === null && data.active);
    fill.classList.toggle("done", data.status === "completed");
    fill.classList.toggle("failed", data.status === "failed" || data.status === "cancelled");
    fill.style.width = data.percent !== null ? data.percent + "%" : (data.active ? "" : "100%");
    text.textContent = data.text;
    el.dataset.status = data.status;
    var badge = document.querySelector('[data-job-status="' + el.dataset.jobId + '"]');
    if (badge) { badge.innerHTML = data.badge; }
    var counts = document.querySelector('[data-job-counts-cell="' + el.dataset.jobId + '"]');
    if (counts && data.counts) { counts.innerHTML = data.counts; }
  }
  function poll() {
    var live = document.querySelectorAll(".hub-progress[data-active='1']");
    if (!live.length) { return; }
    live.forEach(function (el) {
      fetch(el.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          bar(el, data);
          if (!data.active) { el.dataset.active = "0"; }
        })
        .catch(function () { /* try again next round */ });
    });
    window.setTimeout(poll, 1500);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("pre.hub-json-code").forEach(highlight);
    document.querySelectorAll("[data-copy]").forEach(function (btn) {
      btn.addEventListener("click", function (ev) {
        ev.preventDefault();
        var value = btn.getAttribute("data-copy");
        var done = function () { btn.textContent = "Copied"; window.setTimeout(function () { btn.textContent = "Copy"; }, 1500); };
        if (navigator.clipboard) { navigator.clipboard.writeText(value).then(done, done); } else { done(); }
      });
    });
    window.setTimeout(poll, 1000);
  });
})();

/* Dashboard charts: Chart.js as unfold bundles it, data from the page's json_script. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var source = document.getElementById("hub-charts");
    if (!source || typeof window.Chart === "undefined") { return; }
    var charts = JSON.parse(source.textContent);
    var drawn = {};
    function draw(canvas, key) {
      var data = charts[key];
      if (!data) { return; }
      if (drawn[canvas.id]) { drawn[canvas.id].destroy(); }
      var stacked = canvas.dataset.stacked === "1";
      var line = canvas.dataset.kind === "line";
      data.datasets.forEach(function (d) { if (line) { d.fill = false; d.tension = 0.25; d.pointRadius = 2; } });
      drawn[canvas.id] = new window.Chart(canvas, {
        type: line ? "line" : "bar",
        data: { labels: data.labels, datasets: data.datasets },
        options: {
          responsive: true, maintainAspectRatio: false, animation: false,
          plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
          scales: { x: { stacked: stacked, grid: { display: false } }, y: { stacked: stacked, beginAtZero: true } }
        }
      });
      canvas.dataset.rendered = "1";
    }
    document.querySelectorAll("canvas[data-chart]").forEach(function (c) { draw(c, c.dataset.chart); });
    document.querySelectorAll("[data-chart-range]").forEach(function (btn) {
      btn.addEventListener("click", function () { draw(document.getElementById("chart-jobs"), btn.dataset.chartRange); });
    });
  });
})();

/* Repeating rows (mapping fields and their transforms, a REST integration's streams): each added from a
   <template> whose __i__ (and, for a nested row, __n__) become the next free index; names stay unique,
   so the server reads the rows as posted. */
(function () {
  "use strict";
  document.addEventListener("click", function (ev) {
    var add = ev.target.closest("[data-add-row]");
    if (add) {
      ev.preventDefault();
      var box = document.getElementById(add.dataset.addRow);
      var tpl = document.getElementById(add.dataset.template);
      if (!box || !tpl) { return; }
      var next = parseInt(box.dataset.next || "0", 10);
      box.dataset.next = String(next + 1);
      var html = tpl.innerHTML;
      if (add.dataset.rowIndex !== undefined) {
        html = html.split("__i__").join(add.dataset.rowIndex).split("__n__").join(String(next));
      } else {
        html = html.split("__i__").join(String(next));
      }
      box.insertAdjacentHTML("beforeend", html);
      return;
    }
    var remove = ev.target.closest("[data-remove-row]");
    if (remove) {
      ev.preventDefault();
      var row = remove.closest(".hub-row");
      if (!row) { return; }
      var after = row.nextElementSibling;
      if (after && after.classList.contains("hub-row-errors")) { after.remove(); }
      row.remove();
    }
  });
  // A transform's parameters box hints at what its op takes.
  document.addEventListener("change", function (ev) {
    var op = ev.target.closest("[data-transform-op]");
    if (!op) { return; }
    var params = op.parentElement.querySelector("[data-transform-params]");
    var hint = op.selectedOptions.length ? op.selectedOptions[0].dataset.hint : "";
    if (params) { params.placeholder = hint ? "e.g. " + hint : "no parameters"; }
  });
})();

/* Inputs of a nested object shown only for some values of a sibling choice (an auth type's own fields). */
(function () {
  "use strict";
  function sync(root) {
    (root || document).querySelectorAll("[data-shown-when]").forEach(function (cell) {
      var select = document.querySelector('[name="' + cell.dataset.shownWhen + '"]');
      if (!select) { return; }
      var shown = cell.dataset.shownValues.split(",").indexOf(select.value) !== -1;
      cell.style.display = shown ? "" : "none";
    });
  }
  document.addEventListener("DOMContentLoaded", function () { sync(); });
  document.addEventListener("change", function () { sync(); });
  document.addEventListener("click", function (ev) {
    if (ev.target.closest("[data-add-row]")) { window.setTimeout(sync, 0); }
  });
})();

/* A mapping row's "key" box is for JSON fields only (attributes + colour = attributes.colour). */
(function () {
  "use strict";
  function sync() {
    document.querySelectorAll("[data-target-select]").forEach(function (select) {
      var key = select.parentElement.querySelector("[data-json-key]");
      var option = select.selectedOptions.length ? select.selectedOptions[0] : null;
      if (key) { key.style.display = option && option.dataset.kind === "json" || key.value ? "" : "none"; }
    });
  }
  document.addEventListener("DOMContentLoaded", sync);
  document.addEventListener("change", sync);
  document.addEventListener("click", function (ev) {
    if (ev.target.closest("[data-add-row]")) { window.setTimeout(sync, 0); }
  });
})();
