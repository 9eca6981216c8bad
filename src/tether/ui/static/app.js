// tether trace dashboard: a list of traces and one trace as a waterfall, updated over SSE.
"use strict";

const view = document.getElementById("view");
const liveDot = document.getElementById("live-dot");
let source = null;          // the EventSource of the current page
let selectedSpan = null;    // span id shown in the details panel
let filters = { agent: "", state: "", errors: false, min_cost: "", max_cost: "" };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return node;
}

function ms(value) {
  if (value === null || value === undefined) return "…";
  return value >= 1000 ? (value / 1000).toFixed(2) + " s" : value.toFixed(1) + " ms";
}

function cost(value) {
  if (value === null || value === undefined) return "$?";
  return "$" + (value < 0.01 ? value.toFixed(6) : value.toFixed(4));
}

function listen(url, event, handler) {
  if (source) source.close();
  source = new EventSource(url);
  source.addEventListener(event, (e) => handler(JSON.parse(e.data)));
  source.onopen = () => liveDot.classList.add("on");
  source.onerror = () => liveDot.classList.remove("on");
}

// -- the list ------------------------------------------------------------------------------

function matches(t) {
  if (filters.agent && t.agent !== filters.agent) return false;
  if (filters.state && t.state !== filters.state) return false;
  if (filters.errors && !t.errors) return false;
  const c = t.cost || 0;
  if (filters.min_cost !== "" && c < Number(filters.min_cost)) return false;
  if (filters.max_cost !== "" && c > Number(filters.max_cost)) return false;
  return true;
}

function renderList(traces) {
  const agents = [...new Set(traces.map((t) => t.agent))].sort();
  const states = ["running", "completed", "degraded", "failed", "cancelled", "interrupted",
    "awaiting_approval"];
  const pick = (name, options) => el("select", {
    id: "filter-" + name,
    onchange: (e) => { filters[name] = e.target.value; renderList(traces); },
  }, el("option", { value: "" }, "any"),
     options.map((o) => {
       const opt = el("option", { value: o }, o);
       if (filters[name] === o) opt.selected = true;
       return opt;
     }));
  const number = (name) => {
    const input = el("input", { type: "number", step: "any", min: "0", id: "filter-" + name,
      onchange: (e) => { filters[name] = e.target.value; renderList(traces); } });
    input.value = filters[name];
    return input;
  };
  const errors = el("input", { type: "checkbox", id: "filter-errors",
    onchange: (e) => { filters.errors = e.target.checked; renderList(traces); } });
  errors.checked = filters.errors;
  const shown = traces.filter(matches);
  const rows = shown.map((t) => el("tr", {
    class: "trace-row", "data-trace-id": t.trace_id,
    onclick: () => { location.hash = "#/trace/" + encodeURIComponent(t.trace_id); },
  },
    el("td", { class: "mono" }, t.trace_id),
    el("td", {}, t.agent),
    el("td", {}, el("span", { class: "state " + t.state }, t.state)),
    el("td", {}, new Date(t.started_at * 1000).toLocaleString()),
    el("td", {}, ms(t.duration_ms)),
    el("td", {}, String((t.usage.input_tokens || 0) + (t.usage.output_tokens || 0))),
    el("td", {}, cost(t.cost)),
    el("td", {}, String(t.errors)),
  ));
  view.replaceChildren(
    el("div", { class: "filters" },
      el("label", {}, "agent", pick("agent", agents)),
      el("label", {}, "state", pick("state", states)),
      el("label", {}, errors, "with errors"),
      el("label", {}, "cost ≥", number("min_cost")),
      el("label", {}, "cost ≤", number("max_cost")),
      el("span", { class: "mono", id: "trace-count" }, `${shown.length} of ${traces.length}`)),
    shown.length ? el("table", { id: "traces" },
      el("thead", {}, el("tr", {}, ["trace", "agent", "state", "started", "duration",
        "tokens", "cost", "errors"].map((h) => el("th", {}, h)))),
      el("tbody", {}, rows))
      : el("div", { class: "empty" }, "No traces match."),
  );
}

function showList() {
  selectedSpan = null;
  view.replaceChildren(el("div", { class: "empty" }, "Loading traces…"));
  listen("/api/stream", "traces", (data) => renderList(data.traces));
}

// -- one trace -----------------------------------------------------------------------------

function flatten(spans, depth = 0, out = []) {
  for (const span of spans) {
    out.push([depth, span]);
    flatten(span.children, depth + 1, out);
  }
  return out;
}

function block(title, value) {
  if (value === null || value === undefined || value === "" ||
      (Array.isArray(value) && !value.length)) return null;
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  return [el("h4", {}, title), el("pre", {}, text)];
}

