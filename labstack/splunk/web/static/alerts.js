"use strict";
// Fired alerts and the outbox, read from the same REST API splunklib uses (text only: no HTML).
const key = sessionStorage.getItem("splunkSessionKey");
const want = document.body.dataset.sid || null;
const auth = {headers: {Authorization: "Splunk " + key}};
function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  tr.append(td);
}
function actionsOf(c) {
  // Each action's latest delivery: <action>_status, <action>_attempts, <action>_error.
  const names = (c.actions || "").split(",").filter((a) => a && c[a + "_status"]);
  if (!names.length) return {text: "-", cls: ""};
  const text = names.map((a) => a + ": " + c[a + "_status"] + " (" + c[a + "_attempts"]
    + " attempt(s))" + (c[a + "_error"] ? ": " + c[a + "_error"] : "")).join("; ");
  const worst = ["failed", "pending", "delivered"].find((s) => names.some((a) => c[a + "_status"] === s));
  return {text, cls: worst || ""};
}
function when(seconds) {
  return new Date(seconds * 1000).toISOString().replace("T", " ").slice(0, 19);
}
async function load() {
  const msg = document.getElementById("msg");
  const body = document.querySelector("#alerts tbody");
  body.replaceChildren();
  if (!key) { msg.textContent = "Log in on the search page first (this page reads the same REST API)."; return; }
  const resp = await fetch("/services/alerts/fired_alerts/-?output_mode=json&count=0", auth);
  if (!resp.ok) { msg.textContent = "Cannot list alerts: HTTP " + resp.status; return; }
  const data = await resp.json();
  if (!data.entry.length) {
    const tr = document.createElement("tr");
    cell(tr, "No alerts have fired.");
    body.append(tr);
  }
  for (const e of data.entry) {
    const c = e.content, tr = document.createElement("tr");
    if (want && c.sid === want) tr.className = "hl";
    cell(tr, c.trigger_time_rendered); cell(tr, c.savedsearch_name); cell(tr, c.trigger_mode);
    cell(tr, c.result_count); cell(tr, c.severity); cell(tr, c.sid);
    const done = actionsOf(c);
    cell(tr, done.text, done.cls);
    body.append(tr);
  }
  const out = document.querySelector("#deliveries tbody");
  out.replaceChildren();
  const sent = await fetch("/services/alerts/deliveries?output_mode=json", auth);
  if (!sent.ok) return;
  for (const d of (await sent.json()).deliveries) {
    const tr = document.createElement("tr");
    cell(tr, when(d.created)); cell(tr, d.search_name); cell(tr, d.action); cell(tr, d.target);
    cell(tr, d.status, d.status); cell(tr, String(d.attempts)); cell(tr, d.last_error || "");
    out.append(tr);
  }
}
document.getElementById("reload").addEventListener("click", load);
load();
