/* aker scorecard page script: inflate the embedded data, draw the charts, run the market table.
 *
 * No library besides the inline Vega bundle (window.vegaEmbed) and no network: the data sits in
 * <script type="application/octet-stream"> elements as base64 gzip, inflated with the browser's
 * DecompressionStream. The table keeps an index array per sort order and renders one page
 * (50 rows) at a time, so 100k markets stay responsive; a market's metrics are inflated on
 * click, one chunk of markets at a time. When ready, <body data-ready="1"> (or "error").
 */
(function () {
  "use strict";

  const PAGE_SIZE = 50;
  const fmtInt = new Intl.NumberFormat("en-US");

  function el(id) { return document.getElementById(id); }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  async function inflate(id) {
    const text = el(id).textContent.trim();
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).json();
  }

  function num(value, digits) {
    return value === null || value === undefined || Number.isNaN(value) ? "\u2014" : value.toFixed(digits);
  }

  /* ---------------- charts ---------------- */

  async function drawCharts(specs) {
    const jobs = Object.entries(specs).map(async ([id, spec]) => {
      const target = el(id);
      if (!target) return;
      if (!spec) {
        const why = id === "chart-movers"
          ? "No rank changes: there is no earlier as_of published with the same weights."
          : "Nothing to draw: no market has a composite.";
        target.innerHTML = '<div class="empty">' + escapeHtml(why) + "</div>";
        target.dataset.rendered = "empty";
        return;
      }
      const config = {
        font: "-apple-system, Segoe UI, Roboto, Helvetica Neue, Arial, Liberation Sans, sans-serif",
        view: { stroke: null },
        axis: { labelColor: "#4a5a6a", titleColor: "#4a5a6a", gridColor: "#edf0f3", domainColor: "#cbd4dd", tickColor: "#cbd4dd", labelFontSize: 11, titleFontSize: 11, titleFontWeight: 500 },
        legend: { labelColor: "#4a5a6a", titleColor: "#4a5a6a", orient: "bottom", direction: "horizontal" },
        header: { labelColor: "#1f2933", labelFontSize: 12, labelFontWeight: 600 },
      };
      await window.vegaEmbed(target, Object.assign({ config: config }, spec),
        { actions: false, renderer: "svg", mode: "vega-lite" });
      target.dataset.rendered = "1";
    });
    await Promise.all(jobs);
  }

  /* ---------------- table ---------------- */

  function buildColumns(data) {
    const t = data.table;
    const pillars = data.pillars;
    const vintage = (p) => (i) => {
      const code = t.vintages[p].codes[i];
      return code < 0 ? null : t.vintages[p].labels[code];
    };
    const cols = [
      { key: "rank", label: "Rank", get: (i) => (t.rank[i] > 0 ? t.rank[i] : null), dir: 1,
        cell: (i) => (t.rank[i] > 0 ? fmtInt.format(t.rank[i]) : "\u2014") },
      { key: "change", label: "\u0394 rank", get: (i) => t.change[i], dir: -1, cell: (i) => {
        const c = t.change[i];
        if (c === null) return '<span class="flat" title="new market or no earlier as_of">new</span>';
        if (c === 0) return '<span class="flat">0</span>';
        return c > 0 ? '<span class="up">\u25B2 ' + c + "</span>" : '<span class="down">\u25BC ' + -c + "</span>";
      } },
      { key: "market", label: "Market", text: true, get: (i) => (t.names[i] || t.ids[i]).toLowerCase(), dir: 1, cls: "market",
        cell: (i) => '<span title="' + escapeHtml(t.names[i] || t.ids[i]) + '">' + escapeHtml(t.names[i] || t.ids[i]) + "</span>" +
          '<span class="id">' + escapeHtml(t.ids[i]) + "</span>" },
      { key: "composite", label: "Composite (0\u2013100)", short: "Composite", get: (i) => t.composite[i], dir: -1, cell: (i) => {
        const v = t.composite[i];
        return v === null ? "\u2014" : '<span class="bar composite" style="--c:#2f5d8a;--w:' + v.toFixed(1) + '%">' + v.toFixed(1) + "</span>";
      } },
    ];
    for (const p of pillars) {
      cols.push({ key: p, label: p[0].toUpperCase() + p.slice(1), group: "Pillar scores (0\u20135)", first: p === pillars[0], get: (i) => t.pillars[p][i], dir: -1, cell: (i) => {
        const v = t.pillars[p][i];
        return v === null ? "\u2014" : '<span class="bar" style="--c:' + data.colors[p] + ";--w:" + (v * 20).toFixed(1) + '%">' + v.toFixed(2) + "</span>";
      } });
    }
    cols.push({ key: "missing", label: "Missing", text: true, dir: -1,
      get: (i) => t.missing.labels[t.missing.codes[i]] || null,
      cell: (i) => { const m = t.missing.labels[t.missing.codes[i]]; return m ? '<span class="tag">' + escapeHtml(m) + "</span>" : ""; } });
    for (const p of pillars) {
      const get = vintage(p);
      cols.push({ key: "vintage-" + p, label: p[0].toUpperCase() + p.slice(1) + " vintage", short: p[0].toUpperCase() + p.slice(1),
        group: "Data vintage", first: p === pillars[0], text: true, dir: -1, get: get, cls: "vintage",
        cell: (i) => get(i) || "\u2014" });
    }
    return cols;
  }

  class MarketTable {
    constructor(data) {
      this.data = data;
      this.t = data.table;
      this.n = this.t.ids.length;
      this.cols = buildColumns(data);
      this.sortKey = "rank";
      this.sortDir = 1;
      this.query = "";
      this.missing = "all";
      this.page = 0;
      this.order = null;
      this.view = null;
      this.search = null;
      this.selected = -1;
      this.renderHead();
      this.sort();
      this.bind();
    }

    renderHead() {
      // Two header rows: pillar scores and vintages grouped; only cells with data-key sort.
      const th = (c, extra) => '<th data-key="' + c.key + '" class="' + (c.text ? "text" : "") + '" scope="col" title="' + escapeHtml(c.label) + '"' + (extra || "") + ">" + escapeHtml(c.short || c.label) + "</th>";
      const top = [], bottom = [];
      for (const c of this.cols) {
        if (c.group) {
          if (c.first) top.push('<th class="group" colspan="' + this.cols.filter((x) => x.group === c.group).length + '" scope="colgroup">' + escapeHtml(c.group) + "</th>");
          bottom.push(th(c));
        } else {
          top.push(th(c, ' rowspan="2"'));
        }
      }
      el("markets").tHead.innerHTML = "<tr>" + top.join("") + "</tr><tr>" + bottom.join("") + "</tr>";
    }

    sort() {
      const col = this.cols.find((c) => c.key === this.sortKey);
      const n = this.n;
      const keys = new Array(n);
      for (let i = 0; i < n; i++) keys[i] = col.get(i);
      const idx = new Uint32Array(n);
      for (let i = 0; i < n; i++) idx[i] = i;
      const dir = this.sortDir;
      const rank = this.t.rank;
      // Nulls last in either direction; ties by rank (unranked last), then row order: stable and deterministic.
      idx.sort((a, b) => {
        const x = keys[a], y = keys[b];
        const xn = x === null || x === undefined, yn = y === null || y === undefined;
        if (xn !== yn) return xn ? 1 : -1;
        if (!xn && x !== y) return (x < y ? -1 : 1) * dir;
        const ra = rank[a] || 2147483647, rb = rank[b] || 2147483647;
        return ra !== rb ? ra - rb : a - b;
      });
      this.order = idx;
      for (const th of el("markets").tHead.querySelectorAll("th[data-key]")) {
        th.setAttribute("aria-sort", th.dataset.key === this.sortKey ? (dir === 1 ? "ascending" : "descending") : "none");
      }
      this.filter();
    }

    filter() {
      const q = this.query.trim().toLowerCase();
      const t = this.t;
      if (q && !this.search) {
        this.search = new Array(this.n);
        for (let i = 0; i < this.n; i++) this.search[i] = (t.names[i] + " " + t.ids[i]).toLowerCase();
      }
      const out = new Uint32Array(this.n);
      let k = 0;
      for (const i of this.order) {
        if (this.missing !== "all") {
          const has = Boolean(t.missing.labels[t.missing.codes[i]]);
          if (has !== (this.missing === "missing")) continue;
        }
        if (q && this.search[i].indexOf(q) < 0) continue;
        out[k++] = i;
      }
      this.view = out.subarray(0, k);
      this.page = 0;
      this.render();
    }

    render() {
      const pages = Math.max(1, Math.ceil(this.view.length / PAGE_SIZE));
      this.page = Math.min(this.page, pages - 1);
      const start = this.page * PAGE_SIZE;
      const rows = [];
      for (const i of this.view.subarray(start, start + PAGE_SIZE)) {
        const cells = this.cols.map((c) => '<td class="' + (c.text ? "text " : "") + (c.cls || "") + '">' + c.cell(i) + "</td>");
        rows.push('<tr tabindex="0" data-row="' + i + '"' + (i === this.selected ? ' class="selected"' : "") + ">" + cells.join("") + "</tr>");
      }
      el("markets").tBodies[0].innerHTML = rows.join("") ||
        '<tr><td colspan="' + this.cols.length + '" class="text muted">No market matches the filter.</td></tr>';
      const shown = this.view.length;
      const range = shown ? fmtInt.format(start + 1) + "\u2013" + fmtInt.format(Math.min(start + PAGE_SIZE, shown)) : "0";
      el("count").textContent = range + " of " + fmtInt.format(shown) + " markets" + (shown !== this.n ? " (filtered from " + fmtInt.format(this.n) + ")" : "");
      el("page").textContent = "Page " + fmtInt.format(this.page + 1) + " of " + fmtInt.format(pages);
      el("prev").disabled = this.page === 0;
      el("next").disabled = this.page >= pages - 1;
    }

    bind() {
      el("markets").tHead.addEventListener("click", (e) => {
        const th = e.target.closest("th[data-key]");
        if (!th) return;
        const col = this.cols.find((c) => c.key === th.dataset.key);
        this.sortDir = this.sortKey === col.key ? -this.sortDir : col.dir;
        this.sortKey = col.key;
        this.sort();
      });
      let timer = null;
      el("filter").addEventListener("input", (e) => {
        clearTimeout(timer);
        timer = setTimeout(() => { this.query = e.target.value; this.filter(); }, 120);
      });
      el("filter-missing").addEventListener("change", (e) => { this.missing = e.target.value; this.filter(); });
      el("prev").addEventListener("click", () => { this.page -= 1; this.render(); });
      el("next").addEventListener("click", () => { this.page += 1; this.render(); });
      const open = (e) => {
        const tr = e.target.closest("tr[data-row]");
        if (!tr) return;
        this.selected = Number(tr.dataset.row);
        for (const row of el("markets").tBodies[0].rows) row.classList.toggle("selected", row === tr);
        showDetail(this.data, this.selected);
      };
      el("markets").tBodies[0].addEventListener("click", open);
      // Rows are focusable (Tab), so the keyboard can open a market too.
      el("markets").tBodies[0].addEventListener("keydown", (e) => { if (e.key === "Enter") open(e); });
    }
  }

  /* ---------------- market detail ---------------- */

  // Metrics come in chunks of data.detail_chunk markets (row order); a click inflates one chunk.
  const detailChunks = new Map();
  async function detailRow(data, i) {
    const k = Math.floor(i / data.detail_chunk);
    if (!detailChunks.has(k)) detailChunks.set(k, inflate("scorecard-detail-" + k));
    const chunk = await detailChunks.get(k);
    const j = i - k * data.detail_chunk;
    const values = {}, fractions = {};
    for (const m of data.metrics) { values[m] = chunk.values[m][j]; fractions[m] = chunk.fractions[m][j]; }
    return { values: values, fractions: fractions };
  }

  function formatValue(rule, value) {
    if (value === null || value === undefined) return '<span class="muted">missing</span>';
    if (rule.kind === "flag") return value ? "yes" : "no";
    return Math.abs(value) >= 1000 ? fmtInt.format(value) : String(value);
  }

  async function showDetail(data, i) {
    const t = data.table;
    const d = await detailRow(data, i);
    const name = t.names[i] || t.ids[i];
    const change = t.change[i];
    const moved = change === null ? "new / no earlier as_of" : change > 0 ? "\u25B2 " + change : change < 0 ? "\u25BC " + -change : "unchanged";
    el("detail-title").innerHTML = "<h3>" + escapeHtml(name) + '</h3><div class="sub">msa_id ' + escapeHtml(t.ids[i]) + "</div>";
    const parts = ['<div class="summary-grid">',
      '<div><div class="k">Rank</div><div class="v">' + (t.rank[i] > 0 ? fmtInt.format(t.rank[i]) : "\u2014") + "</div></div>",
      '<div><div class="k">\u0394 rank</div><div class="v">' + escapeHtml(moved) + "</div></div>",
      '<div><div class="k">Composite</div><div class="v">' + num(t.composite[i], 1) + '<span class="muted"> / 100</span></div></div>',
      "</div>"];
    const missing = t.missing.labels[t.missing.codes[i]];
    if (missing) parts.push('<p><span class="tag">missing pillars: ' + escapeHtml(missing) + "</span> (no composite without all four)</p>");
    const hasMetrics = data.metrics.length > 0;
    if (!hasMetrics) parts.push('<p class="muted">No metrics were embedded in this scorecard.</p>');
    for (const p of data.pillars) {
      const code = t.vintages[p].codes[i];
      const vintage = code < 0 ? "no data" : t.vintages[p].labels[code];
      const score = t.pillars[p][i];
      const weight = data.weights[p];
      const contribution = score === null ? null : 20 * weight * score;
      parts.push('<div class="pillar-block" style="--c:' + data.colors[p] + '"><h4><span>' + escapeHtml(p) + " &middot; " + num(score, 2) +
        ' / 5</span><span class="meta">weight ' + (weight * 100).toFixed(0) + "% &middot; contributes " + num(contribution, 1) +
        " &middot; vintage " + escapeHtml(vintage) + "</span></h4>");
      if (hasMetrics) {
        parts.push('<table class="metrics"><thead><tr><th>Metric</th><th>Value</th><th>Fraction (0\u20131)</th><th>Anchors</th></tr></thead><tbody>');
        for (const rule of data.rules) {
          if (rule.pillar !== p || !(rule.metric in d.values)) continue;
          const value = d.values[rule.metric];
          const f = d.fractions[rule.metric];
          const frac = f < 0 ? '<span class="muted">\u2014</span>'
            : '<span class="frac"><span style="width:' + f / 10 + '%"></span></span>' + (f / 1000).toFixed(3);
          parts.push('<tr data-metric="' + escapeHtml(rule.metric) + '"><td><code>' + escapeHtml(rule.metric) + '</code></td><td class="num">' +
            formatValue(rule, value) + '</td><td class="fraction">' + frac + '</td><td class="rule">' + escapeHtml(rule.text) + "</td></tr>");
        }
        parts.push("</tbody></table>");
      }
      parts.push("</div>");
    }
    el("detail-body").innerHTML = parts.join("");
    el("detail").classList.add("open");
    el("detail").setAttribute("aria-hidden", "false");
  }

  function closeDetail() {
    el("detail").classList.remove("open");
    el("detail").setAttribute("aria-hidden", "true");
  }

  /* ---------------- start ---------------- */

  async function main() {
    // performance.measure entries (inflate, table, charts) let a test or a person see where time goes.
    performance.mark("scorecard-start");
    const data = await inflate("scorecard-data");
    performance.measure("scorecard-inflate", "scorecard-start");
    performance.mark("scorecard-table");
    new MarketTable(data);
    performance.measure("scorecard-table", "scorecard-table");
    performance.mark("scorecard-charts");
    el("detail-close").addEventListener("click", closeDetail);
    document.addEventListener("keydown", (e) => { if (e.key === "Escape") closeDetail(); });
    await drawCharts(data.charts);
    performance.measure("scorecard-charts", "scorecard-charts");
    document.body.dataset.ready = "1";
  }

  main().catch((error) => {
    console.error("scorecard failed to start:", error);
    document.body.dataset.ready = "error";
  });
})();
