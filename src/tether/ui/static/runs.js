// tether dashboard: the store's runs, one run's live log, and its pending approvals.
"use strict";

let runsTimer = null;  // the poll of the runs list
let runFilters = { state: "", agent: "" };
let knownAgents = [];

function stopRuns() {
  if (runsTimer) { clearInterval(runsTimer); runsTimer = null; }
}

function fmtArgs(value) {
  try { return JSON.stringify(value); } catch (e) { return String(value); }
}

function runPick(name, options) {
  return el("select", {
    id: "run-filter-" + name,
    onchange: (e) => { runFilters[name] = e.target.value; loadRuns(); },
  }, el("option", { value: "" }, "any"), options.map((o) => {
    const opt = el("option", { value: o }, o);
    if (runFilters[name] === o) opt.selected = true;
    return opt;
  }));
}

function renderRuns(runs) {
  for (const r of runs) if (!knownAgents.includes(r.agent)) knownAgents.push(r.agent);
  knownAgents.sort();
  const states = ["running", "awaiting_approval", "awaiting_input", "awaiting_deferred",
    "completed", "degraded", "failed", "cancelled", "interrupted"];
  const rows = runs.map((r) => el("tr", {
    class: "run-row", "data-run-id": r.run_id, "data-state": r.state,
    onclick: () => { location.hash = "#/run/" + encodeURIComponent(r.run_id); },
  },
    el("td", { class: "mono" }, r.run_id),
    el("td", {}, r.agent),
    el("td", {}, el("span", { class: "state " + r.state }, r.state)),
    el("td", {}, new Date(r.started_at * 1000).toLocaleString()),
    el("td", {}, String(r.turns)),
    el("td", {}, String(r.tokens)),
    el("td", { class: "run-cost" }, cost(r.cost)),
    el("td", { class: "run-pending" }, r.pending_approvals.length ?
      el("span", { class: "state awaiting_approval" }, `${r.pending_approvals.length} pending`) : ""),
  ));
  view.replaceChildren(
    el("div", { class: "filters" },
      el("label", {}, "state", runPick("state", states)),
      el("label", {}, "agent", runPick("agent", knownAgents)),
      el("span", { class: "mono", id: "run-count" }, `${runs.length} run(s)`)),
    runs.length ? el("table", { id: "runs" },
      el("thead", {}, el("tr", {}, ["run", "agent", "state", "started", "turns", "tokens",
        "cost", "approvals"].map((h) => el("th", {}, h)))),
      el("tbody", {}, rows))
      : el("div", { class: "empty" }, "No runs in the store."));
}

function loadRuns() {
  const query = new URLSearchParams();
  if (runFilters.state) query.set("state", runFilters.state);
  if (runFilters.agent) query.set("agent", runFilters.agent);
  return fetch("/api/runs?" + query).then((r) => r.json().then((b) => [r.ok, b]))
    .then(([ok, body]) => {
      if (location.hash !== "#/runs") return;  // the page moved on while this was loading
      if (!ok) {
        view.replaceChildren(el("div", { class: "empty error-text", id: "runs-error" },
          (body.error && body.error.message) || "error"));
        stopRuns();
        return;
      }
      renderRuns(body.runs);
    });
}

function showRuns() {
  view.replaceChildren(el("div", { class: "empty" }, "Loading runs…"));
  loadRuns();
  runsTimer = setInterval(loadRuns, 1000);
}

function describeEvent(e) {
  switch (e.type) {
    case "run_started": return `agent ${e.agent}`;
    case "turn_started": return `turn ${e.turn} (${e.model || "model"})`;
    case "model_response": return (e.parts || []).map((p) => p.text ||
      (p.name ? `${p.name}(${p.arguments})` : "")).join(" ");
    case "tool_call_started": return `${e.tool_name}(${fmtArgs(e.args)})`;
    case "tool_call_finished": return `${e.tool_name} → ${e.error || e.content}`;
    case "approval_requested": return `${e.tool_name}(${fmtArgs(e.args)}) waits for approval`;
    case "approval_decided": return `${e.call_id} ${e.approved ? "approved" : "rejected"}` +
      (e.reason ? `: ${e.reason}` : "");
    case "tool_args_edited": return `${e.tool_name} arguments edited to ${fmtArgs(e.args)}`;
    case "run_finished": return `${e.state}${e.error ? ": " + e.error : ""}`;
    default: return "";
  }
}

