// The townd dashboard: one page, fed by Server-Sent Events from the daemon (/api/stream). The browser
// never polls: a one-second local timer only ages the times already shown. Everything an agent wrote is
// set with textContent, never as HTML.

const MAX_EVENTS = 200;
const ARM_MS = 3000;
const LABELS = { restart: "Restart", cycle: "Cycle", start: "Start", reset: "Reset" };
/** Actions that replace a running agent: a first click arms them, a second within 3 s sends them. */
const NEEDS_CONFIRM = new Set(["restart", "cycle"]);
const NEED_LABELS = {
  "needs-human": "needs a person",
  "auth-required": "must log in",
  permission: "waits for a permission",
  wall: "usage limit",
  "crash-loop": "crash loop",
  "failed-to-start": "failed to start",
};
const ALERT_TYPES = new Set([
  "crash_loop",
  "mass_death",
  "spawn_budget_exhausted",
  "failed_to_start",
  "restart_failed",
  "needs_human",
]);

const $ = (id) => document.getElementById(id);
let state = null;
/** Server time minus browser time, so ages are right even when the two clocks differ. */
let clockOffset = 0;
let selected = null;
let whyTimer;
let lastEventId = 0;
/** Buttons armed for a confirming click, and requests on their way: kept across re-renders. */
const armed = new Map();
const pending = new Set();

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function now() {
  return Date.now() + clockOffset;
}

/** "4s", "3m 10s", "2h 5m", "3d 4h". */
function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

function clock(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleTimeString();
}

/** A cell that says how long ago (or until) `iso` is, kept current by the one-second timer. */
function timeSpan(iso, mode) {
  const span = el("span", "age");
  if (!iso) return span;
  span.dataset.time = iso;
  span.dataset.mode = mode;
  span.title = iso;
  renderAge(span);
  return span;
}

function renderAge(span) {
  const at = Date.parse(span.dataset.time);
  if (Number.isNaN(at)) return;
  const left = at - now();
  if (span.dataset.mode === "for") span.textContent = duration(-left);
  else if (span.dataset.mode === "until")
    span.textContent =
      left > 0 ? `${clock(span.dataset.time)} (in ${duration(left)})` : clock(span.dataset.time);
  else span.textContent = `${duration(-left)} ago`;
}

function tickAges() {
  for (const span of document.querySelectorAll("span.age")) renderAge(span);
}

// ---- the agents table -------------------------------------------------------------------------------

function holdCell(agent) {
  const cell = el("td", "hold");
  const activity = agent.activity;
  if (activity && activity.state === "rate-limited") {
    cell.append(el("span", "hold-kind wall", `wall (${activity.limit || "unknown"})`));
    if (activity.resets_at) cell.append(" resets ", timeSpan(activity.resets_at, "until"));
    else cell.append(" reset time unknown");
  } else if (agent.held_by) {
    cell.append(el("span", `hold-kind ${agent.held_by}`, agent.held_by));
    if (agent.held_until) cell.append(" until ", timeSpan(agent.held_until, "until"));
  } else if (agent.state === "crash-loop") {
    cell.append(el("span", "hold-kind crash-loop", "crash-loop"));
    if (agent.crash_loop_since) cell.append(" since ", timeSpan(agent.crash_loop_since, "ago"));
  } else if (agent.state === "stopped" && agent.stopped_reason) {
    cell.append(el("span", "hold-kind stopped", "stopped"), ` ${agent.stopped_reason}`);
  }
  return cell;
}

function actionButtons(agent) {
  const cell = el("td", "actions");
  for (const action of state.actions) {
    const button = el("button", `action ${action}`, LABELS[action] || action);
    button.type = "button";
    button.dataset.action = action;
    button.dataset.agent = agent.identity;
    const key = `${action} ${agent.identity}`;
    if (armed.has(key)) {
      button.dataset.armed = "1";
      button.textContent = `${LABELS[action]}?`;
    }
    button.disabled = pending.has(key);
    cell.append(button);
  }
  return cell;
}

