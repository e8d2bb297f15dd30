import { formatTable } from "../cli/table.js";
import { formatDuration } from "../util/duration.js";
import { formatSimTime } from "./clock.js";
import type { SimReport } from "./run.js";
import type { TraceEvent } from "./trace.js";

/** The text report lists at most this many alerts (--json has them all). */
const SHOWN_ALERTS = 40;

/** One trace event as a log line: `0d 01:02:03.010  rig01/witness  respawn (pane died (exit status 1))`. */
export function formatTraceEvent(event: TraceEvent, start: number): string {
  const at = formatSimTime(event.at - start);
  switch (event.type) {
    case "pass":
      return `${at}  -  pass (${event.reasons.join(", ")})${event.serverRestarted ? ": tmux server was gone, started it" : ""}`;
    case "start":
      return `${at}  ${event.identity}  ${event.action} gen ${event.generation}${event.manual ? " (manual)" : ""}: ${event.reason}`;
    case "spawn-failed":
      return `${at}  ${event.identity}  ${event.action} failed: ${event.error}`;
    case "kill":
      return `${at}  ${event.identity}  killed gen ${event.generation} (verdict ${event.verdict}): ${event.reason}`;
    case "exit": {
      const how = event.status === null ? "killed by a signal" : `exit status ${event.status}`;
      return `${at}  ${event.identity}  process exited (${how}, ${event.cause}${event.toShell ? ", back to its shell" : ""})`;
    }
    case "hang":
      return `${at}  ${event.identity}  process hung (alive, no more heartbeats)`;
    case "session-open":
      return `${at}  ${event.identity}  session ${event.session} ${event.refused ? "REFUSED (exists)" : "opened"}`;
    case "session-close":
      return `${at}  ${event.identity}  session ${event.session} closed (${event.cause})`;
    case "server-down":
      return `${at}  -  tmux server died`;
    case "nudge": {
      const age =
        event.heartbeatAgeMs === null ? "" : `, heartbeat ${formatDuration(event.heartbeatAgeMs)} old`;
      return `${at}  ${event.identity}  nudged HEALTH_CHECK (${event.answered ? "answers" : "no answer"}${age}): ${event.reason}`;
    }
    case "death-counted":
      return `${at}  ${event.identity}  death counted: ${event.reason}`;
    case "alert":
      return `${at}  -  ALERT ${event.kind}: ${event.message}`;
    case "wait":
      return `${at}  ${event.identity}  waits (${event.holdBy}): ${event.reason}`;
    case "activity": {
      const resets = event.resetsAt === null ? "" : ` (resets ${formatSimTime(event.resetsAt - start)})`;
      return `${at}  ${event.identity}  ${event.state}${event.detail === "" ? "" : `: ${event.detail}`}${resets}`;
    }
    case "wall":
      return `${at}  -  usage-limit wall: ${event.resetsAt === null ? "no reset shown" : `resets ${formatSimTime(event.resetsAt - start)}`}, lifts ${formatSimTime(event.liftsAt - start)}`;
    case "stall":
      return `${at}  ${event.identity}  turn stalled (working, no progress; cured by: ${event.cure})`;
    case "stall-cured":
      return `${at}  ${event.identity}  stall cured by ${event.by === "nudge" ? "the nudge" : "Escape"}`;
    case "conduct":
      return `${at}  ${event.identity}  conduct ${event.act} → ${event.effect}: ${event.reason}`;
    case "rung":
      return `${at}  ${event.identity}  stuck ladder rung ${event.rung}: ${event.reason}`;
  }
}

/** The human report: per-agent table, totals, alerts, invariant results. */
export function formatReport(report: SimReport): string[] {
  const lines: string[] = [];
  lines.push(
    `Scenario ${report.scenario}: ${report.description}`,
    `${report.agents} agents, ${report.days} day${report.days === 1 ? "" : "s"} simulated, seed ${report.seed}, ${report.passes} passes, ${report.wall_ms} ms wall` +
      (report.armed_respawns > 0 ? `, ${report.armed_respawns} armed respawns` : ""),
    "",
  );
  // Keys and activity only where agents report what they do (hooks).
  const hooked = report.per_agent.some((a) => a.activity !== null);
  const rows = report.per_agent.map((a) => [
    a.agent,
    String(a.spawns),
    String(a.restarts),
    String(a.kills),
    String(a.nudges),
    ...(hooked ? [String(a.keys)] : []),
    String(a.exits),
    String(a.deaths),
    hooked && a.activity !== null ? `${a.state} (${a.activity})` : a.state,
  ]);
  rows.push([
    "TOTAL",
    String(report.spawns),
    String(report.restarts),
    String(report.kills),
    String(report.nudges),
    ...(hooked ? [String(report.keys)] : []),
    String(report.exits),
    String(report.deaths),
    "",
  ]);
  const headers = ["AGENT", "SPAWNS", "RESTARTS", "KILLS", "NUDGES", ...(hooked ? ["KEYS"] : [])];
  lines.push(...formatTable([...headers, "EXITS", "DEATHS", "STATE"], rows));
  if (report.walled > 0) {
    const delay = (s: number | null): string => (s === null ? "-" : formatDuration(s * 1000));
    lines.push(
      "",
      `Usage-limit walls: ${report.walled} agent walls, ${report.wall_kills} wall kills, ${report.walled_unwoken} never woken; ` +
        `wake delay after the reset p50 ${delay(report.wake_delay_p50_s)}, p95 ${delay(report.wake_delay_p95_s)}, max ${delay(report.wake_delay_max_s)}`,
    );
  }
  const byKind = Object.entries(report.alerts_by_kind)
    .map(([kind, count]) => `${kind} ${count}`)
    .join(", ");
  lines.push(
    "",
    report.alerts.length === 0 ? "Alerts: none" : `Alerts (${report.alerts.length}: ${byKind}):`,
  );
  const shown = report.alerts.slice(0, SHOWN_ALERTS);
  for (const alert of shown) lines.push(`  ${alert.at}  ${alert.kind}: ${alert.message}`);
  if (report.alerts.length > shown.length)
    lines.push(`  … ${report.alerts.length - shown.length} more (--json lists them all)`);
  lines.push("", "Invariants:");
  const invariantRows = Object.entries(report.invariants).map(([id, coverage]) => {
    const count = report.violations.filter((v) => v.invariant === id).length;
    const checked = coverage.startsWith("checked");
    const status = !checked ? "n/a" : count === 0 ? "ok" : `${count} VIOLATION${count === 1 ? "" : "S"}`;
    return [`  ${id}`, status, coverage];
  });
  lines.push(...formatTable(["", "", ""], invariantRows).slice(1));
  if (report.violations.length > 0) {
    lines.push("", `Violations (${report.violations.length}):`);
    for (const v of report.violations) lines.push(`  ${v.at}  ${v.invariant}  ${v.agent}: ${v.detail}`);
  }
  return lines;
}
