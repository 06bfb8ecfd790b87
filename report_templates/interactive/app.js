// auditor's interactive report: draws every view from the embedded report model.
// Rules kept here: data is only ever text (textContent, text nodes, setAttribute of
// non-URL attributes; links only to https URLs the model gives); nothing is fetched; every
// number shown is the model's (this script formats, filters, sorts and pages, no arithmetic
// on the audit's results beyond drawing bars to scale).
(() => {
  "use strict";

  const NONE = "(not reported)"; // the filter token of a missing value
  const MULTI = "(several)"; // the select option standing for a deep link's several values
  const DASH = "—";
  const VIEWS = [
    ["summary", "Summary"], ["rules", "Failing rules"], ["findings", "Findings"],
    ["devices", "Devices"], ["tenant", "Tenant health"], ["changes", "Changes"],
    ["quality", "Data quality"], ["waivers", "Waivers"], ["method", "Methodology & sources"],
  ];
  const PAGE_SIZES = [25, 50, 100, 250, 500];
  const SVG_NS = "http://www.w3.org/2000/svg";
  // Timings (ms since navigation start) the browser bench reads; nothing is sent anywhere.
  const perf = { parsed: null, prepared: null, ready: null, lastFilterMs: null, filterRuns: 0 };
  window.__auditor = perf;

  // ---------- DOM helpers: data is only ever text ----------
  function isSafeUrl(url) {
    // https links the model gives, and this page's own fragments (its views)
    return typeof url === "string" && (/^https:\/\/[^\s]+$/i.test(url) || url.startsWith("#view="));
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }

  function setAttrs(node, attrs) {
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.setAttribute("class", value);
      else if (key === "href") { if (isSafeUrl(value)) node.setAttribute("href", value); }
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
  }

  function append(node, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }

  function link(text, hash) {
    return el("a", { class: "internal", href: hash, onclick: (e) => { e.preventDefault(); go(hash); } }, text);
  }

  const num = (v) => (v === null || v === undefined ? DASH : Number(v).toLocaleString("en-US"));
  const pct = (v) => (v === null || v === undefined ? DASH : `${Number(v).toFixed(1)} %`);
  const day = (v) => (v ? String(v).slice(0, 10) : DASH);
  const stamp = (v) => (v ? `${String(v).slice(0, 16).replace("T", " ")} UTC` : DASH);
  const yesno = (v) => (v === null || v === undefined ? "not reported" : v ? "yes" : "no");
  const dash = (v) => (v === null || v === undefined || v === "" ? DASH : String(v));
  const days = (v) => (v === null || v === undefined ? DASH : `${num(v)} day${Math.abs(v) === 1 ? "" : "s"}`);
  const signed = (v) => (v > 0 ? `+${num(v)}` : num(v));
  const chip = (kind, value) => el("span", { class: `chip ${kind}-${value}` }, value);
  const token = (v) => (v === null || v === undefined ? NONE : v === true ? "yes" : v === false ? "no" : String(v));

  function table(headers, rows, attrs) {
    return el("table", { class: "data", ...attrs },
      el("thead", null, el("tr", null, headers.map((h) => el("th", { class: h.startsWith("#") ? "n" : null }, h.replace(/^#/, ""))))),
      el("tbody", null, rows.map((cells) => el("tr", null, cells.map((c, i) =>
        el("td", { class: headers[i] && headers[i].startsWith("#") ? "n" : null }, c))))));
  }

  function section(title, ...children) {
    return el("section", { class: "block" }, el("h2", null, title), children);
  }

  // ---------- loading ----------
  async function loadData() {
    const node = document.getElementById("report-data");
    const text = node.textContent;
    if (node.getAttribute("type") === "application/json") return JSON.parse(text);
    if (typeof DecompressionStream === "undefined") {
      throw new Error("this browser cannot decompress the report (no DecompressionStream): open it in a current Chrome, Edge, Firefox or Safari");
    }
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return JSON.parse(await new Response(stream).text());
  }

  // ---------- tables: columns as dictionaries + codes, or plain values ----------
  function prepareTable(raw, devices) {
    const n = raw.length;
    const rows = raw.device_rows ? Int32Array.from(raw.device_rows) : null;
    const columns = raw.columns.map((spec) => prepareColumn(spec, n, rows, devices));
    const byKey = Object.fromEntries(columns.map((c) => [c.key, c]));
    return { name: raw.name, n, columns, byKey, rows };
  }

  function prepareColumn(spec, n, rows, devices) {
    const { data, values: facets, ...rest } = spec; // `values` of a spec: its filter's choices
    const col = { ...rest, facets, order: facets.map((f) => token(f.value)), n, dict: null, codes: null, values: null, lower: null, rank: null, base: null, rows: null };
    if (spec.source === "device") {
      const base = devices.byKey[spec.key];
      col.base = base; // searched through the devices table, each Mac once
      col.rows = rows;
      if (base.codes) {
        col.dict = base.dict;
        col.codes = new Int32Array(n);
        for (let i = 0; i < n; i++) col.codes[i] = rows[i] >= 0 ? base.codes[rows[i]] : -1;
      } else {
        col.values = new Array(n);
        for (let i = 0; i < n; i++) col.values[i] = rows[i] >= 0 ? base.values[rows[i]] : null;
      }
    } else if (data.codes) {
      col.dict = data.dict;
      col.codes = Int32Array.from(data.codes);
    } else {
      col.values = data.values;
    }
    return col;
  }

  const cell = (col, i) => (col.codes ? (col.codes[i] < 0 ? null : col.dict[col.codes[i]]) : col.values[i]);

  function cellText(col, v) {
    if (v === null || v === undefined) return col.kind === "bool" ? "not reported" : DASH;
    if (col.kind === "bool") return v ? "yes" : "no";
    if (col.kind === "number") return num(v);
    return String(v);
  }

  // Per row: does the column's value pass `test`? Tests run once per distinct value when the
  // column is a dictionary, so a filter over 100,000 rows costs one pass over integer codes.
  function keep(col, test, mask) {
    const n = col.n;
    if (col.codes) {
      const ok = new Uint8Array(col.dict.length + 1);
      ok[0] = test(null) ? 1 : 0;
      for (let j = 0; j < col.dict.length; j++) ok[j + 1] = test(col.dict[j]) ? 1 : 0;
      const codes = col.codes;
      for (let i = 0; i < n; i++) if (mask[i] && !ok[codes[i] + 1]) mask[i] = 0;
    } else {
      const values = col.values;
      for (let i = 0; i < n; i++) if (mask[i] && !test(values[i])) mask[i] = 0;
    }
  }

  function lowered(col) {
    if (!col.lower) col.lower = (col.dict || col.values).map((v) => (v === null ? "" : cellText(col, v).toLowerCase()));
    return col.lower;
  }

  function hits(col, needle, hit) {
    if (col.base && !col.base.codes) {
      const found = new Uint8Array(col.base.n);
      hits(col.base, needle, found);
      const rows = col.rows;
      for (let i = 0; i < col.n; i++) if (rows[i] >= 0 && found[rows[i]]) hit[i] = 1;
      return;
    }
    const lower = lowered(col);
    if (col.codes) {
      const ok = new Uint8Array(col.dict.length + 1);
      for (let j = 0; j < lower.length; j++) ok[j + 1] = lower[j].includes(needle) ? 1 : 0;
      const codes = col.codes;
      for (let i = 0; i < col.n; i++) if (ok[codes[i] + 1]) hit[i] = 1;
    } else {
      for (let i = 0; i < col.n; i++) if (lower[i].includes(needle)) hit[i] = 1;
    }
  }

  function rankOf(col) {
    if (col.rank) return col.rank;
    const compare = (a, b) => (typeof a === "number" && typeof b === "number" ? a - b : (String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0));
    const n = col.n;
    const rank = new Int32Array(n);
    if (col.codes) {
      const facet = new Map(col.order.map((t, k) => [t, k]));
      const order = col.dict.map((_, j) => j).sort((a, b) => {
        const fa = facet.get(token(col.dict[a])); const fb = facet.get(token(col.dict[b]));
        if (fa !== undefined || fb !== undefined) return (fa ?? 1e9) - (fb ?? 1e9);
        return compare(col.dict[a], col.dict[b]);
      });
      const byCode = new Int32Array(col.dict.length + 1);
      byCode[0] = col.dict.length; // missing last
      order.forEach((j, k) => { byCode[j + 1] = k; });
      for (let i = 0; i < n; i++) rank[i] = byCode[col.codes[i] + 1];
    } else {
      const order = Array.from({ length: n }, (_, i) => i).filter((i) => col.values[i] !== null);
      order.sort((a, b) => compare(col.values[a], col.values[b]));
      rank.fill(n);
      let r = 0;
      for (let k = 0; k < order.length; k++) {
        if (k > 0 && compare(col.values[order[k - 1]], col.values[order[k]]) !== 0) r = k;
        rank[order[k]] = r;
      }
    }
    col.rank = rank;
    return rank;
  }

  function sorted(indices, col, desc) {
    const rank = rankOf(col);
    const n = col.n;
    const keys = new Float64Array(indices.length);
    for (let k = 0; k < indices.length; k++) {
      let r = rank[indices[k]];
      if (desc && r < n) r = n - 1 - r;
      keys[k] = r * 4194304 + k; // stable: ties keep the model's order
    }
    keys.sort();
    const out = new Int32Array(indices.length);
    for (let k = 0; k < keys.length; k++) out[k] = indices[keys[k] % 4194304];
    return out;
  }

  function select(tbl, state) {
    const started = performance.now();
    const mask = new Uint8Array(tbl.n).fill(1);
    for (const [key, tokens] of Object.entries(state.filters)) {
      const col = tbl.byKey[key];
      if (!col || !tokens.length) continue;
      const wanted = new Set(tokens);
      keep(col, (v) => wanted.has(token(v)), mask);
    }
    for (const [key, text] of Object.entries(state.texts)) {
      const col = tbl.byKey[key];
      if (!col || !text) continue;
      const needle = text.toLowerCase();
      keep(col, (v) => v !== null && cellText(col, v).toLowerCase().includes(needle), mask);
    }
    if (state.q) {
      const hit = new Uint8Array(tbl.n);
      const needle = state.q.toLowerCase();
      for (const col of tbl.columns) if (col.is_searched) hits(col, needle, hit);
      for (let i = 0; i < tbl.n; i++) mask[i] &= hit[i];
    }
    let count = 0;
    for (let i = 0; i < tbl.n; i++) count += mask[i];
    let indices = new Int32Array(count);
    for (let i = 0, k = 0; i < tbl.n; i++) if (mask[i]) indices[k++] = i;
    if (state.sort && tbl.byKey[state.sort.key]) indices = sorted(indices, tbl.byKey[state.sort.key], state.sort.desc);
    perf.lastFilterMs = performance.now() - started;
    perf.filterRuns += 1;
    return indices;
  }

  // ---------- state in the URL fragment ----------
  const tableState = {};
  let current = "summary";

  function emptyState() {
    return { q: "", filters: {}, texts: {}, sort: null, page: 1, size: 50, shown: {} };
  }

  function parseHash() {
    const params = new URLSearchParams(location.hash.replace(/^#/, ""));
    const view = params.get("view") || "summary";
    const state = emptyState();
    for (const [key, value] of params) {
      if (key.startsWith("f.")) (state.filters[key.slice(2)] ||= []).push(value);
      else if (key.startsWith("t.")) state.texts[key.slice(2)] = value;
    }
    state.q = params.get("q") || "";
    const sort = params.get("sort");
    if (sort) state.sort = { key: sort.replace(/^-/, ""), desc: sort.startsWith("-") };
    state.page = Math.max(1, parseInt(params.get("page") || "1", 10) || 1);
    const size = parseInt(params.get("size") || "50", 10);
    state.size = PAGE_SIZES.includes(size) ? size : 50;
    return { view, state };
  }

  function hashOf(view, state) {
    const params = new URLSearchParams();
    params.set("view", view);
    if (state) {
      if (state.q) params.set("q", state.q);
      for (const [key, tokens] of Object.entries(state.filters)) for (const t of tokens) params.append(`f.${key}`, t);
      for (const [key, text] of Object.entries(state.texts)) if (text) params.set(`t.${key}`, text);
      if (state.sort) params.set("sort", `${state.sort.desc ? "-" : ""}${state.sort.key}`);
      if (state.page > 1) params.set("page", String(state.page));
      if (state.size !== 50) params.set("size", String(state.size));
    }
    return `#${params.toString()}`;
  }

  function writeHash() {
    const hash = hashOf(current, tableState[current]);
    if (location.hash === hash) return;
    try { history.replaceState(null, "", hash); } catch (_) { location.hash = hash; }
  }

  function go(hash) {
    // pushState keeps Back working and applies the view now (a hashchange would come later)
    try { history.pushState(null, "", hash); } catch (_) { location.hash = hash; return; }
    applyHash();
  }

  // ---------- the interactive table ----------
  function tableView(tbl, intro) {
    const state = tableState[tbl.name];
    const root = el("div", { class: "explorer", "data-table": tbl.name });
    const visible = () => tbl.columns.filter((c) => (c.key in state.shown ? state.shown[c.key] : c.is_visible));
    const count = el("span", { class: "count", "data-testid": "row-count" });
    const search = el("input", {
      type: "search", placeholder: "Search names, serials, users, ids, details…", "aria-label": "Search", "data-testid": "search",
      value: state.q,
    });
    let timer = null;
    search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => { state.q = search.value.trim(); state.page = 1; refresh(); }, 120);
    });
    const chooser = el("details", { class: "chooser" }, el("summary", null, "Columns"),
      tbl.columns.map((c) => el("label", { title: c.description },
        el("input", { type: "checkbox", checked: visible().includes(c), onchange: (e) => { state.shown[c.key] = e.target.checked; head = null; refresh(); } }),
        ` ${c.label}`)));
    const reset = el("button", { type: "button", "data-testid": "clear", onclick: () => {
      Object.assign(state, emptyState(), { size: state.size, shown: state.shown });
      search.value = "";
      head = null;
      refresh();
    } }, "Clear filters");
    const size = el("select", { "aria-label": "Rows per page", onchange: (e) => { state.size = Number(e.target.value); state.page = 1; refresh(); } },
      PAGE_SIZES.map((s) => el("option", { value: s, selected: s === state.size }, `${s} rows`)));
    const holder = el("div", { class: "table-holder" });
    const pager = el("div", { class: "pager" });
    const summaryLine = el("p", { class: "filters-note muted", "data-testid": "filters-note" });
    root.append(intro || "", el("div", { class: "toolbar" }, search, count, reset, chooser, size), summaryLine, holder, pager);
    // The header (names, sort buttons, filter controls) is built once per set of columns, so
    // typing in a filter box keeps its focus while the rows below are redrawn.
    let head = null;
    let body = null;
    let columns = [];
    const sorters = new Map();

    function refresh() {
      if (!head) build();
      const indices = select(tbl, state);
      const pages = Math.max(1, Math.ceil(indices.length / state.size));
      state.page = Math.min(state.page, pages);
      count.textContent = `${num(indices.length)} of ${num(tbl.n)} rows`;
      count.dataset.count = String(indices.length);
      const notes = [
        ...Object.entries(state.filters).filter(([k, t]) => t.length && tbl.byKey[k]).map(([k, t]) => `${label(k)} = ${t.join(" or ")}`),
        ...Object.entries(state.texts).filter(([k, t]) => t && tbl.byKey[k]).map(([k, t]) => `${label(k)} contains “${t}”`),
        ...(state.q ? [`search “${state.q}”`] : []),
      ];
      summaryLine.textContent = notes.length ? `Filtered: ${notes.join("; ")}` : "No filter: every row.";
      for (const [key, [th, button, name]] of sorters) {
        const here = state.sort && state.sort.key === key;
        th.setAttribute("aria-sort", here ? (state.sort.desc ? "descending" : "ascending") : "none");
        button.textContent = name + (here ? (state.sort.desc ? " ▼" : " ▲") : "");
      }
      const rows = el("tbody");
      const start = (state.page - 1) * state.size;
      for (let k = start; k < Math.min(indices.length, start + state.size); k++) rows.append(row(indices[k], columns));
      if (!indices.length) rows.append(el("tr", null, el("td", { colspan: columns.length, class: "empty" }, "No row matches.")));
      body.replaceWith(rows);
      body = rows;
      drawPager(indices.length, pages);
      writeHash();
    }

    const label = (key) => (tbl.byKey[key] ? tbl.byKey[key].label : key);

    function build() {
      columns = visible();
      sorters.clear();
      const names = el("tr", null, columns.map((c) => {
        const button = el("button", { type: "button", class: "sort", onclick: () => {
          const here = state.sort && state.sort.key === c.key;
          state.sort = here && !state.sort.desc ? { key: c.key, desc: true } : here ? null : { key: c.key, desc: false };
          refresh();
        } }, c.label);
        const th = el("th", { title: c.description, class: `k-${c.kind}` }, button);
        sorters.set(c.key, [th, button, c.label]);
        return th;
      }));
      const filters = el("tr", { class: "filter-row" }, columns.map((c) => el("th", null, filterControl(c))));
      head = el("thead", null, names, filters);
      body = el("tbody");
      holder.replaceChildren(el("table", { class: `data explorer-table t-${tbl.name}`, "data-testid": `${tbl.name}-table` }, head, body));
    }

    function filterControl(c) {
      if (c.filter === "select") {
        const chosen = state.filters[c.key] || [];
        const options = [el("option", { value: "" }, "all")];
        // a link's several values, or a value no row has, is shown as it is, never as "all"
        const shownAsIs = chosen.length > 1 || (chosen.length === 1 && !c.order.includes(chosen[0]));
        if (shownAsIs) options.push(el("option", { value: MULTI, selected: true }, chosen.join(" or ")));
        for (const v of c.facets) {
          const t = token(v.value);
          options.push(el("option", { value: t, selected: chosen.length === 1 && chosen[0] === t }, `${v.label} (${num(v.count)})`));
        }
        return el("select", { "aria-label": `Filter ${c.label}`, "data-filter": c.key, onchange: (e) => {
          const value = e.target.value;
          if (value === MULTI) return;
          if (value) state.filters[c.key] = [value]; else delete state.filters[c.key];
          state.page = 1;
          refresh();
        } }, options);
      }
      const input = el("input", { type: "search", "aria-label": `Filter ${c.label}`, "data-filter": c.key, placeholder: "contains", value: state.texts[c.key] || "" });
      let wait = null;
      input.addEventListener("input", () => {
        clearTimeout(wait);
        wait = setTimeout(() => { state.texts[c.key] = input.value.trim(); state.page = 1; refresh(); }, 150);
      });
      return input;
    }

    function row(i, columns) {
      const tr = el("tr");
      for (const c of columns) {
        const v = cell(c, i);
        let content = cellText(c, v);
        if ((c.kind === "severity" || c.kind === "status") && v !== null) content = chip(c.kind, v);
        else if (c.link === "device" && v !== null) {
          const position = tbl.rows ? tbl.rows[i] : i;
          const href = position >= 0 ? deviceLink(position) : null;
          content = href ? el("a", { href, target: "_blank", rel: "noopener noreferrer", title: "Open this Mac in the Intune admin center" }, content) : content;
        }
        tr.append(el("td", { class: `k-${c.kind} c-${c.key}` }, content));
      }
      return tr;
    }

    function drawPager(total, pages) {
      const move = (page) => { state.page = page; refresh(); };
      pager.replaceChildren(
        el("button", { type: "button", disabled: state.page <= 1, onclick: () => move(state.page - 1) }, "‹ Previous"),
        el("span", { "data-testid": "page" }, ` page ${num(state.page)} of ${num(pages)} `),
        el("button", { type: "button", disabled: state.page >= pages, onclick: () => move(state.page + 1) }, "Next ›"),
      );
    }

    root.refresh = refresh;
    refresh();
    return root;
  }

  let deviceLink = () => null;

  // ---------- charts (inline SVG, drawn to the model's counts) ----------
  function barChart(items, options) {
    const width = 480; const row = 26; const left = options.left || 96; const right = 150;
    const height = items.length * row + 8;
    const max = Math.max(1, ...items.map((i) => i.value));
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": options.label });
    append(chart, [svg("title", null, options.label)]);
    items.forEach((item, k) => {
      const y = 4 + k * row;
      const w = ((width - left - right) * item.value) / max;
      chart.append(
        svg("text", { x: left - 8, y: y + 17, "text-anchor": "end", class: "axis" }, item.label),
        svg("rect", { x: left, y: y + 4, width: Math.max(w, item.value ? 1 : 0), height: row - 8, class: `bar ${item.cls || ""}` }),
        svg("text", { x: left + w + 6, y: y + 17, class: "value" }, item.text),
      );
    });
    return chart;
  }

  function trendChart(points) {
    const width = 520; const height = 180; const pad = 32;
    const xs = (k) => pad + ((width - 2 * pad) * k) / Math.max(1, points.length - 1);
    const ys = (v) => height - pad - ((height - 2 * pad) * v) / 100;
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": "Posture by period, percent of Macs" });
    chart.append(svg("title", null, "Posture by period (percent of Macs without a critical or high failure)"));
    for (const v of [0, 50, 100]) chart.append(svg("line", { x1: pad, x2: width - pad, y1: ys(v), y2: ys(v), class: "grid" }), svg("text", { x: 4, y: ys(v) + 4, class: "axis" }, `${v}%`));
    const known = points.map((p, k) => [p, k]).filter(([p]) => p.posture_pct !== null);
    if (known.length) chart.append(svg("polyline", { points: known.map(([p, k]) => `${xs(k)},${ys(p.posture_pct)}`).join(" "), class: "line" }));
    points.forEach((p, k) => {
      chart.append(svg("text", { x: xs(k), y: height - 8, "text-anchor": "middle", class: "axis" }, p.period));
      if (p.posture_pct !== null) chart.append(svg("circle", { cx: xs(k), cy: ys(p.posture_pct), r: 3, class: "dot" }, svg("title", null, `${p.period}: ${pct(p.posture_pct)}`)));
    });
    return chart;
  }

  // ---------- views ----------
  function banners(m) {
    const out = [];
    const run = m.run;
    if (!run.is_complete) {
      // every part not collected whole, and the rules it silences (report.completeness)
      const parts = run.parts.filter((p) => p.state !== "collected").map((p) =>
        `${p.label}: ${p.state.replace("_", " ")}${p.reason ? ` (${p.reason})` : ""}${p.silenced_rule_ids.length ? `; silences ${p.silenced_rule_ids.join(", ")}` : ""}`);
      out.push(el("div", { class: "banner partial", "data-testid": "partial" }, "PARTIAL DATA: part of the inventory was not collected; counts cover only what was collected.",
        el("ul", null, parts.map((text) => el("li", null, text)))));
    }
    if (run.warnings.length) {
      out.push(el("div", { class: "banner warning", "data-testid": "warnings" }, "Before relying on these numbers:",
        el("ul", null, run.warnings.map((w) => el("li", { "data-warning": w.code }, w.message)))));
    }
    if (run.meta.catalogue_is_stale) {
      out.push(el("div", { class: "banner warning" }, `WARNING: the macOS release catalogue is ${days(run.meta.catalogue_age_days)} old at the as-of date (limit ${days(run.catalogue_stale_after_days)}). OS patch findings may miss recent releases: refresh it with auditor refdata import.`));
    }
    return out;
  }

  const CAUSE_GROUPS = { mac: "the Mac changed:", bar: "the bar moved:", new: "new Macs:", undetermined: "cause undetermined:" };
  const RESOLUTIONS = { unknown: "now unknown", relaxed: "relaxed (bar lowered)" };
  const points = (v) => `${v >= 0 ? "+" : "\u2212"}${Math.abs(v).toFixed(1)} points`;

  // The Population block of the PDF's page one: the Macs Apple Business Manager assigns to the
  // tenant and where they are (docs/findings-json.md, "population"). Every count is the model's;
  // a count the data cannot support is null and says so here, never 0.
  const NOT_COLLECTED = "not collected";

  function populationSection(p) {
    // null: a part behind the count was not collected (whole); `gaps` names it
    const count = (v) => (v === null || v === undefined ? NOT_COLLECTED : num(v));
    const listCut = p.is_collected && p.never_enrolled === null; // the device list is not whole
    const rows = [ // [key, indent, label, shown]
      ["assigned", 0, "Assigned in Apple Business Manager (macOS serials of the tenant's ADE tokens, not deleted)", count(p.assigned)],
      ["enrolled_via_ade", 1, "enrolled through Automated Device Enrollment", count(p.enrolled_via_ade)],
      ["enrolled_otherwise", 1, "enrolled outside ADE", count(p.enrolled_otherwise)],
      ["enrolled_method_unknown", 2, "of those, the enrollment method is unknown", count(p.enrolled_method_unknown)],
      ["not_enrolled", 1, "not enrolled: no managed Mac collected carries the serial", count(p.not_enrolled)],
      ["never_enrolled", 1, listCut
        ? "never enrolled: not shown, because the device list is incomplete (a serial not found may belong to a Mac that was not collected)"
        : "never enrolled: no managed Mac carries the serial (counted only when the device list is whole)",
      listCut ? "not shown" : count(p.never_enrolled)],
      ["managed_not_in_abm", 0, "Managed Macs whose serial Apple Business Manager does not assign (personal, bought elsewhere)", count(p.managed_not_in_abm)],
      ["deleted_in_abm", 0, "Deleted in Apple Business Manager (not counted above)", count(p.deleted_in_abm)],
      ["platform_not_reported", 0, "Serials whose platform Intune does not report (not counted above)", count(p.platform_not_reported)],
      ["devices_without_serial", 0, "Managed Macs that report no serial (cannot be matched)", count(p.devices_without_serial)],
    ];
    const gaps = p.gaps.length ? el("ul", { "data-testid": "population-gaps" }, p.gaps.map((g) => el("li", null, g))) : null;
    const state = !p.is_collected
      ? el("div", { class: "banner partial", "data-testid": "population-state" }, "NOT COLLECTED: the serials Apple Business Manager assigns were not collected, so these counts are unknown.", gaps)
      : !p.is_complete
        ? el("div", { class: "banner partial", "data-testid": "population-state" }, "PARTIAL: the counts cover what was collected; a serial not found among the Macs collected is not counted as never enrolled.", gaps)
        : el("p", { class: "muted small", "data-testid": "population-state" }, "Complete: every serial Apple Business Manager assigns and the whole device list were collected.");
    const tokens = p.tokens.length
      ? table(["ADE token", "#Assigned", "#Through ADE", "#Outside ADE", "#Not enrolled"],
        p.tokens.map((t) => [t.token_name, num(t.assigned), num(t.enrolled_via_ade), num(t.enrolled_otherwise), num(t.not_enrolled)]),
        { "data-testid": "population-tokens" })
      : el("p", { "data-testid": "population-tokens" }, p.is_collected ? "No ADE token assigns a macOS serial." : `Per ADE token: ${NOT_COLLECTED}.`);
    return el("section", { class: "block", "data-testid": "population" },
      el("h2", null, "Population: Macs assigned to Intune in Apple Business Manager"), state,
      table(["Macs", "#Count"], rows.map(([key, indent, label, shown]) => [
        el("span", { class: `indent-${indent}` }, label), el("span", { "data-population": key }, shown)])),
      el("h3", null, "By ADE token"), tokens,
      el("p", { class: "muted small" }, "Each serial an ADE token lists is matched with the serials of the managed Macs. MAC-ADE-001 fails the serials that never enrolled once their grace period is over, MAC-ADE-002 the Macs enrolled outside ADE; the workbook's ABM serials sheet lists every serial."));
  }

  function summaryView(m) {
    const s = m.summary;
    const kpis = s.kpis.filter((k) => k.key !== "devices");
    const worst = s.devices_by_worst.map((w) => ({ label: w.label === "none" ? "no failure" : w.label, value: w.count, text: `${num(w.count)} (${pct(w.pct)})`, cls: `sev-${w.label}` }));
    const severity = s.failing_by_severity.map((r) => ({ label: r.severity, value: r.devices, text: `${num(r.devices)} Macs · ${num(r.results)} results`, cls: `sev-${r.severity}` }));
    const majors = m.distribution.os_majors.map((o) => ({ label: o.label === "not reported" ? o.label : `macOS ${o.label}`, value: o.count, text: `${num(o.count)} (${pct(o.pct)})`, cls: "os" }));
    const attention = s.needs_attention.length ? section("Needs attention now: one line per problem, by severity × Macs",
      el("div", { "data-testid": "attention" }, table(["Severity", "Problem", "Rule", "#Macs", "Which"], s.needs_attention.map((a) => [
        chip("severity", a.severity), a.problem,
        link(a.rule_id, hashOf("findings", { ...emptyState(), filters: { rule_id: [a.rule_id], status: ["fail"] } })),
        a.macs === null ? DASH : num(a.macs),
        `${a.names.join(", ")}${a.entities > a.names.length ? ` and ${num(a.entities - a.names.length)} more` : ""}`])))) : null;
    const why = m.changes && m.changes.previous_period ? section(`Why it changed since ${m.changes.previous_period}`,
      el("p", { "data-testid": "cause-groups" }, `${num(m.changes.new)} new failing results: `,
        m.changes.new_by_group.filter((g) => g.results).map((g) => `${CAUSE_GROUPS[g.kind] || g.kind} ${num(g.macs)} Macs (${num(g.results)} results)`).join(" · ") || "none",
        `. ${num(m.changes.resolved)} resolved: `,
        m.changes.resolved_by_kind.filter((r) => r.results).map((r) => `${RESOLUTIONS[r.kind] || r.kind} ${num(r.results)}`).join(" · ") || "none", "."),
      el("ul", { "data-testid": "causes" }, m.changes.causes.slice(0, 5).map((c) => el("li", null, c.sentence)))) : null;
    const exposure = s.exposure.length ? section("Exposure clock: actively exploited vulnerabilities",
      el("div", { "data-testid": "exposure" }, table(["CVE", "Fixed in macOS", "Fix shipped", "#Days since", "#Macs still exposed"],
        s.exposure.map((c) => [c.cve, c.fixed_in, c.fixed_on, num(c.days_since_fix), num(c.exposed)])))) : null;
    const changes = m.changes;
    return el("div", { class: "view-summary" },
      el("div", { class: "lead" },
        el("div", { class: "posture" },
          el("div", { class: "big", "data-testid": "posture-pct" }, pct(s.posture.pct)),
          el("div", null, `${s.posture.label}: `, el("strong", { "data-testid": "posture-count" }, num(s.posture.count)), " of ", el("strong", { "data-testid": "devices" }, num(s.devices)), " Macs (of the results that could be judged)"),
          s.waivers.waived_results ? el("div", { class: "muted small", "data-testid": "posture-without-waivers" }, `Without waivers: ${pct(s.posture_without_waivers.pct)} (${num(s.posture_without_waivers.count)} Macs); ${num(s.waivers.waived_results)} failing results are waived.`) : null,
          changes && changes.previous_posture_pct !== null ? el("div", { "data-testid": "posture-delta" }, `Last period (${changes.previous_period}): ${pct(changes.previous_posture_pct)}`, changes.posture_delta_pts !== null ? el("strong", null, ` · ${points(changes.posture_delta_pts)}`) : null) : null,
          s.serious_unknown_devices ? el("div", { class: "muted small", "data-testid": "serious-unknown" }, `${num(s.serious_unknown_devices)} Macs had an unknown on a critical or high rule: not judged there.`) : null),
        table(["Fact", "Value"], [
          ["Report", `as of ${m.run.meta.as_of} · generated ${stamp(m.run.meta.generated_at)} (period ${m.period})`],
          ["Newest check-in", day(s.newest_sync_at)],
          ["Oldest check-in", `${day(s.oldest_sync_at)}${s.never_synced ? ` (${num(s.never_synced)} without a check-in date)` : ""}`],
          ["Release catalogue", `${m.run.meta.catalogue_as_of} (${days(m.run.meta.catalogue_age_days)} old${m.run.meta.catalogue_is_stale ? ", WARNING: stale" : ""})`],
          ["Data", `${m.run.is_complete ? "complete: every part collected" : `PARTIAL: ${m.run.parts.filter((p) => p.state === "collected").length} of ${m.run.parts.length} parts collected`} · source ${m.run.meta.source}`],
          ...(changes ? [["Since last period", `${num(changes.new)} new · ${num(changes.resolved)} resolved · ${num(changes.persisting)} persisting failures (vs ${changes.previous_period || "no earlier period"})`]] : []),
        ], { class: "data facts" })),
      why, exposure, attention,
      el("div", { class: "charts" },
        section("Macs by their worst failure", barChart(worst, { label: "Macs by their worst failing severity; each Mac counted once" }),
          el("p", { class: "muted small" }, "Each Mac counted once, at its most severe unwaived failure.")),
        section("Failures by severity", barChart(severity, { label: "Macs with a failure at each severity" }),
          el("p", { class: "muted small", "data-testid": "status-counts" }, "All results: ", s.status_counts.map(([st, n]) => `${st} ${num(n)}`).join(" · "))),
        section("macOS majors", barChart(majors, { label: "Macs per macOS major version" })),
        changes && changes.trend.length > 1 ? section("Posture trend", trendChart(changes.trend)) : null),
      section("Key numbers", table(["Macs", "#count", "#share", "#not reported"], kpis.map((k) => [
        el("span", { "data-kpi": k.key }, k.label),
        el("span", { "data-kpi-count": k.key }, k.state === "measured" ? num(k.count) : k.state.replace("_", " ")),
        k.state === "measured" ? pct(k.pct) : DASH, num(k.unknown)]))),
      populationSection(m.population),
      section("Top device rules: most severe first, then most failing Macs",
        s.top_rules.length ? table(["Rule", "Severity", "Problem", "#Failing Macs"], s.top_rules.map((r) => [
          link(r.rule_id, hashOf("findings", { ...emptyState(), filters: { rule_id: [r.rule_id], status: ["fail"] } })),
          chip("severity", r.severity), r.problem || r.title, num(r.failed)])) : el("p", null, "No device rule fails.")),
    );
  }

  function rulesView(m) {
    const byId = Object.fromEntries(m.rules.map((r) => [r.rule_id, r]));
    if (!m.sections.length) return el("p", null, "No rule fails.");
    return el("div", null, el("p", { class: "muted" }, "One card per failing rule, most severe first. Each links to its failing Macs or objects in the Findings table."),
      m.sections.map((id) => {
        const r = byId[id];
        return el("article", { class: "rule-card", "data-rule": id },
          el("h3", null, chip("severity", r.severity), ` ${r.rule_id} `, r.title),
          el("p", null, `${num(r.failed)} failing (${pct(r.fail_pct)} of those judged) · ${num(r.passed)} passing · ${num(r.unknown)} unknown · ${num(r.waived)} waived · ${num(r.not_applicable)} not applicable`),
          el("p", null, link(`Show the ${num(r.failed)} failing ${r.entity_type === "device" ? "Macs" : "entities"} →`, hashOf("findings", { ...emptyState(), filters: { rule_id: [id], status: ["fail"] } }))),
          el("dl", null,
            el("dt", null, "Scope"), el("dd", null, r.scope_text || DASH),
            el("dt", null, "Fails when"), el("dd", null, r.fails_when || DASH),
            el("dt", null, "Why"), el("dd", null, r.rationale),
            el("dt", null, "Fix"), el("dd", null, r.remediation),
            r.params.length ? [el("dt", null, "Parameters"), el("dd", null, r.params_text)] : null,
            el("dt", null, "Controls"), el("dd", null, r.controls_text || DASH),
            r.references.length ? [el("dt", null, "References"), el("dd", null, el("ul", null, r.references.map((u) => el("li", null, el("a", { href: u, target: "_blank", rel: "noopener noreferrer" }, u)))))] : null));
      }));
  }

  function tenantView(m) {
    const t = m.tenant;
    return el("div", null,
      section("Apple push certificate and enrollment restrictions", table(["Item", "Value"], [
        ["Tenant", dash(t.tenant_id)],
        ["APNs certificate expires", `${day(t.apns_expires_at)} (${t.apns_days_left === null ? DASH : `${days(t.apns_days_left)} left`})`],
        ["APNs Apple ID", dash(t.apns_apple_id)],
        ["Personal Macs blocked from enrolling", yesno(t.personal_enrollment_blocked)],
        ["macOS enrollment blocked", yesno(t.macos_enrollment_blocked)],
      ])),
      section("Automated Device Enrollment tokens", t.tokens.length ? table(["Token", "Apple ID", "Type", "Expires", "#Days left", "Last sync", "#Days since sync", "#Sync error", "#Macs synced"],
        t.tokens.map((k) => [dash(k.token_name || k.token_id), dash(k.apple_id), dash(k.token_type), day(k.expires_at), num(k.days_left), day(k.last_sync_at), num(k.days_since_sync), num(k.last_sync_error_code), num(k.synced_device_count)]))
        : el("p", null, "No ADE token was collected.")),
      section("Device enrollment manager accounts", t.dem_accounts.length ? table(["Account", "#Macs", "#Share"], t.dem_accounts.map((d) => [d.label, num(d.count), pct(d.pct)])) : el("p", null, "No DEM account was collected.")),
      section("Tenant rule results", t.results.length ? table(["Rule", "Severity", "Entity", "Status", "Detail"], t.results.map((r) => [r.rule_id, chip("severity", r.severity), r.entity_name, chip("status", r.status), dash(r.detail)])) : el("p", null, "No tenant rule ran.")));
  }

  function changesView(m) {
    const c = m.changes;
    if (!c) return el("p", null, "No history: this run was not compared with an earlier period (history is off, or this is the first recorded run).");
    return el("div", null,
      section(`Since ${c.previous_period || "the first recorded period"}`, table(["Change", "#Failures"], [["new", num(c.new)], ["resolved", num(c.resolved)], ["persisting", num(c.persisting)]]),
        el("p", { class: "muted small" }, "New by severity: ", c.new_by_severity.map(([s, n]) => `${s} ${num(n)}`).join(" · "))),
      c.trend.length > 1 ? section("Posture trend", trendChart(c.trend)) : null,
      section("Rules whose failures changed", c.per_rule.length ? table(["Rule", "Severity", "#Previous", "#Now", "#Delta", "#New", "#Resolved", "#Persisting"],
        c.per_rule.map((d) => [d.rule_id, d.severity ? chip("severity", d.severity) : DASH, num(d.previous_fail), num(d.current_fail), signed(d.delta), num(d.new), num(d.resolved), num(d.persisting)])) : el("p", null, "No rule's failures changed.")),
      section("Every changed finding", tables.changes ? tableView(tables.changes) : el("p", null, "None.")));
  }

  function qualityView(m) {
    const q = m.quality;
    const run = m.run;
    return el("div", null,
      section("Collection", el("p", null, run.is_complete ? "Every part of the inventory was collected." : "PARTIAL: part of the inventory was not collected; the rules it feeds give unknown or no result."),
        table(["Part", "State", "Reason", "Rules it silences"], run.parts.map((p) => [p.label, p.state.replace("_", " "), dash(p.reason), dash(p.silenced_rule_ids.join(", "))]))),
      section("Undecided results (unknown) by rule", q.unknowns.length ? table(["Rule", "Passing state", "#Unknown", "Commonest reason", "#Times"],
        q.unknowns.map((u) => [link(u.rule_id, hashOf("findings", { ...emptyState(), filters: { rule_id: [u.rule_id], status: ["unknown"] } })), u.title, num(u.count), dash(u.top_reason), num(u.top_reason_count)])) : el("p", null, "Every rule could decide for every entity.")),
      section("Normalization notes", q.notes.length ? table(["Field", "Problem", "#Count", "Examples", "Source"], q.notes.map((n) => [n.field, n.problem, num(n.count), n.examples.join(" · "), dash(n.source)])) : el("p", null, "None.")),
      section("Check-ins", el("p", null, `${num(q.never_synced)} Macs have no check-in date.`)));
  }

  function waiversView(m) {
    return m.waivers.length ? el("div", null, el("p", { class: "muted" }, "Every waiver with what became of it in this run: applied, expired (the failure counts again) or unmatched."),
      table(["Waiver", "Rule", "Covers", "Reason", "Approver", "Ticket", "Expires", "State", "#Matched", "Defined in"],
        m.waivers.map((w) => [w.waiver_id, w.rule_id, w.selector, w.reason, w.approver, w.ticket, w.expires, w.state, num(w.matched), w.origin])))
      : el("p", null, "No waiver was configured.");
  }

  function methodView(m) {
    const meta = m.run.meta;
    const own = m.own_mappings.map(([f, ids]) => `${f} (${ids.join(", ")})`).join("; ");
    return el("div", null,
      section("Methodology",
        el("p", null, `The inventory came from ${meta.source} and was normalized into typed tables; each rule gave every Mac (or tenant object) one status as of ${meta.as_of}: pass, fail, unknown (an input the rule needs is missing or unreadable; never counted as a pass), not applicable (outside the rule's scope) or waived (a failure covered by an unexpired waiver). Posture is the share of Macs without an unwaived critical or high failure.`),
        m.summary.patch_rule_ids.length ? el("p", null, `"On a supported and patched macOS" counts Macs that pass (or are out of scope of) every OS patch rule: ${m.summary.patch_rule_ids.join(", ")}.`) : null,
        el("p", null, `OS rules compare against the macOS release catalogue dated ${meta.catalogue_as_of} (${meta.catalogue_source}, ${days(meta.catalogue_age_days)} old at the as-of date${meta.catalogue_is_stale ? ": WARNING, stale" : ""}). Produced by auditor ${meta.tool_version}; configuration sha256 ${dash(meta.config_digest)}; waivers sha256 ${dash(meta.waivers_digest)}.`),
        own ? el("p", null, `Control mappings marked ${m.own_mapping_mark} are this project's own mapping, not a published one: ${own}.`) : null,
        el("p", null, `A Mac's name links to its page in the Intune admin center (${m.admin_center_url}); you need to be signed in to that tenant. This file fetches nothing: the link opens only when you follow it.`)),
      section("Inputs", m.run.inputs.length ? table(["Input", "Kind", "sha256", "#Records"], m.run.inputs.map((i) => [i.path, i.kind, el("code", null, i.sha256), num(i.records)])) : el("p", null, "No input file was recorded.")),
      section("Rule catalogue", table(["Rule", "Passing state · fails when", "Severity", "Outcome", "#Fail", "#Pass", "#Unknown", "#Waived", "#N/A", "Controls", "References"],
        m.rules.map((r) => [r.rule_id, [r.title, r.fails_when ? el("span", { class: "muted" }, ` · ${r.fails_when}`) : null, r.params.length ? el("div", { class: "small" }, `Parameters: ${r.params_text}`) : null],
          chip("severity", r.severity), r.outcome.replace("_", " "), num(r.failed), num(r.passed), num(r.unknown), num(r.waived), num(r.not_applicable), dash(r.controls_text),
          r.references.map((u) => el("a", { href: u, target: "_blank", rel: "noopener noreferrer", class: "ref" }, u))]), { class: "data small" })));
  }

  // ---------- the app ----------
  let model = null;
  const tables = {};
  const built = {};

  function show(view) {
    if (!VIEWS.some(([v]) => v === view)) view = "summary";
    current = view;
    for (const button of document.querySelectorAll("#tabs button")) button.setAttribute("aria-current", button.dataset.view === view ? "page" : "false");
    for (const node of document.querySelectorAll("main > section.view")) {
      node.hidden = node.dataset.view !== view;
      node.classList.toggle("current", node.dataset.view === view);
    }
    if (!built[view]) {
      const body = el("div", { class: "view-body" }, draw(view));
      document.querySelector(`main > section.view[data-view="${view}"]`).append(body);
      built[view] = body;
    }
  }

  function draw(view) {
    switch (view) {
      case "summary": return summaryView(model);
      case "rules": return rulesView(model);
      case "findings": return tableView(tables.findings, el("p", { class: "muted" }, "Every non-passing result: fail, unknown or waived. Filter a column with the row under its name; the address bar keeps the view, so a link to it opens the same filtered list."));
      case "devices": return tableView(tables.devices, el("p", { class: "muted" }, "Every Mac with its status per device rule. A rule's column filters Macs by status: pick fail under MAC-BST-001 for the Macs without an escrowed bootstrap token."));
      case "tenant": return tenantView(model);
      case "changes": return changesView(model);
      case "quality": return qualityView(model);
      case "waivers": return waiversView(model);
      default: return methodView(model);
    }
  }

  function applyHash() {
    const { view, state } = parseHash();
    const name = view in tables ? view : null;
    if (name) {
      const same = hashOf(view, tableState[name]) === hashOf(view, state);
      if (!same) {
        Object.assign(tableState[name], state);
        if (built[view]) { built[view].replaceChildren(draw(view)); }
      }
    }
    show(view);
  }

  async function start() {
    try {
      model = await loadData();
      perf.parsed = performance.now();
    } catch (error) {
      document.getElementById("loading").textContent = `The report's data could not be read: ${error.message}`;
      return;
    }
    tables.devices = prepareTable(model.tables.devices, null);
    tables.findings = prepareTable(model.tables.findings, tables.devices);
    if (model.tables.changes) tables.changes = prepareTable(model.tables.changes, null);
    perf.prepared = performance.now();
    for (const name of Object.keys(tables)) tableState[name] = emptyState();
    const linkColumn = { ...model.device_links, n: tables.devices.n };
    const links = linkColumn.codes ? { dict: linkColumn.dict, codes: Int32Array.from(linkColumn.codes) } : { values: linkColumn.values };
    deviceLink = (position) => (links.codes ? (links.codes[position] < 0 ? null : links.dict[links.codes[position]]) : links.values[position]);
    document.getElementById("alerts").replaceChildren(...banners(model));
    const nav = document.getElementById("tabs");
    nav.replaceChildren(...VIEWS.map(([view, name]) => el("button", { type: "button", "data-view": view, onclick: () => go(hashOf(view, tableState[view])) }, name)));
    const main = document.getElementById("app");
    main.replaceChildren(...VIEWS.map(([view, name]) => el("section", { class: view in tables ? "view interactive" : "view static", "data-view": view, hidden: true, "aria-label": name },
      el("h2", { class: "view-title" }, name))));
    window.addEventListener("hashchange", applyHash);
    window.addEventListener("popstate", applyHash);
    window.addEventListener("beforeprint", () => {
      const reading = current;
      for (const [view] of VIEWS) if (!(view in tables) && !built[view]) show(view);
      show(reading);
    });
    applyHash();
    perf.ready = performance.now();
    document.body.dataset.ready = "1";
  }

  start();
})();