function decide(runId, callId, approved, reason, options) {
  const status = document.getElementById("decision-status");
  return fetch(`/api/runs/${encodeURIComponent(runId)}/approvals/${encodeURIComponent(callId)}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ approved, reason: reason || null, ...(options || {}) }),
  }).then((r) => r.json().then((body) => {
    if (status) {
      status.textContent = r.ok ? `${callId} ${body.decision}` +
        (body.resuming ? "; the run goes on" : "; resume it with tether runs resume")
        : ((body.error && body.error.message) || "error");
      status.className = r.ok ? "decision ok" : "decision error-text";
    }
  }));
}

// What a person typed (a rejection reason, edited arguments, an expiry), by call id: the view
// is rebuilt on every live update of the run, and the text must survive that.
const typedReasons = {};
const typedArgs = {};
const typedExpiry = {};

function kept(input, store, callId) {
  if (store[callId] !== undefined) input.value = store[callId];
  input.addEventListener("input", () => { store[callId] = input.value; });
  return input;
}

// Approve what the person saw: the pending call's args_digest always (a call whose arguments
// changed since is refused), the edited arguments when the text differs, the expiry if given.
function approve(runId, p, argsInput, expiryInput) {
  const options = { args_digest: p.args_digest };
  const shown = JSON.stringify(p.args);
  if (argsInput.value.trim() !== shown) {
    let edited;
    try { edited = JSON.parse(argsInput.value); } catch (_) { edited = null; }
    if (edited === null || typeof edited !== "object" || Array.isArray(edited)) {
      const status = document.getElementById("decision-status");
      status.textContent = "the arguments must be a JSON object";
      status.className = "decision error-text";
      return;
    }
    options.args = edited;
  }
  if (expiryInput.value.trim()) options.expires_in = Number(expiryInput.value);
  decide(runId, p.call_id, true, null, options);
}

function renderRun(run) {
  const usage = run.usage || {};
  const approvals = run.pending_approvals.map((p) => {
    const reason = kept(el("input", { type: "text", class: "reason", placeholder: "reason (reject)" }),
      typedReasons, p.call_id);
    const args = kept(el("input", { type: "text", class: "args mono", title: "the arguments (edit to approve others)" }),
      typedArgs, p.call_id);
    if (typedArgs[p.call_id] === undefined) args.value = JSON.stringify(p.args);
    const expiry = kept(el("input", { type: "number", min: "1", class: "expires",
      placeholder: "expires in s" }), typedExpiry, p.call_id);
    return el("div", { class: "approval", "data-call-id": p.call_id },
      el("b", {}, p.tool_name), el("span", { class: "mono" }, fmtArgs(p.args)),
      el("span", { class: "mono dim" }, p.call_id), args, expiry, reason,
      el("button", { class: "approve", onclick: () => approve(run.run_id, p, args, expiry) },
        "Approve"),
      el("button", { class: "reject",
        onclick: () => decide(run.run_id, p.call_id, false, reason.value) }, "Reject"));
  });
  const log = run.events.map((e) => el("li", { class: "log-event", "data-type": e.type },
    el("span", { class: "mono seq" }, String(e.seq)),
    el("span", { class: "type" }, e.type),
    el("span", { class: "what" }, describeEvent(e))));
  const status = document.getElementById("decision-status");
  view.replaceChildren(
    el("div", {}, el("a", { href: "#/runs" }, "← all runs")),
    el("h2", { class: "mono" }, run.run_id, " ",
      el("span", { class: "state " + run.state, id: "run-state" }, run.state)),
    el("div", { class: "totals" },
      el("div", {}, el("b", {}, run.agent), el("span", {}, "agent")),
      el("div", {}, el("b", {}, String(run.turns)), el("span", {}, "turns")),
      el("div", {}, el("b", {}, String((usage.input_tokens || 0) + (usage.output_tokens || 0))),
        el("span", {}, "tokens")),
      el("div", {}, el("b", { id: "run-cost" }, cost(usage.cost)), el("span", {}, "cost"))),
    run.final_text ? el("div", { class: "answer", id: "run-answer" }, run.final_text) : null,
    run.error ? el("div", { class: "error-text", id: "run-error" }, run.error) : null,
    approvals.length ? el("div", { id: "approvals" }, el("h3", {}, "Pending approvals"),
      approvals) : null,
    status || el("div", { id: "decision-status", class: "decision" }),
    el("h3", {}, "Log"),
    el("ol", { id: "run-log" }, log));
}

function showRun(runId) {
  view.replaceChildren(el("div", { class: "empty" }, "Loading run…"));
  const url = "/api/runs/" + encodeURIComponent(runId);
  fetch(url).then((r) => r.json().then((body) => [r.ok, body])).then(([ok, body]) => {
    if (!ok) {
      view.replaceChildren(el("div", { class: "empty error-text" }, (body.error && body.error.message) || "error"));
      return;
    }
    renderRun(body);
    listen(url + "/stream", "run", (update) => {
      renderRun(update);
      if (!["running", "awaiting_approval", "awaiting_input", "awaiting_deferred"]
        .includes(update.state) && source) {
        source.close();
        source = null;
        liveDot.classList.remove("on");
      }
    });
  });
}
