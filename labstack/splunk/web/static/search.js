"use strict";
const MAX_ROWS = 1000;
const $ = (id) => document.getElementById(id);
let key = sessionStorage.getItem("splunkSessionKey");

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

async function api(method, path, form) {
  const body = form ? new URLSearchParams(form) : undefined;
  const resp = await fetch(path, {
    method, body, headers: key ? {Authorization: "Splunk " + key} : {},
  });
  if (resp.status === 401) { showLogin(); throw new Error("Your session expired: log in again."); }
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (!resp.ok) {
    const msg = data && data.messages && data.messages.length ? data.messages[data.messages.length - 1].text : resp.statusText;
    throw new Error(msg);
  }
  return data;
}

function showLogin() {
  key = null; sessionStorage.removeItem("splunkSessionKey");
  $("login").classList.remove("hidden");
  $("search-view").classList.add("hidden"); $("saved-view").classList.add("hidden");
  $("logout").classList.add("hidden");
}

function showTab(name) {
  $("login").classList.add("hidden"); $("logout").classList.remove("hidden");
  $("search-view").classList.toggle("hidden", name !== "search");
  $("saved-view").classList.toggle("hidden", name !== "saved");
  $("tab-search").classList.toggle("on", name === "search");
  $("tab-saved").classList.toggle("on", name === "saved");
  if (name === "saved") loadSaved();
}

$("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("login-error").textContent = "";
  const resp = await fetch("/services/auth/login", {
    method: "POST",
    body: new URLSearchParams({username: $("user").value, password: $("password").value, output_mode: "json"}),
  });
  if (!resp.ok) { $("login-error").textContent = "Login failed"; return; }
  key = (await resp.json()).sessionKey;
  sessionStorage.setItem("splunkSessionKey", key);
  $("password").value = "";
  showTab("search");
});
$("logout").addEventListener("click", showLogin);
$("tab-search").addEventListener("click", () => key && showTab("search"));
$("tab-saved").addEventListener("click", () => key && showTab("saved"));

function qualify(spl) {
  const text = spl.trim();
  return text.startsWith("|") || /^search(\s|$)/.test(text) ? text : "search " + text;
}

async function runSearch(spl) {
  const status = $("status");
  status.className = ""; status.textContent = "Searching...";
  const started = performance.now();
  try {
    const form = {search: qualify(spl), exec_mode: "oneshot", output_mode: "json", count: "10000"};
    if ($("range").value) { form.earliest_time = $("range").value; form.latest_time = "now"; }
    const data = await api("POST", "/services/search/v2/jobs", form);
    const fields = (data.fields || []).map((f) => f.name);
    const rows = data.results || [];
    const secs = ((performance.now() - started) / 1000).toFixed(2);
    const notes = (data.messages || []).map((m) => m.type + ": " + m.text).join("; ");
    status.textContent = `${rows.length} result${rows.length === 1 ? "" : "s"} in ${secs}s` + (notes ? " | " + notes : "");
    renderFields(fields, rows);
    renderTable(fields, rows);
  } catch (err) {
    status.className = "error"; status.textContent = err.message;
    renderFields([], []); renderTable([], []);
  }
}

function values(row, name) {
  const v = row[name];
  return v === undefined || v === null ? [] : Array.isArray(v) ? v : [v];
}

function renderFields(fields, rows) {
  const list = $("field-list"); list.replaceChildren();
  for (const name of fields) {
    const counts = new Map(); let present = 0;
    for (const row of rows) {
      const vs = values(row, name);
      if (vs.length) present++;
      for (const v of vs) counts.set(v, (counts.get(v) || 0) + 1);
    }
    const item = el("li"); item.append(el("span", name), el("span", `${counts.size}`, "n"));
    item.title = `${present} of ${rows.length} results have ${name}; ${counts.size} distinct values`;
    const top = el("div", null, "top hidden");
    for (const [v, c] of [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10)) {
      top.append(el("div", `${v}  (${c})`));
    }
    item.addEventListener("click", () => top.classList.toggle("hidden"));
    list.append(item, top);
  }
}

function renderTable(fields, rows) {
  const table = $("table"); table.replaceChildren();
  const shown = fields.filter((f) => !f.startsWith("_") || f === "_time" || f === "_raw");
  if (!shown.length) return;
  const head = el("tr"); for (const f of shown) head.append(el("th", f));
  table.append(head);
  for (const row of rows.slice(0, MAX_ROWS)) {
    const tr = el("tr");
    for (const f of shown) tr.append(el("td", values(row, f).join("\n"), f === "_raw" ? "raw" : ""));
    table.append(tr);
  }
}

async function loadSaved() {
  const table = $("saved-table"); table.replaceChildren();
  try {
    const data = await api("GET", "/services/saved/searches?output_mode=json&count=0");
    const head = el("tr");
    for (const h of ["Name", "Search", "Schedule", "Actions", ""]) head.append(el("th", h));
    table.append(head);
    for (const entry of data.entry) {
      const c = entry.content; const tr = el("tr");
      const sched = c.is_scheduled === "1" ? c.cron_schedule : "not scheduled";
      tr.append(el("td", entry.name), el("td", c.search, "raw"), el("td", sched), el("td", c.actions));
      const open = el("button", "Open in search");
      open.addEventListener("click", () => { $("spl").value = c.search; showTab("search"); runSearch(c.search); });
      const cell = el("td"); cell.append(open); tr.append(cell);
      table.append(tr);
    }
    if (!data.entry.length) table.append(el("tr", "No saved searches yet."));
  } catch (err) {
    table.append(el("tr", err.message));
  }
}

$("search-form").addEventListener("submit", (ev) => { ev.preventDefault(); runSearch($("spl").value); });
$("spl").addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); runSearch($("spl").value); }
});
if (key) showTab("search"); else showLogin();