function agentRow(agent) {
  const row = el("tr", `agent state-${agent.state}`);
  row.dataset.agent = agent.identity;
  row.dataset.state = agent.state;
  if (agent.identity === selected) row.classList.add("selected");
  const name = el("td", "identity");
  const link = el("button", "link", agent.identity);
  link.type = "button";
  link.dataset.why = agent.identity;
  name.append(link);
  const stateCell = el("td", "state");
  stateCell.append(el("span", `badge ${agent.state}`, agent.state));
  if (agent.detail) stateCell.title = agent.detail;
  const activityCell = el("td", "activity");
  if (agent.activity) {
    activityCell.dataset.activity = agent.activity.state;
    activityCell.append(el("span", `badge activity-${agent.activity.state}`, agent.activity.state), " ");
    activityCell.append(timeSpan(agent.activity.since, "for"));
    activityCell.title = `${agent.activity.source}: ${agent.activity.detail}`;
  } else activityCell.textContent = "—";
  const restarts = el("td", "restarts", agent.restarts);
  restarts.title = `${agent.restarts_auto} automatic / ${agent.restarts_manual} manual`;
  const heartbeat = el("td", "heartbeat");
  if (agent.heartbeat_at) heartbeat.append(timeSpan(agent.heartbeat_at, "ago"));
  else heartbeat.textContent = agent.detail === "no heartbeat yet" ? "none yet" : "—";
  const exit = el("td", "last-exit");
  if (agent.last_exit) {
    exit.append(el("span", "exit-text", agent.last_exit));
    if (agent.last_death_at) exit.append(" ", timeSpan(agent.last_death_at, "ago"));
  } else exit.textContent = "—";
  row.append(
    name,
    el("td", "role", agent.role),
    el("td", "rig", agent.rig || "—"),
    stateCell,
    activityCell,
    restarts,
    holdCell(agent),
    heartbeat,
    exit,
    actionButtons(agent),
  );
  return row;
}

function renderState() {
  $("town").textContent = state.town;
  document.title = `townd — ${state.town}`;
  const daemon = state.daemon;
  $("daemon").textContent = daemon.running
    ? `daemon PID ${daemon.pid}, ${daemon.heartbeat_count} passes`
    : "daemon not running";
  const needs = state.needs_you;
  $("needs-count").textContent = String(needs.length);
  $("needs").dataset.count = String(needs.length);
  const list = $("needs-list");
  list.replaceChildren(
    ...needs.map((need) => {
      const item = el("li", `need ${need.kind}`);
      const who = el("button", "link", need.identity);
      who.type = "button";
      who.dataset.why = need.identity;
      item.append(who, ` ${NEED_LABELS[need.kind] || need.kind}`);
      if (need.until) item.append(" until ", timeSpan(need.until, "until"));
      if (need.detail) item.append(el("span", "detail", ` — ${need.detail}`));
      return item;
    }),
  );
  const problems = $("problems");
  problems.hidden = state.problems.length === 0;
  problems.textContent = state.problems.join("\n");
  const body = document.querySelector("#agents tbody");
  body.replaceChildren(...state.agents.map(agentRow));
  $("no-agents").hidden = state.agents.length > 0;
}

// ---- events ---------------------------------------------------------------------------------------------

function eventItem(event) {
  const item = el("li", `event type-${event.type}`);
  if (ALERT_TYPES.has(event.type)) item.classList.add("alert");
  item.dataset.id = String(event.id);
  item.append(el("time", "ts", clock(event.ts)), " ", el("span", "type", event.type));
  if (event.identity) item.append(" ", el("span", "who", event.identity));
  if (typeof event.data.action === "string") item.append(" ", el("span", "what", event.data.action));
  item.append(el("span", "reason", `: ${event.reason}`));
  item.title = event.ts;
  return item;
}

function addEvents(events) {
  const list = $("events");
  const fresh = events.filter((event) => event.id > lastEventId);
  if (fresh.length === 0) return;
  lastEventId = fresh[fresh.length - 1].id;
  list.prepend(...fresh.reverse().map(eventItem));
  while (list.children.length > MAX_EVENTS) list.lastElementChild.remove();
  if (selected && fresh.some((event) => event.identity === selected)) refreshWhySoon();
}

// ---- why ------------------------------------------------------------------------------------------------

function fact(list, term, value) {
  if (value === null || value === undefined || value === "") return;
  list.append(el("dt", "", term));
  const dd = el("dd");
  dd.append(value);
  list.append(dd);
}