function renderDetails(span) {
  const a = span.attributes;
  const inputs = span.kind === "model" ? a.input : span.kind === "run" ? a.input : a.args;
  const outputs = span.kind === "model" ? a.output
    : span.kind === "run" ? (a.output ?? a.final_text) : (a.output ?? a.content);
  const rest = Object.fromEntries(Object.entries(a).filter(([k]) =>
    !["input", "output", "args", "content", "final_text"].includes(k)));
  return el("div", { class: "details", id: "details", "data-span-id": span.span_id },
    el("h3", {}, span.name),
    el("div", { class: "mono" }, `${span.kind} · ${span.status} · ${ms(span.duration_ms)}`),
    span.error ? el("div", { class: "error-text", id: "details-error" }, span.error) : null,
    block("inputs", inputs),
    block("outputs", outputs),
    a.usage ? block("usage", a.usage) : null,
    block("attributes", rest));
}

function renderTrace(trace) {
  const rows = flatten(trace.spans);
  const start = trace.started_at;
  const now = Date.now() / 1000;
  const end = Math.max(trace.ended_at || now, ...rows.map(([, s]) => s.end || now));
  const total = Math.max(end - start, 1e-6);
  const byId = Object.fromEntries(rows.map(([, s]) => [s.span_id, s]));
  if (!selectedSpan || !byId[selectedSpan]) selectedSpan = rows.length ? rows[0][1].span_id : null;
  const usage = trace.usage || {};
  const waterfall = el("div", { class: "waterfall", id: "waterfall" }, rows.map(([depth, s]) => {
    const left = ((s.start - start) / total) * 100;
    const width = (((s.end || now) - s.start) / total) * 100;
    const cls = "bar " + s.kind + (s.status === "error" ? " error" : "") +
      (s.status === "degraded" ? " degraded" : "") +
      (s.end === null ? " running" : "");
    return el("div", {
      class: "span-row" + (s.span_id === selectedSpan ? " selected" : ""),
      "data-span-id": s.span_id, "data-kind": s.kind, "data-status": s.status,
      onclick: () => { selectedSpan = s.span_id; renderTrace(trace); },
    },
      el("div", { class: "span-name", style: `padding-left:${depth * 14}px` },
        el("span", { class: "kind" }, s.kind), s.name),
      el("div", { class: "track" },
        el("div", { class: cls, style: `left:${left}%;width:${Math.max(width, 0.2)}%` })),
      el("div", { class: "dur" }, ms(s.duration_ms)));
  }));
  view.replaceChildren(
    el("div", {}, el("a", { href: "#/" }, "← all traces")),
    el("h2", { class: "mono" }, trace.trace_id, " ",
      el("span", { class: "state " + trace.state, id: "trace-state" }, trace.state)),
    el("div", { class: "totals", id: "totals" },
      el("div", {}, el("b", {}, trace.agent), el("span", {}, "agent")),
      el("div", {}, el("b", {}, ms(trace.duration_ms)), el("span", {}, "duration")),
      el("div", {}, el("b", { id: "total-tokens" },
        String((usage.input_tokens || 0) + (usage.output_tokens || 0))),
        el("span", {}, `tokens (${usage.input_tokens || 0} in / ${usage.output_tokens || 0} out)`)),
      el("div", {}, el("b", { id: "total-cost" }, cost(trace.cost)), el("span", {}, "cost")),
      el("div", {}, el("b", {}, String(trace.errors)), el("span", {}, "errors")),
      el("div", {}, el("b", {}, String(rows.length)), el("span", {}, "spans"))),
    el("div", { class: "layout" }, waterfall,
      selectedSpan ? renderDetails(byId[selectedSpan]) : el("div")));
}

function showTrace(traceId) {
  selectedSpan = null;
  view.replaceChildren(el("div", { class: "empty" }, "Loading trace…"));
  const url = "/api/traces/" + encodeURIComponent(traceId);
  fetch(url).then((r) => r.json().then((body) => [r.ok, body])).then(([ok, body]) => {
    if (!ok) {
      view.replaceChildren(el("div", { class: "empty error-text" }, (body.error && body.error.message) || "error"));
      return;
    }
    renderTrace(body);
    if (body.state !== "running") return;
    listen(url + "/stream", "trace", (update) => {
      renderTrace(update);
      if (update.state !== "running" && source) {  // finished: no reconnecting
        source.close();
        source = null;
        liveDot.classList.remove("on");
      }
    });
  });
}

// -- routing -------------------------------------------------------------------------------

function route() {
  if (source) { source.close(); source = null; liveDot.classList.remove("on"); }
  stopRuns();
  const match = location.hash.match(/^#\/trace\/(.+)$/);
  const run = location.hash.match(/^#\/run\/(.+)$/);
  for (const link of document.querySelectorAll("nav a")) {
    link.classList.toggle("active", (link.dataset.page === "runs") === !!(run ||
      location.hash === "#/runs"));
  }
  if (match) showTrace(decodeURIComponent(match[1]));
  else if (run) showRun(decodeURIComponent(run[1]));
  else if (location.hash === "#/runs") showRuns();
  else showList();
}

window.addEventListener("hashchange", route);
route();
