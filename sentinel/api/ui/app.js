// The SentinelZero dashboard (docs/api.md#the-dashboard): plain JavaScript over the API, no build step.
// The token is asked once and kept in sessionStorage; it goes in the Authorization header of every request
// and, for WebSockets (which cannot set headers), as the `bearer.TOKEN` subprotocol beside `sentinel.v1`.
"use strict";

const TOKEN_KEY = "sentinel.token";
const PROTOCOL = "sentinel.v1";
const EVENTS_KEPT = 200;
const LOG_LINES_KEPT = 1000;
const REFRESH_MS = 10000;
const VERBS = ["start", "stop", "restart"];

const app = {
  token: null,
  access: null,
  rows: [],
  events: [],
  eventSocket: null,
  logSocket: null,
  refetchTimer: null,
  pollTimer: null,
};

class ApiFailure extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const byId = (id) => document.getElementById(id);

// An element with attributes (`text` sets its text, `on*` its listeners) and children (nodes or strings).
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function say(message) {
  byId("notice").textContent = message;
}

async function api(path, options = {}) {
  const headers = { Authorization: "Bearer " + app.token };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { ...options, headers, cache: "no-store" });
  const body = await response.json().catch(() => null);
  if (response.status === 401) {
    logOut("The token was refused (401): log in again.");
  }
  if (!response.ok) {
    throw new ApiFailure(response.status, (body && body.error && body.error.message) || response.statusText);
  }
  return body;
}

function socket(path, onMessage, onClose) {
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const ws = new WebSocket(scheme + location.host + path, [PROTOCOL, "bearer." + app.token]);
  ws.addEventListener("message", (message) => onMessage(JSON.parse(message.data)));
  ws.addEventListener("close", onClose);
  return ws;
}

// ---- formatting

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const whole = Math.floor(seconds);
  const parts = [[86400, "d"], [3600, "h"], [60, "m"], [1, "s"]];
  const shown = [];
  let rest = whole;
  for (const [size, unit] of parts) {
    if (rest >= size || (unit === "s" && shown.length === 0)) {
      shown.push(Math.floor(rest / size) + unit);
      rest %= size;
    }
    if (shown.length === 2) break;
  }
  return shown.join(" ");
}

function bytes(count) {
  if (count === null || count === undefined) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = count;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return (unit === 0 ? value : value.toFixed(1)) + " " + units[unit];
}

const shown = (value) => (value === null || value === undefined || value === "" ? "—" : String(value));
const when = (iso) => (iso ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "—");
const isJob = (row) => Boolean(row.next_run || row.last_run);
const badge = (text, kind) => el("span", { class: `badge ${kind}-${text}`, text });

// ---- log in, log out

async function logIn(token) {
  app.token = token;
  try {
    const who = await api("/v1/whoami");
    app.access = who.access;
  } catch (failure) {
    app.token = null;
    byId("login-error").textContent =
      failure.status === 401 ? "That token was refused." : `The reconciler did not answer: ${failure.message}`;
    return false;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  byId("login-error").textContent = "";
  byId("login").hidden = true;
  byId("nav").hidden = false;
  byId("access").textContent = app.access === "read" ? "read-only" : "";
  await refetch();
  await loadEvents();
  followEvents();
  app.pollTimer = setInterval(refetch, REFRESH_MS);
  route();
  return true;
}

function logOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  app.token = null;
  app.access = null;
  clearInterval(app.pollTimer);
  for (const ws of [app.eventSocket, app.logSocket]) if (ws) ws.close();
  app.eventSocket = app.logSocket = null;
  byId("nav").hidden = true;
  byId("view").hidden = true;
  byId("login").hidden = false;
  byId("login-error").textContent = message || "";
  byId("token").value = "";
  byId("token").focus();
}

// ---- live data

async function refetch() {
  if (!app.token) return;
  try {
    app.rows = (await api("/v1/processes")).processes;
    render(false);
  } catch (failure) {
    if (app.token) say(`Could not read the processes: ${failure.message}`);
  }
}

function refetchSoon() {
  clearTimeout(app.refetchTimer);
  app.refetchTimer = setTimeout(refetch, 100);
}

async function loadEvents() {
  app.events = (await api("/v1/events?limit=100")).events.reverse();
}

function followEvents() {
  const ws = socket("/v1/events?follow=true", (event) => {
    app.events.unshift(event);
    app.events.length = Math.min(app.events.length, EVENTS_KEPT);
    refetchSoon();
  }, () => {
    if (app.eventSocket !== ws) return;
    byId("stream").textContent = "reconnecting…";
    setTimeout(() => app.token && app.eventSocket === ws && followEvents(), 2000);
  });
  ws.addEventListener("open", () => {
    byId("stream").textContent = "live";
    refetchSoon();
  });
  app.eventSocket = ws;
}

// ---- actions

