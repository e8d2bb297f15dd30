import pc from "picocolors";
import { safeReadState } from "../daemon/control.js";
import { probeDaemon } from "../daemon/instance.js";
import { isZeroTime } from "../daemon/state-file.js";
import { errorMessage } from "../errors.js";
import { readAgentsFile, type AgentStatus } from "../supervisor/agents-file.js";
import { townTmuxSocket } from "../supervisor/tmux-socket.js";
import type { TownPaths } from "../town/paths.js";
import { formatAge } from "../util/duration.js";
import type { CliContext } from "./context.js";
import { formatTable } from "./table.js";

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
  /** When the daemon last wrote the agents' states; null if it never did. */
  agents_updated_at: string | null;
  agents: AgentStatus[];
  /** Files that could not be read, with why. */
  problems: string[];
}

export async function collectStatus(paths: TownPaths): Promise<StatusDocument> {
  const problems: string[] = [];
  const probe = probeDaemon(paths);
  const state = safeReadState(paths);
  const time = (value: string | undefined): string | null =>
    value === undefined || isZeroTime(value) ? null : value;
  let socket: string | null = null;
  try {
    socket = townTmuxSocket(paths);
  } catch (error) {
    problems.push(errorMessage(error));
  }
  let agentsFile;
  try {
    agentsFile = readAgentsFile(paths);
  } catch (error) {
    problems.push(errorMessage(error));
  }
  return Promise.resolve({
    daemon: {
      running: probe.running,
      pid: probe.running ? (probe.pid ?? state?.pid ?? null) : null,
      started_at: time(state?.started_at),
      last_heartbeat: time(state?.last_heartbeat),
      heartbeat_count: state?.heartbeat_count ?? 0,
    },
    tmux: { socket },
    agents_updated_at: agentsFile?.updated_at ?? null,
    agents: agentsFile?.agents ?? [],
    problems,
  });
}

const STATE_COLOUR: Record<string, (text: string) => string> = {
  running: pc.green,
  starting: pc.cyan,
  backoff: pc.yellow,
  "crash-loop": pc.red,
  dead: pc.red,
  stopped: pc.dim,
  disabled: pc.dim,
  parked: pc.dim,
  docked: pc.dim,
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
  if (status.tmux.socket !== null) ctx.out(`  tmux socket: ${status.tmux.socket}`);
  for (const problem of status.problems) ctx.out(`  ${pc.yellow("⚠")} ${problem}`);
  if (status.agents.length === 0) return;
  ctx.out("");
  if (!d.running && status.agents_updated_at !== null) {
    ctx.out(pc.dim(`Agents as last seen by the daemon, ${ago(status.agents_updated_at, now)} ago:`));
  }
  const rows = status.agents.map((a) => {
    const state =
      a.state === "backoff" && a.next_attempt_at !== null
        ? `backoff ${formatAge(Math.max(0, Date.parse(a.next_attempt_at) - now))}`
        : a.state;
    return [
      a.identity,
      a.session,
      state,
      a.pid === null ? "-" : String(a.pid),
      a.state === "running" || a.state === "starting" ? ago(a.started_at, now) : "-",
      `${a.restarts_auto}/${a.restarts_manual}`,
      a.last_reason ?? "",
    ];
  });
  const header = ["AGENT", "SESSION", "STATE", "PID", "UPTIME", "RESTARTS", "LAST REASON"];
  const colourState = (row: number, column: number, text: string): string => {
    const state = status.agents[row]?.state ?? "";
    return column === 2 ? (STATE_COLOUR[state] ?? String)(text) : text;
  };
  for (const line of formatTable(header, rows, colourState)) {
    ctx.out(line);
  }
}
