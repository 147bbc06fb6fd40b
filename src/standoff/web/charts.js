/* Interactive fan charts for the report and the dashboard: no library, no network.
 *
 * standoffCharts.render(container, spec) draws spec = {title, ylabel, series: [{label, dates,
 * median, p10, p90, p25?, p75?}]} as an SVG: each series' median line and its p10-p90 band
 * (and p25-p75 where given).  Hover shows the date and every visible series' median with its
 * p10-p90 range; clicking a legend entry hides or shows that series; dragging across the plot
 * zooms into those dates and a double-click zooms back out.  The state is kept on the SVG as
 * data- attributes (data-x0, data-x1: the dates shown) so that tests can read it.
 * standoffCharts.fromFlat(rows) turns the report's flat rows (panel, date, p10, ..., p90) into
 * series.  Every text goes into the page as text (textContent), never as markup.
 */
(function (root) {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];

  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, k)) { e.setAttribute(k, attrs[k]); } }
    if (parent) { parent.appendChild(e); }
    return e;
  }

  function fmt(v) {
    if (v === null || v === undefined || !isFinite(v)) { return "n/a"; }
    var a = Math.abs(v);
    return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
  }

  function fromFlat(rows) {
    var by = {}, order = [];
    rows.forEach(function (r) {
      var key = r.panel === undefined ? "all" : String(r.panel);
      if (!by[key]) { by[key] = {label: key, dates: [], median: [], p10: [], p90: [], p25: [], p75: []}; order.push(key); }
      var s = by[key];
      s.dates.push(String(r.date).slice(0, 10));
      ["median", "p10", "p90", "p25", "p75"].forEach(function (q) { s[q].push(r[q] === undefined ? null : Number(r[q])); });
    });
    return order.map(function (k) { return by[k]; });
  }

  function render(container, spec) {
    var W = 640, H = 300, L = 56, R = 12, T = 26, B = 34;
    var series = spec.series || [];
    var hidden = series.map(function () { return false; });
    var times = series.length ? series[0].dates.map(function (d) { return Date.parse(d); }) : [];
    var x0 = times.length ? Math.min.apply(null, times) : 0, x1 = times.length ? Math.max.apply(null, times) : 1;
    var full = [x0, x1];
    container.textContent = "";
    var wrap = document.createElement("div");
    wrap.className = "schart";
    container.appendChild(wrap);
    var svg = el("svg", {viewBox: "0 0 " + W + " " + H, width: "100%", role: "img", "class": "schart-svg"}, wrap);
    var title = el("text", {x: L, y: 16, "font-size": 13, "font-weight": "bold"}, svg);
    title.textContent = spec.title || "";
    var plot = el("g", {}, svg);
    var axes = el("g", {"font-size": 10, fill: "#333"}, svg);
    var rule = el("line", {y1: T, y2: H - B, stroke: "#999", "stroke-dasharray": "3,3", visibility: "hidden"}, svg);
    var sel = el("rect", {y: T, height: H - T - B, fill: "rgba(0,0,0,0.08)", visibility: "hidden"}, svg);
    var hit = el("rect", {x: L, y: T, width: W - L - R, height: H - T - B, fill: "transparent", "class": "schart-hit"}, svg);
    var tip = document.createElement("div");
    tip.className = "schart-tip";
    tip.style.cssText = "position:absolute;display:none;background:#fff;border:1px solid #aaa;padding:4px 6px;" +
      "font:12px sans-serif;pointer-events:none;white-space:pre";
    wrap.style.position = "relative";
    wrap.appendChild(tip);
    var legend = document.createElement("div");
    legend.className = "schart-legend";
    legend.style.cssText = "font:12px sans-serif;margin:2px 0 10px " + (L * 100 / W) + "%";
    wrap.appendChild(legend);

    function visibleRange() {
      var lo = Infinity, hi = -Infinity;
      series.forEach(function (s, k) {
        if (hidden[k]) { return; }
        s.dates.forEach(function (d, i) {
          var t = times[i];
          if (t < x0 || t > x1) { return; }
          [s.p10[i], s.p90[i], s.median[i]].forEach(function (v) {
            if (v !== null && isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
          });
        });
      });
      if (!isFinite(lo)) { lo = 0; hi = 1; }
      if (hi - lo < 1e-9) { hi = lo + 1; }
      var pad = (hi - lo) * 0.05;
      return [lo >= 0 ? Math.max(0, lo - pad) : lo - pad, hi + pad];  // quantities never below zero
    }

    function sx(t) { return L + (t - x0) / (x1 - x0 || 1) * (W - L - R); }

    function draw() {
      svg.setAttribute("data-x0", new Date(x0).toISOString().slice(0, 10));
      svg.setAttribute("data-x1", new Date(x1).toISOString().slice(0, 10));
      while (plot.firstChild) { plot.removeChild(plot.firstChild); }
      while (axes.firstChild) { axes.removeChild(axes.firstChild); }
      var yr = visibleRange();
      var sy = function (v) { return H - B - (v - yr[0]) / (yr[1] - yr[0]) * (H - T - B); };
      for (var g = 0; g <= 4; g++) {
        var v = yr[0] + (yr[1] - yr[0]) * g / 4, y = sy(v);
        el("line", {x1: L, x2: W - R, y1: y, y2: y, stroke: "#eee"}, axes);
        var lab = el("text", {x: L - 4, y: y + 3, "text-anchor": "end"}, axes);
        lab.textContent = fmt(v);
      }
      for (var k = 0; k <= 4; k++) {
        var t = x0 + (x1 - x0) * k / 4;
        var lx = el("text", {x: sx(t), y: H - B + 14, "text-anchor": k === 0 ? "start" : k === 4 ? "end" : "middle"}, axes);
        lx.textContent = new Date(t).toISOString().slice(0, 10);
      }
      var yl = el("text", {x: 12, y: (T + H - B) / 2, transform: "rotate(-90 12 " + (T + H - B) / 2 + ")",
                           "text-anchor": "middle"}, axes);
      yl.textContent = spec.ylabel || "";
      el("rect", {x: L, y: T, width: W - L - R, height: H - T - B, fill: "none", stroke: "#ccc"}, axes);
      series.forEach(function (s, k) {
        if (hidden[k]) { return; }
        var c = COLORS[k % COLORS.length];
        var idx = [];
        for (var i = 0; i < s.dates.length; i++) { if (times[i] >= x0 && times[i] <= x1) { idx.push(i); } }
        var band = function (lo, hi, op) {
          if (!s[lo] || s[lo][0] === null || s[lo][0] === undefined) { return; }
          var up = idx.map(function (i) { return sx(times[i]) + "," + sy(s[hi][i]); });
          var dn = idx.slice().reverse().map(function (i) { return sx(times[i]) + "," + sy(s[lo][i]); });
          if (up.length) { el("polygon", {points: up.concat(dn).join(" "), fill: c, "fill-opacity": op, stroke: "none"}, plot); }
        };
        band("p10", "p90", 0.15);
        band("p25", "p75", 0.25);
        var pts = idx.map(function (i) { return sx(times[i]) + "," + sy(s.median[i]); });
        el("polyline", {points: pts.join(" "), fill: "none", stroke: c, "stroke-width": 1.6, "class": "schart-median",
                        "data-series": s.label}, plot);
      });
    }

    function drawLegend() {
      legend.textContent = "";
      series.forEach(function (s, k) {
        var item = document.createElement("span");
        item.className = "schart-item";
        item.setAttribute("data-series", s.label);
        item.setAttribute("data-hidden", hidden[k] ? "1" : "0");
        item.style.cssText = "cursor:pointer;margin-right:14px;user-select:none;opacity:" + (hidden[k] ? 0.35 : 1);
        var sw = document.createElement("span");
        sw.style.cssText = "display:inline-block;width:12px;height:3px;vertical-align:middle;margin-right:4px;" +
          "background:" + COLORS[k % COLORS.length];
        item.appendChild(sw);
        item.appendChild(document.createTextNode(s.label));
        item.title = "click to hide or show";
        item.addEventListener("click", function () { hidden[k] = !hidden[k]; draw(); drawLegend(); });
        legend.appendChild(item);
      });
      var hint = document.createElement("span");
      hint.style.color = "#888";
      hint.textContent = "hover to read; drag to zoom, double-click to reset";
      legend.appendChild(hint);
    }

    function tAt(evt) {
      var box = svg.getBoundingClientRect();
      var px = (evt.clientX - box.left) * W / box.width;
      return x0 + (Math.min(Math.max(px, L), W - R) - L) / (W - L - R) * (x1 - x0);
    }

    function nearest(t) {
      var best = 0, bd = Infinity;
      for (var i = 0; i < times.length; i++) { var d = Math.abs(times[i] - t); if (d < bd) { bd = d; best = i; } }
      return best;
    }

    var dragFrom = null;
    hit.addEventListener("mousemove", function (evt) {
      var t = tAt(evt), i = nearest(t), x = sx(times[i]);
      rule.setAttribute("x1", x); rule.setAttribute("x2", x); rule.setAttribute("visibility", "visible");
      var lines = [series.length ? series[0].dates[i] : ""];
      series.forEach(function (s, k) {
        if (!hidden[k]) { lines.push(s.label + ": " + fmt(s.median[i]) + " (p10-p90 " + fmt(s.p10[i]) + "-" + fmt(s.p90[i]) + ")"); }
      });
      tip.textContent = lines.join("\n");
      tip.style.display = "block";
      var box = svg.getBoundingClientRect();
      tip.style.left = Math.min(evt.clientX - box.left + 12, box.width - 200) + "px";
      tip.style.top = (evt.clientY - box.top + 10) + "px";
      if (dragFrom !== null) {
        var a = sx(Math.min(dragFrom, t)), b = sx(Math.max(dragFrom, t));
        sel.setAttribute("x", a); sel.setAttribute("width", Math.max(b - a, 0)); sel.setAttribute("visibility", "visible");
      }
    });
    hit.addEventListener("mouseleave", function () {
      tip.style.display = "none"; rule.setAttribute("visibility", "hidden");
    });
    hit.addEventListener("mousedown", function (evt) { dragFrom = tAt(evt); evt.preventDefault(); });
    hit.addEventListener("mouseup", function (evt) {
      if (dragFrom === null) { return; }
      var a = Math.min(dragFrom, tAt(evt)), b = Math.max(dragFrom, tAt(evt));
      dragFrom = null;
      sel.setAttribute("visibility", "hidden");
      if (b - a > 2 * 86400000) { x0 = a; x1 = b; draw(); }
    });
    hit.addEventListener("dblclick", function () { x0 = full[0]; x1 = full[1]; draw(); });
    draw();
    drawLegend();
    return svg;
  }

  root.standoffCharts = {render: render, fromFlat: fromFlat};
})(window);