async function act(name, verb) {
  const path = verb === "run" ? `/v1/processes/${encodeURIComponent(name)}/run`
    : `/v1/processes/${encodeURIComponent(name)}/${verb}`;
  say(`${verb} ${name}…`);
  try {
    const done = await api(path, { method: "POST", body: "{}" });
    say(`${verb} ${name}: ${done.settled ? "done" : "not settled yet"}`);
  } catch (failure) {
    say(`${verb} ${name} failed: ${failure.message}`);
  }
  await refetch();
}

function actions(row) {
  if (app.access !== "all") return null;
  const verbs = isJob(row) ? [...VERBS, "run"] : VERBS;
  return el("div", { class: "actions" }, verbs.map((verb) => el("button", {
    type: "button", id: `act-${verb}-${row.name}`, class: `act act-${verb}`, "aria-label": `${verb} ${row.name}`,
    text: verb, onclick: (click) => { click.currentTarget.disabled = true; act(row.name, verb); },
  })));
}

// ---- views

const VIEWS = { processes: processesView, process: processView, events: eventsView, config: configView };

function route() {
  if (!app.token) return;
  if (app.logSocket) {
    app.logSocket.close();
    app.logSocket = null;
  }
  render(true);
}

function current() {
  const [, view, ...rest] = location.hash.replace(/^#/, "").split("/");
  return { view: VIEWS[view] ? view : "processes", name: decodeURIComponent(rest.join("/")) };
}

// Draws the current view; `fresh`: it was just navigated to (else it is a refresh of the live data).
function render(fresh) {
  if (!app.token) return;
  const { view, name } = current();
  const focused = document.activeElement && document.activeElement.id;
  const target = byId("view");
  const drawn = VIEWS[view](name, fresh, target);
  if (drawn === null) return;
  target.replaceChildren(...drawn);
  target.hidden = false;
  if (focused && byId(focused)) byId(focused).focus();
  else if (fresh) byId("main").focus();
  for (const link of byId("nav").querySelectorAll("a")) {
    link.toggleAttribute("aria-current", link.getAttribute("href") === `#/${view === "processes" ? "" : view}`);
  }
}

function processTable(rows) {
  const columns = [
    ["Name", (row) => el("a", { href: `#/process/${encodeURIComponent(row.name)}`, text: row.name })],
    ["State", (row) => badge(row.state, "state")],
    ["Health", (row) => badge(row.health, "health")],
    ["PID", (row) => shown(row.pid)],
    ["Uptime", (row) => duration(row.uptime_s)],
    ["Restarts", (row) => String(row.restarts)],
    ["CPU", (row) => (row.cpu_percent === null ? "—" : `${row.cpu_percent}%`)],
    ["Memory", (row) => bytes(row.memory_rss)],
    ["Group", (row) => shown(row.group)],
    ["Next run", (row) => when(row.next_run)],
  ];
  const withActions = app.access === "all";
  return el("table", { class: "processes" },
    el("caption", { text: `${rows.length} process instance${rows.length === 1 ? "" : "s"}` }),
    el("thead", {}, el("tr", {}, columns.map(([title]) => el("th", { scope: "col", text: title })),
      withActions ? el("th", { scope: "col", text: "Actions" }) : null)),
    el("tbody", {}, rows.map((row) => el("tr", { "data-name": row.name },
      columns.map(([title, cell]) => el(title === "Name" ? "th" : "td",
        { "data-label": title, class: `col-${title.toLowerCase().replace(" ", "-")}`, scope: title === "Name" ? "row" : null },
        cell(row))),
      withActions ? el("td", { "data-label": "Actions", class: "col-actions" }, actions(row)) : null))));
}

function processesView() {
  return [el("h1", { text: "Processes" }), processTable(app.rows)];
}

function summary(row) {
  const facts = [["State", badge(row.state, "state")], ["Health", badge(row.health, "health")],
    ["PID", shown(row.pid)], ["Restarts", String(row.restarts)], ["Exit code", shown(row.exit_code)],
    ["Started", when(row.started_at)], ["Uptime", duration(row.uptime_s)], ["Group", shown(row.group)],
    ["Next run", when(row.next_run)], ["Last run", when(row.last_run)], ["Reason", shown(row.reason)]];
  return el("dl", { class: "facts", id: "facts" }, facts.map(([term, value]) => el("div", {},
    el("dt", { text: term }), el("dd", { "data-fact": term.toLowerCase() }, value))));
}

function processView(name, fresh, target) {
  const row = app.rows.find((each) => each.name === name);
  if (!row) return [el("h1", { text: name }), el("p", { text: `No process or instance named ${name}.` })];
  if (!fresh && byId("facts") && target.dataset.name === name) {
    byId("facts").replaceWith(summary(row));  // a refresh: keep the log, runs and events as they are
    const buttons = byId("process-actions");
    if (buttons) buttons.replaceChildren(...(actions(row) ? [actions(row)] : []));
    return null;
  }
  target.dataset.name = name;
  const log = el("pre", { id: "log", class: "log", role: "log", tabindex: "0", "aria-label": `${name}'s log` });
  const runs = el("section", { id: "runs", "aria-labelledby": "runs-title", hidden: true });
  const events = el("section", { id: "process-events", "aria-labelledby": "process-events-title" });
  followLog(name, log);
  loadRuns(name, runs);
  loadProcessEvents(name, events);
  return [
    el("p", { class: "back" }, el("a", { href: "#/", text: "← Processes" })),
    el("h1", { text: name }),
    summary(row),
    el("div", { id: "process-actions" }, actions(row)),
    el("h2", { id: "log-title", text: "Log" }), log,
    runs, events,
  ];
}

function followLog(name, log) {
  const path = `/v1/processes/${encodeURIComponent(name)}/logs?follow=true&lines=200`;
  const ws = socket(path, (line) => {
    const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.append(el("span", { class: `line line-${line.stream}` }, el("time", { text: line.time }), " ", line.text),
      "\n");
    while (log.childNodes.length > 2 * LOG_LINES_KEPT) log.firstChild.remove();
    if (atEnd) log.scrollTop = log.scrollHeight;
  }, (closed) => {
    if (app.logSocket === ws) {  // not closed by leaving the page
      say(`The log stream closed${closed.reason ? ` (${closed.reason})` : ""}: reload the page to follow it again.`);
    }
  });
  app.logSocket = ws;
}

async function loadRuns(name, section) {
  let runs;
  try {
    runs = (await api(`/v1/processes/${encodeURIComponent(name.replace(/\.\d+$/, ""))}/runs?limit=20`)).runs;
  } catch {
    return; // not a job (409), or gone
  }
  section.replaceChildren(el("h2", { id: "runs-title", text: "Job runs" }), el("table", { class: "runs" },
    el("thead", {}, el("tr", {}, ["Run", "Started", "Ended", "Outcome", "Exit code"].map(
      (title) => el("th", { scope: "col", text: title })))),
    el("tbody", {}, runs.reverse().map((run) => el("tr", {},
      el("td", { "data-label": "Run", text: String(run.id) }),
      el("td", { "data-label": "Started", text: when(run.started_at) }),
      el("td", { "data-label": "Ended", text: when(run.ended_at) }),
      el("td", { "data-label": "Outcome", text: shown(run.outcome) }),
      el("td", { "data-label": "Exit code", text: shown(run.exit_code) }))))));
  section.hidden = false;
}

async function loadProcessEvents(name, section) {
  const events = (await api(`/v1/events?process=${encodeURIComponent(name)}&limit=20`)).events.reverse();
  section.replaceChildren(el("h2", { id: "process-events-title", text: "Recent events" }), eventTable(events));
}

function eventTable(events) {
  return el("table", { class: "events" },
    el("thead", {}, el("tr", {}, ["Time", "Process", "Event", "Message"].map(
      (title) => el("th", { scope: "col", text: title })))),
    el("tbody", {}, events.map((event) => el("tr", {},
      el("td", { "data-label": "Time", text: when(event.at) }),
      el("td", { "data-label": "Process", text: shown(event.process) }),
      el("td", { "data-label": "Event" }, badge(event.kind, "event")),
      el("td", { "data-label": "Message", text: event.message })))));
}

function eventsView() {
  return [el("h1", { text: "Recent events" }), eventTable(app.events)];
}

function configView(name, fresh) {
  if (!fresh) return null;
  const holder = [el("h1", { text: "Applied config" }), el("p", { id: "config-loading", text: "Loading…" })];
  api("/v1/config").then((answer) => {
    const facts = [["File", answer.path], ["Environment", shown(answer.environment)],
      ["Revision", shown(answer.revision)], ["Last load error", shown(answer.error)]];
    byId("config-loading").replaceWith(
      el("dl", { class: "facts" }, facts.map(([term, value]) => el("div", {},
        el("dt", { text: term }), el("dd", { "data-fact": term.toLowerCase(), text: value })))),
      el("h2", { text: "Config in force (secrets masked)" }),
      el("pre", { class: "config", tabindex: "0", "aria-label": "config in force",
        text: answer.config ? JSON.stringify(answer.config, null, 2) : "—" }));
  }).catch((failure) => say(`Could not read the config: ${failure.message}`));
  return holder;
}

// ---- start

document.addEventListener("DOMContentLoaded", () => {
  byId("login-form").addEventListener("submit", (submit) => {
    submit.preventDefault();
    logIn(byId("token").value.trim());
  });
  byId("logout").addEventListener("click", () => logOut(""));
  window.addEventListener("hashchange", route);
  const kept = sessionStorage.getItem(TOKEN_KEY);
  if (kept) {
    logIn(kept).then((ok) => ok || logOut("The kept token was refused: log in again."));
  } else {
    logOut("");
  }
});