async function showWhy(identity) {
  selected = identity;
  for (const row of document.querySelectorAll("tr.agent"))
    row.classList.toggle("selected", row.dataset.agent === identity);
  const panel = $("why");
  panel.hidden = false;
  $("why-agent").textContent = identity;
  let why;
  try {
    const answer = await fetch(`/api/why?agent=${encodeURIComponent(identity)}`, {
      signal: AbortSignal.timeout(10_000),
    });
    why = await answer.json();
    if (!answer.ok) throw new Error(why.error || answer.statusText);
  } catch (error) {
    toast(`why ${identity}: ${error.message}`, true);
    return;
  }
  if (selected !== identity) return;
  const facts = $("why-facts");
  facts.replaceChildren();
  const s = why.status;
  if (s) {
    fact(facts, "state", `${s.state}${s.detail ? ` — ${s.detail}` : ""}`);
    fact(facts, "session", s.session);
    fact(facts, "generation", s.generation);
    if (s.started_at) fact(facts, "started", timeSpan(s.started_at, "ago"));
    fact(facts, "restarts", `${s.restarts_auto} automatic / ${s.restarts_manual} manual`);
    fact(facts, "last exit", s.last_exit);
    if (s.next_attempt_at) fact(facts, "next attempt", timeSpan(s.next_attempt_at, "until"));
    fact(facts, "last reason", s.last_reason);
    if (s.activity)
      fact(facts, "activity", `${s.activity.state} (${s.activity.source}): ${s.activity.detail}`);
    if (s.failed_to_start) fact(facts, "fix", s.failed_to_start.fix);
  } else fact(facts, "state", "not supervised now");
  $("why-events").replaceChildren(...why.events.slice().reverse().map(eventItem));
  const pane = $("why-pane");
  pane.hidden = !why.pane;
  if (why.pane) {
    $("why-pane-title").textContent = `Last lines of the pane before ${clock(why.pane.at)}`;
    $("why-pane-lines").textContent = why.pane.lines.join("\n");
  }
}

function refreshWhySoon() {
  clearTimeout(whyTimer);
  whyTimer = setTimeout(() => {
    if (selected) void showWhy(selected);
  }, 300);
}

// ---- actions --------------------------------------------------------------------------------------------

let toastTimer;
function toast(text, bad = false) {
  const box = $("toast");
  box.textContent = text;
  box.classList.toggle("bad", bad);
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    box.hidden = true;
  }, 6000);
}

function buttonFor(key) {
  const [action, agent] = key.split(" ");
  return [...document.querySelectorAll("button.action")].find(
    (b) => b.dataset.action === action && b.dataset.agent === agent,
  );
}

async function act(button) {
  const { action, agent } = button.dataset;
  const key = `${action} ${agent}`;
  if (pending.has(key)) return;
  if (NEEDS_CONFIRM.has(action) && !armed.has(key)) {
    button.dataset.armed = "1";
    button.textContent = `${LABELS[action]}?`;
    armed.set(
      key,
      setTimeout(() => {
        armed.delete(key);
        const current = buttonFor(key);
        if (current) {
          delete current.dataset.armed;
          current.textContent = LABELS[action];
        }
      }, ARM_MS),
    );
    return;
  }
  clearTimeout(armed.get(key));
  armed.delete(key);
  pending.add(key);
  button.disabled = true;
  button.textContent = LABELS[action];
  delete button.dataset.armed;
  try {
    const answer = await fetch(`/api/agents/${action}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ agent }),
      signal: AbortSignal.timeout(20_000),
    });
    const body = await answer.json();
    if (!answer.ok) throw new Error(body.error || answer.statusText);
    toast(`✓ ${body.message}`);
  } catch (error) {
    toast(`${action} ${agent}: ${error.message}`, true);
  } finally {
    pending.delete(key);
    const current = buttonFor(key);
    if (current) current.disabled = false;
  }
}

document.addEventListener("click", (event) => {
  const target = event.target instanceof Element ? event.target.closest("button") : null;
  if (!target) return;
  if (target.dataset.action) void act(target);
  else if (target.dataset.why) void showWhy(target.dataset.why);
});
$("why-close").addEventListener("click", () => {
  selected = null;
  $("why").hidden = true;
  for (const row of document.querySelectorAll("tr.agent.selected")) row.classList.remove("selected");
});

// ---- the live stream ------------------------------------------------------------------------------------

function connection(text, kind) {
  const line = $("connection");
  line.textContent = text;
  line.dataset.state = kind;
}

function connect() {
  const source = new EventSource("/api/stream");
  source.addEventListener("open", () => {
    connection("live", "live");
  });
  source.addEventListener("state", (message) => {
    const before = state && selected ? JSON.stringify(state.agents.find((a) => a.identity === selected)) : "";
    state = JSON.parse(message.data);
    clockOffset = Date.parse(state.now) - Date.now();
    renderState();
    if (selected && JSON.stringify(state.agents.find((a) => a.identity === selected)) !== before)
      refreshWhySoon();
  });
  source.addEventListener("events", (message) => {
    addEvents(JSON.parse(message.data));
  });
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED) {
      // Refused (a new token) or the daemon went away for good: try again in a while.
      connection(
        "disconnected: retrying (if this lasts, open the URL 'townd dashboard --url' prints)",
        "down",
      );
      source.close();
      setTimeout(connect, 5000);
    } else connection("reconnecting…", "down");
  });
}

connect();
setInterval(tickAges, 1000);
