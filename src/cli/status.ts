import { pc } from "./colour.js";
import { callApi } from "../api/client.js";
import { assertReadableDir } from "../daemon/dir-access.js";
import { probeDaemon } from "../daemon/instance.js";
import { errorMessage } from "../errors.js";
import type { AgentStatus } from "../supervisor/agents-file.js";
import type { TownPaths } from "../town/paths.js";
import { formatAge } from "../util/duration.js";
import type { CliContext } from "./context.js";
import { formatTable } from "./table.js";
import { visible } from "./safe-text.js";

/** The `townd status --json` document (documented in the README). */
export interface StatusDocument {
  daemon: {
    running: boolean;
    pid: number | null;
    started_at: string | null;
    last_heartbeat: string | null;
    heartbeat_count: number;
  };
  tmux: { socket: string | null };
  /** Left by `townd down` (daemon/town-stopped.json): every agent stays down until `townd up`; else null. */
  town_stopped?: { since: string | null; by: string } | null;
  /** When the daemon last wrote the agents' states; null if it never did. */
  agents_updated_at: string | null;
  agents: AgentStatus[];
  /** Files that could not be read, with why. */
  problems: string[];
}

/**
 * The status document: from the running daemon through its control socket (its memory is the freshest
 * view), else from the town's files.
 */
export async function collectStatus(paths: TownPaths): Promise<StatusDocument> {
  // Another user cannot see into the owner-only daemon/: "not running" would be a guess.
  assertReadableDir(paths.lockFile);
  const probe = probeDaemon(paths);
  let note: string | undefined;
  if (probe.running) {
    try {
      return (await callApi(paths.controlSocket, "GET", "/v1/status", undefined, 5000)) as StatusDocument;
    } catch (error) {
      note = `The daemon did not answer on ${paths.controlSocket} (${errorMessage(error)}); showing its files`;
    }
  }
  const { statusFromFiles } = await import("./status-files.js");
  const status = statusFromFiles(paths, probe.running, probe.pid);
  if (note !== undefined) status.problems.unshift(note);
  return status;
}

const STATE_COLOUR: Record<string, (text: string) => string> = {
  running: pc.green,
  starting: pc.cyan,
  backoff: pc.yellow,
  "crash-loop": pc.red,
  "failed-to-start": pc.red,
  "needs-human": pc.magenta,
  dead: pc.red,
  stopped: pc.dim,
  standby: pc.dim,
  disabled: pc.dim,
  parked: pc.dim,
  docked: pc.dim,
};

/** States whose `detail` says what a person must do: shown instead of the last reason. */
const NEEDS_PERSON = new Set(["needs-human", "failed-to-start"]);

/** Town-wide holds named in the STATE cell: the agent waits for the town, not for its own backoff. */
const HOLD_NOTE: Record<string, string> = {
  "mass-death": " (mass death)",
  "spawn-budget": " (spawn budget)",
  "usage-limit": " (usage limit)",
  operator: " (stop-agent)",
  "town-stopped": " (town down)",
};

function ago(iso: string | null, now: number): string {
  return iso === null ? "-" : formatAge(now - Date.parse(iso));
}

export function renderStatus(status: StatusDocument, ctx: CliContext, now = Date.now()): void {
  const d = status.daemon;
  if (d.running) {
    ctx.out(`${pc.green("●")} Daemon is running (PID ${d.pid ?? "unknown"})`);
    if (d.started_at !== null) ctx.out(`  Started: ${d.started_at} (${ago(d.started_at, now)} ago)`);
    if (d.last_heartbeat !== null) {
      ctx.out(
        `  Last heartbeat: ${d.last_heartbeat} (#${d.heartbeat_count}, ${ago(d.last_heartbeat, now)} ago)`,
      );
    }
  } else {
    ctx.out(`${pc.dim("○")} Daemon is not running`);
    ctx.out("  Start with: townd start");
  }
  if (status.tmux.socket !== null) ctx.out(`  tmux socket: ${visible(status.tmux.socket)}`);
  const stopped = status.town_stopped;
  if (stopped !== null && stopped !== undefined) {
    const since = stopped.since === null ? "" : ` at ${stopped.since} (${ago(stopped.since, now)} ago)`;
    ctx.out(
      `  ${pc.yellow("■")} Town stopped by '${visible(stopped.by)}'${since}: agents stay down until 'townd up'`,
    );
  }
  for (const problem of status.problems) ctx.out(`  ${pc.yellow("⚠")} ${visible(problem)}`);
  // Of the agents the daemon restarts at all (a disabled patrol is never armed).
  const supervised = status.agents.filter((agent) => agent.state !== "disabled").length;
  const armed = status.agents.filter((agent) => agent.respawn_armed === true).length;
  if (d.running && armed > 0)
    ctx.out(`  Respawn armed in tmux for ${armed} of ${supervised} agents: a death is answered at once`);
  if (status.agents.length === 0) return;
  ctx.out("");
  if (!d.running && status.agents_updated_at !== null) {
    ctx.out(pc.dim(`Agents as last seen by the daemon, ${ago(status.agents_updated_at, now)} ago:`));
  }
  const rows = status.agents.map((a) => {
    const until = a.held_until ?? a.next_attempt_at;
    const state =
      a.state === "backoff" && until !== null
        ? `backoff ${formatAge(Math.max(0, Date.parse(until) - now))}${HOLD_NOTE[a.held_by ?? ""] ?? ""}`
        : a.state === "stopped"
          ? `stopped${HOLD_NOTE[a.held_by ?? ""] ?? ""}`
          : a.state;
    // Rows come from the daemon's files or socket and quote agents' text (reasons, process titles).
    return [
      a.identity,
      a.session,
      state,
      a.pid === null ? "-" : String(a.pid),
      a.state === "running" || a.state === "starting" ? ago(a.started_at, now) : "-",
      `${a.restarts_auto}/${a.restarts_manual}`,
      a.activity === undefined || a.activity === null
        ? "-"
        : `${a.activity.state} ${ago(a.activity.since, now)}`,
      // What needs a person (a dialog, a failed start) matters more than the last decision.
      (NEEDS_PERSON.has(a.state) ? a.detail : null) ?? a.last_reason ?? "",
    ].map((cell) => visible(cell));
  });
  const header = ["AGENT", "SESSION", "STATE", "PID", "UPTIME", "RESTARTS", "ACTIVITY", "LAST REASON"];
  const colourState = (row: number, column: number, text: string): string => {
    const state = status.agents[row]?.state ?? "";
    return column === 2 ? (STATE_COLOUR[state] ?? String)(text) : text;
  };
  for (const line of formatTable(header, rows, colourState)) {
    ctx.out(line);
  }
}
