import assert from "node:assert/strict";
import { execFile, spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

/**
 * A real town whose agents are all the built-in simulated agent, supervised by the BUILT daemon
 * (`node dist/cli/main.js`) on a private tmux server (`<root>/t.sock`). Every agent writes what it receives
 * to `<root>/sim.jsonl`, so tests can read the beacon and nudges each generation got.
 *
 * Every process started for a town carries SUPERVISED_TOWN=<root> in its environment (the CLI, the daemon,
 * the tmux server and so every pane), so cleanup can find and kill exactly those processes, by PID, even
 * when a test failed half-way. The developer's default tmux server is never addressed.
 */

export const REPO_ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const CLI_MAIN = join(REPO_ROOT, "dist", "cli", "main.js");
/** The variable that marks every process belonging to one test town. */
export const TOWN_MARK = "SUPERVISED_TOWN";

export type Json = Record<string, unknown>;

/** One agent runtime as settings/config.json `agents.<name>` describes it. */
export interface RuntimeJson {
  command: string;
  args?: string[];
  env?: Record<string, string>;
  process_names?: string[];
  ready_prompt?: string;
  ready_timeout?: string;
  startup_delay?: string;
  bypass_dialog?: boolean;
  profile?: string;
  hooks?: boolean;
}

export interface AgentStatusJson {
  identity: string;
  session: string;
  role: string;
  rig: string | null;
  state: string;
  pid: number | null;
  generation: string | null;
  restarts: number;
  restarts_auto: number;
  restarts_manual: number;
  started_at: string | null;
  failures: number;
  last_exit: string | null;
  next_attempt_at: string | null;
  last_reason: string | null;
  held_by?: string | null;
  held_until?: string | null;
  detail?: string | null;
  respawn_armed?: boolean;
  activity?: {
    state: string;
    since: string;
    source: string;
    observed_at: string;
    detail: string;
    resets_at: string | null;
    limit: string | null;
  } | null;
}

export interface StatusJson {
  daemon: {
    running: boolean;
    pid: number | null;
    started_at: string | null;
    last_heartbeat: string | null;
    heartbeat_count: number;
  };
  tmux: { socket: string | null };
  agents: AgentStatusJson[];
}

/** One pane as `tmux list-panes -a` reports it. */
export interface PaneRow {
  session: string;
  paneId: string;
  pid: number;
  dead: boolean;
  deadStatus: string;
  generation: string;
  identity: string;
  command: string;
}

/** One line of the simulated agents' shared log. */
export interface SimEntry {
  ts: string;
  type: string;
  text?: string;
  identity?: string;
  title?: string;
  code?: number;
  reason?: string;
  generation: string | null;
  pid: number;
}

/** One line of daemon/daemon.log. */
export interface LogRecord {
  level: string;
  time: string;
  msg: string;
  agent?: string;
  action?: string;
  verdict?: string;
  generation?: string;
  reasons?: string[];
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface SettingsHelpers {
  root: string;
  simLog: string;
  /** A runtime running the sim agent (logging to simLog) with extra sim-agent flags. */
  simRuntime(extraArgs?: readonly string[], fields?: Partial<RuntimeJson>): RuntimeJson;
}

export interface SupervisedTownOptions {
  /** Rigs added with `townd rig add` (default none). */
  rigs?: string[];
  /** Edits settings/config.json after the defaults (private socket, `simlog` default agent) are in. */
  settings?: (settings: Json, helpers: SettingsHelpers) => void;
  /** Per-patrol entries that REPLACE init's entries in mayor/daemon.json (`{refinery: {enabled: false}}`). */
  patrols?: Record<string, unknown>;
  /** <rig>/settings/config.json per rig (rig-level role_agents, agents…). */
  rigSettings?: Record<string, (helpers: SettingsHelpers) => Json>;
  /** Environment of the default `simlog` runtime (e.g. TOWND_SIM_TITLE). */
  simEnv?: Record<string, string>;
  /** Extra environment for every townd CLI run (and so for the daemon it starts). */
  env?: Record<string, string>;
}

export interface SupervisedTown {
  root: string;
  socket: string;
  simLog: string;
  /** Runs the built CLI in the town (`--town <root>`); never throws on a non-zero exit. */
  townd(args: readonly string[], options?: { env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<CliRun>;
  /** `townd start`; throws unless it started. Returns the daemon's PID. */
  start(): Promise<number>;
  /** `townd status --json`, parsed. */
  status(): Promise<StatusJson>;
  /** daemon/state.json + daemon/agents.json read directly (cheap enough to poll). */
  snapshot(): StatusJson;
  /** Polls snapshot() until `predicate` holds; returns that snapshot or throws with the last one. */
  waitFor(predicate: (status: StatusJson) => boolean, timeoutMs: number, what?: string): Promise<StatusJson>;
  agent(status: StatusJson, identity: string): AgentStatusJson;
  /** Every pane of the town's tmux server ([] when no server runs). */
  panes(): Promise<PaneRow[]>;
  pane(session: string): Promise<PaneRow | undefined>;
  /** Polls panes() until `predicate` holds; returns those panes or throws with the last ones. */
  waitForPanes(
    predicate: (panes: PaneRow[]) => boolean,
    timeoutMs: number,
    what?: string,
  ): Promise<PaneRow[]>;
  /** Runs `tmux -S <socket> -f /dev/null ...args`. */
  tmux(args: readonly string[]): Promise<CliRun>;
  simEntries(): SimEntry[];
  log(): LogRecord[];
  /** Waits until the daemon has logged nothing for `quietMs` (no pass running or just finished). */
  waitForQuiet(quietMs: number, timeoutMs: number): Promise<void>;
  /** Polls the daemon log until a record matches; returns the log up to and including the first match. */
  waitForLog(
    predicate: (record: LogRecord) => boolean,
    timeoutMs: number,
    what?: string,
  ): Promise<LogRecord[]>;
  /** The daemon's PID from daemon/daemon.pid. */
  daemonPid(): number | undefined;
  /** Sends `signal` to the daemon (by its PID file, after checking it is this town's daemon). */
  signal(signal: NodeJS.Signals): void;
  /** Makes the daemon run passes (SIGUSR1) until heartbeat_count reaches `count`. */
  forcePasses(count: number, timeoutMs: number): Promise<StatusJson>;
  readJson(relative: string): Json;
  writeJson(relative: string, value: unknown): void;
  /** Stops the daemon, kills the tmux server and every process of the town, removes the directory. */
  cleanup(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function baseEnv(root: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, [TOWN_MARK]: root };
  for (const key of ["TOWND_ROOT", "GT_TOWN_ROOT", "GT_ROOT", "TMUX", "TMUX_PANE"]) {
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- an env map keyed by variable name
    delete env[key];
  }
  return env;
}

function runProcess(
  file: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<CliRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(
          `${file} ${args.join(" ")} did not exit within ${options.timeoutMs} ms\n${stdout}${stderr}`,
        ),
      );
    }, options.timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

function readJsonFile(file: string): Json {
  return JSON.parse(readFileSync(file, "utf8")) as Json;
}

function writeJsonFile(file: string, value: unknown): void {
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // A zombie (exited, not yet reaped) is gone for every purpose here.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** /proc/<pid>/environ as a map ({} when unreadable). */
export function processEnv(pid: number): Record<string, string> {
  try {
    const env: Record<string, string> = {};
    for (const entry of readFileSync(`/proc/${pid}/environ`, "utf8").split("\0")) {
      const eq = entry.indexOf("=");
      if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
    return env;
  } catch {
    return {};
  }
}

/** Direct children of `pid`, found by reading every process's stat file under /proc. */
export function childPids(pid: number): number[] {
  const found: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) found.push(Number(name));
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

/** PIDs of every process carrying SUPERVISED_TOWN=<root> (the CLI, daemon, tmux server, agents, shells). */
export function townProcessPids(root: string): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => pid !== process.pid && processEnv(pid)[TOWN_MARK] === root);
}

const liveCleanups = new Set<() => void>();
process.on("exit", () => {
  for (const cleanup of liveCleanups) cleanup();
});

/** Splits the log's JSON lines, skipping a torn last line. */
function parseLines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  const out: T[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      // A line still being written.
    }
  }
  return out;
}

/**
 * A town with one rig (`r1` unless `rigs` says otherwise), started, once its Deacon, Witness and Refinery
 * are running (their start-up sequences done): the set-up most supervision tests begin from.
 */
export async function startedPatrolTown(opts: SupervisedTownOptions = {}): Promise<SupervisedTown> {
  const town = await createSupervisedTown({ rigs: ["r1"], ...opts });
  await town.start();
  await town.waitFor(
    (s) => s.agents.filter((a) => a.state === "running").length === 3,
    30_000,
    "deacon, witness and refinery to be running",
  );
  return town;
}

export async function createSupervisedTown(opts: SupervisedTownOptions = {}): Promise<SupervisedTown> {
  if (!existsSync(CLI_MAIN)) throw new Error(`${CLI_MAIN} is missing: run npm run build first`);
  const root = mkdtempSync("/tmp/st-");
  const socket = join(root, "t.sock");
  const simLog = join(root, "sim.jsonl");
  const env = { ...baseEnv(root), ...opts.env };
  const tmuxEnv = baseEnv(root);

  const helpers: SettingsHelpers = {
    root,
    simLog,
    simRuntime: (extraArgs = [], fields = {}) => ({
      command: process.execPath,
      args: [CLI_MAIN, "sim-agent", "--log", simLog, ...extraArgs],
      process_names: ["2.1.7"],
      // The simulated agent draws Claude's screens: its prompt and dialogs are read with Claude's profile.
      profile: "claude",
      ready_timeout: "20s",
      ...fields,
    }),
  };

  const townd = (
    args: readonly string[],
    options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
  ): Promise<CliRun> =>
    runProcess(process.execPath, [CLI_MAIN, "--town", root, ...args], {
      cwd: root,
      env: options.env ?? env,
      timeoutMs: options.timeoutMs ?? 30_000,
    });

  const tmux = (args: readonly string[]): Promise<CliRun> =>
    new Promise((resolvePromise) => {
      execFile(
        "tmux",
        ["-S", socket, "-f", "/dev/null", ...args],
        { env: tmuxEnv, timeout: 10_000 },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
          resolvePromise({ code, stdout, stderr });
        },
      );
    });

  const daemonPid = (): number | undefined => {
    try {
      const text = readFileSync(join(root, "daemon", "daemon.pid"), "utf8").trim();
      return /^\d+$/.test(text) ? Number(text) : undefined;
    } catch {
      return undefined;
    }
  };

  /** A PID is this town's only if its environment says so: a PID file may name a reused PID. */
  const ours = (pid: number): boolean => processEnv(pid)[TOWN_MARK] === root;

  const killAllSync = (): void => {
    const pid = daemonPid();
    if (pid !== undefined && ours(pid)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    if (existsSync(socket))
      spawnSync("tmux", ["-S", socket, "kill-server"], { env: tmuxEnv, stdio: "ignore" });
    for (const leftover of townProcessPids(root)) {
      try {
        process.kill(leftover, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  };
  const cleanupSync = (): void => {
    liveCleanups.delete(cleanupSync);
    killAllSync();
    rmSync(root, { recursive: true, force: true });
  };
  liveCleanups.add(cleanupSync);

  const snapshot = (): StatusJson => {
    let state: Json = {};
    let agents: AgentStatusJson[] = [];
    try {
      state = readJsonFile(join(root, "daemon", "state.json"));
    } catch {
      // Not written yet.
    }
    try {
      agents = (readJsonFile(join(root, "daemon", "agents.json"))["agents"] ?? []) as AgentStatusJson[];
    } catch {
      // Not written yet.
    }
    const pid = daemonPid();
    return {
      daemon: {
        running: state["running"] === true && pid !== undefined && isAlive(pid),
        pid: pid ?? null,
        started_at: (state["started_at"] as string | undefined) ?? null,
        last_heartbeat: (state["last_heartbeat"] as string | undefined) ?? null,
        heartbeat_count: (state["heartbeat_count"] as number | undefined) ?? 0,
      },
      tmux: { socket },
      agents,
    };
  };

  const waitFor = async (
    predicate: (status: StatusJson) => boolean,
    timeoutMs: number,
    what = "a condition on the town's status",
  ): Promise<StatusJson> => {
    const deadline = Date.now() + timeoutMs;
    let last = snapshot();
    let problem = "";
    // A predicate that throws (e.g. town.agent() before the first pass listed the agent) means "not yet".
    const holds = (status: StatusJson): boolean => {
      try {
        return predicate(status);
      } catch (error) {
        problem = `; last predicate error: ${error instanceof Error ? error.message : String(error)}`;
        return false;
      }
    };
    while (!holds(last)) {
      if (Date.now() > deadline) {
        const agents = last.agents.map(
          (a) => `${a.identity}=${a.state}/${a.pid ?? "-"}/${a.generation ?? "-"}`,
        );
        throw new Error(
          `Timed out after ${timeoutMs} ms waiting for ${what}; heartbeat_count=${last.daemon.heartbeat_count}, ` +
            `agents: ${agents.join(", ")}${problem}\n--- daemon log tail ---\n${tailLog(8)}`,
        );
      }
      await sleep(50);
      last = snapshot();
    }
    return last;
  };

  const tailLog = (n: number): string =>
    parseLines<LogRecord>(join(root, "daemon", "daemon.log"))
      .slice(-n)
      .map((r) => `${r.time} ${r.msg}`)
      .join("\n");

  const panes = async (): Promise<PaneRow[]> => {
    const format = [
      "#{session_name}",
      "#{pane_id}",
      "#{pane_pid}",
      "#{pane_dead}",
      "#{pane_dead_status}",
      "#{@townd_generation}",
      "#{@townd_identity}",
      "#{pane_current_command}",
    ].join("\t");
    const result = await tmux(["-N", "list-panes", "-a", "-F", format]);
    if (result.code !== 0) return [];
    return result.stdout
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => {
        const [
          session = "",
          paneId = "",
          pid = "0",
          dead = "0",
          deadStatus = "",
          generation = "",
          identity = "",
        ] = line.split("\t");
        const command = line.split("\t").slice(7).join("\t");
        return {
          session,
          paneId,
          pid: Number(pid),
          dead: dead === "1",
          deadStatus,
          generation,
          identity,
          command,
        };
      });
  };

  const signalDaemon = (signal: NodeJS.Signals): void => {
    const pid = daemonPid();
    if (pid === undefined || !ours(pid)) throw new Error(`no daemon of ${root} to send ${signal} to`);
    process.kill(pid, signal);
  };

  const town: SupervisedTown = {
    root,
    socket,
    simLog,
    townd,
    start: async () => {
      const result = await townd(["start"]);
      const match = /Daemon started \(PID (\d+)\)/.exec(result.stdout);
      if (result.code !== 0 || match?.[1] === undefined) {
        throw new Error(`townd start failed (exit ${result.code}):\n${result.stdout}${result.stderr}`);
      }
      return Number(match[1]);
    },
    status: async () => {
      const result = await townd(["status", "--json"]);
      if (result.code !== 0) throw new Error(`townd status --json failed (${result.code}): ${result.stderr}`);
      return JSON.parse(result.stdout) as StatusJson;
    },
    snapshot,
    waitFor,
    agent: (status, identity) => {
      const found = status.agents.find((a) => a.identity === identity);
      if (found === undefined) {
        throw new Error(
          `no agent ${identity} in status (${status.agents.map((a) => a.identity).join(", ")})`,
        );
      }
      return found;
    },
    panes,
    pane: async (session) => (await panes()).find((p) => p.session === session),
    waitForPanes: async (predicate, timeoutMs, what = "a condition on the panes") => {
      const deadline = Date.now() + timeoutMs;
      let last = await panes();
      while (!predicate(last)) {
        if (Date.now() > deadline) {
          const shown = last.map((p) => `${p.session}:${p.pid}:${p.dead ? "dead" : "alive"}:${p.command}`);
          throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}; panes: ${shown.join(", ")}`);
        }
        await sleep(25);
        last = await panes();
      }
      return last;
    },
    tmux,
    simEntries: () => parseLines<SimEntry>(simLog),
    log: () => parseLines<LogRecord>(join(root, "daemon", "daemon.log")),
    waitForQuiet: async (quietMs, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const last = parseLines<LogRecord>(join(root, "daemon", "daemon.log")).at(-1);
        const idleMs = last === undefined ? quietMs : Date.now() - Date.parse(last.time);
        if (idleMs >= quietMs) return;
        if (Date.now() > deadline) throw new Error(`the daemon was never quiet for ${quietMs} ms`);
        await sleep(Math.max(25, quietMs - idleMs));
      }
    },
    waitForLog: async (predicate, timeoutMs, what = "a log record") => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const log = parseLines<LogRecord>(join(root, "daemon", "daemon.log"));
        const index = log.findIndex(predicate);
        if (index >= 0) return log.slice(0, index + 1);
        if (Date.now() > deadline) {
          throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}\n${tailLog(8)}`);
        }
        await sleep(25);
      }
    },
    daemonPid,
    signal: signalDaemon,
    forcePasses: async (count, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      let status = snapshot();
      while (status.daemon.heartbeat_count < count) {
        if (Date.now() > deadline) {
          throw new Error(`only ${status.daemon.heartbeat_count} of ${count} passes within ${timeoutMs} ms`);
        }
        signalDaemon("SIGUSR1");
        await sleep(60);
        status = snapshot();
      }
      return status;
    },
    readJson: (relative) => readJsonFile(join(root, relative)),
    writeJson: (relative, value) => {
      writeJsonFile(join(root, relative), value);
    },
    cleanup: async () => {
      liveCleanups.delete(cleanupSync);
      const pid = daemonPid();
      if (pid !== undefined && ours(pid) && isAlive(pid)) {
        const stopped = await townd(["stop", "--timeout", "5s"]).catch(() => undefined);
        if (stopped?.code !== 0 && isAlive(pid) && ours(pid)) process.kill(pid, "SIGKILL");
      }
      // Again until none is left: a process in flight at the first sweep (a `townd` CLI, a daemon starting up)
      // can still start a tmux server after it, which would outlive the test with its socket deleted.
      const deadline = Date.now() + 5000;
      do {
        killAllSync();
        await sleep(25);
      } while (townProcessPids(root).length > 0 && Date.now() < deadline);
      rmSync(root, { recursive: true, force: true });
    },
  };

  try {
    const init = await runProcess(process.execPath, [CLI_MAIN, "init", root, "--agent", "sim"], {
      cwd: "/tmp",
      env,
      timeoutMs: 30_000,
    });
    if (init.code !== 0) throw new Error(`townd init failed (${init.code}): ${init.stderr}`);
    for (const rig of opts.rigs ?? []) {
      const added = await townd(["rig", "add", rig]);
      if (added.code !== 0) throw new Error(`townd rig add ${rig} failed: ${added.stderr}`);
    }
    const settingsFile = join(root, "settings", "config.json");
    const settings = readJsonFile(settingsFile);
    settings["tmux"] = { socket };
    const simlog = helpers.simRuntime();
    if (opts.simEnv !== undefined) simlog.env = { ...opts.simEnv };
    settings["agents"] = { ...(settings["agents"] as Json | undefined), simlog };
    settings["default_agent"] = "simlog";
    opts.settings?.(settings, helpers);
    writeJsonFile(settingsFile, settings);
    if (opts.patrols !== undefined) {
      const patrolFile = join(root, "mayor", "daemon.json");
      const patrolConfig = readJsonFile(patrolFile);
      patrolConfig["patrols"] = { ...(patrolConfig["patrols"] as Json | undefined), ...opts.patrols };
      writeJsonFile(patrolFile, patrolConfig);
    }
    for (const [rig, make] of Object.entries(opts.rigSettings ?? {})) {
      mkdirSync(join(root, rig, "settings"), { recursive: true });
      writeJsonFile(join(root, rig, "settings", "config.json"), make(helpers));
    }
  } catch (error) {
    cleanupSync();
    throw error;
  }
  return town;
}

/** Sessions of the panes, sorted. */
export function sessionNames(panes: readonly PaneRow[]): string[] {
  return panes.map((p) => p.session).sort();
}

/** Input lines one generation of an agent received, in order, without the Escape the nudge protocol types. */
export function inputsOf(entries: readonly SimEntry[], generation: string): SimEntry[] {
  return entries
    .filter((e) => e.type === "input" && e.generation === generation)
    .map((e) => ({ ...e, text: stripEscape(e.text ?? "") }));
}

/**
 * The nudge protocol presses Escape before Enter (B116); the sim agent reads its tty in canonical mode, where
 * Escape is an ordinary byte, so it ends up at the end of the line it logs.
 */
export function stripEscape(text: string): string {
  return text.endsWith("\u001b") ? text.slice(0, -1) : text;
}

/** The executable behind a PID (`/usr/bin/node`), or undefined. */
export function exeOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
}

export function cmdlineOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8")
      .split("\0")
      .filter((s) => s !== "");
  } catch {
    return [];
  }
}

/** A fresh short temp dir (for files tests want to see created, or not). */
export function tempDir(prefix = "/tmp/sx-"): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(prefix);
  return {
    dir,
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RespawnMeasurement {
  /** SIGKILL → a live pane process with a new pid. */
  respawnMs: number;
  /** SIGKILL → the new process shows its title (`expectTitle`). */
  titleMs: number;
  /** SIGKILL → tmux showed the pane dead (null if the respawn came before any poll saw it dead). */
  deadMs: number | null;
  /** SIGKILL → the daemon logged "Started …" for the new generation (wall clock, ms resolution). */
  startedMs: number | null;
  /** Whether the pass that respawned it was triggered by tmux's pane-died hook (else by the death poll). */
  viaHook: boolean;
  /** What triggered that pass, as its "Heartbeat complete" record lists. */
  reasons: string[];
  /** The daemon's log from 2 s before the kill on, for failure messages. */
  logWindow: string[];
  killedAt: string;
  before: PaneRow;
  after: PaneRow;
}

/**
 * SIGKILLs the agent in `session` and measures how long until a new agent runs there. Polls tmux as fast as it
 * answers (one list-panes per round, a few ms).
 */
export async function killAndMeasure(
  town: SupervisedTown,
  session: string,
  options: { expectTitle?: string; timeoutMs?: number } = {},
): Promise<RespawnMeasurement> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const expectTitle = options.expectTitle ?? "2.1.7";
  // Kill while the daemon is idle, so the pass that finds the death is one the death itself caused.
  await town.waitForQuiet(300, 10_000);
  const before = await town.pane(session);
  if (before === undefined || before.dead) throw new Error(`${session} has no live pane to kill`);
  const killedAtWall = Date.now();
  const started = performance.now();
  process.kill(before.pid, "SIGKILL");
  let after: PaneRow | undefined;
  let respawnMs = 0;
  let deadMs: number | null = null;
  while (after === undefined || after.command !== expectTitle) {
    if (performance.now() - started > timeoutMs) {
      const from = new Date(killedAtWall - 2000).toISOString();
      const tail = town
        .log()
        .filter((r) => r.time >= from)
        .map((r) => `${r.time} ${r.msg}`);
      throw new Error(
        `${session} was not respawned within ${timeoutMs} ms of the kill at ${new Date(killedAtWall).toISOString()} ` +
          `(last: ${JSON.stringify(after)})\n${tail.join("\n")}`,
      );
    }
    const pane = await town.pane(session);
    if (deadMs === null && pane !== undefined && pane.dead) deadMs = performance.now() - started;
    if (pane !== undefined && !pane.dead && pane.pid !== before.pid) {
      if (after === undefined) respawnMs = performance.now() - started;
      after = pane;
    }
  }
  const titleMs = performance.now() - started;
  const generation = after.generation;
  // The pass that started the new generation logs "Heartbeat complete" with what triggered it.
  let reasons: string[] | undefined;
  const deadline = Date.now() + 5000;
  while (reasons === undefined && Date.now() < deadline) {
    const log = town.log();
    const startedAt = log.findIndex((r) => r.msg.startsWith("Started ") && r.generation === generation);
    reasons = log
      .slice(startedAt)
      .find((r) => startedAt >= 0 && r.msg.startsWith("Heartbeat complete"))?.reasons;
    if (reasons === undefined) await sleep(25);
  }
  const found = reasons ?? [];
  const decided = town
    .log()
    .find(
      (r) =>
        r.msg.startsWith("Started ") && r.generation === generation && Date.parse(r.time) >= killedAtWall - 5,
    );
  const startedMs = decided === undefined ? null : Date.parse(decided.time) - killedAtWall;
  const from = new Date(killedAtWall - 2000).toISOString();
  const logWindow = town
    .log()
    .filter((r) => r.time >= from)
    .map((r) => `${r.time} ${r.msg}${r.reasons === undefined ? "" : ` ${JSON.stringify(r.reasons)}`}`);
  return {
    respawnMs,
    titleMs,
    deadMs,
    startedMs,
    viaHook: found.includes("pane died"),
    reasons: found,
    before,
    after,
    logWindow,
    killedAt: new Date(killedAtWall).toISOString(),
  };
}

/**
 * Under 1 s, unless the only thing that made the daemon look was its death poll: tmux 3.3a drops about one
 * pane-died notification in ten (tmux#2483), and then the poll (default every 2 s) must have caught it.
 */
export function assertRespawnLatency(
  m: RespawnMeasurement,
  diagnostic: (text: string) => void,
  deathPollMs = 2000,
  enforce = true,
): void {
  diagnostic(
    `kill -9 -> new pane process ${m.respawnMs.toFixed(0)} ms, -> title ${m.titleMs.toFixed(0)} ms ` +
      `(tmux showed it dead after ${m.deadMs?.toFixed(0) ?? "-"} ms, daemon logged the start after ` +
      `${m.startedMs ?? "-"} ms; pass triggered by: ${m.reasons.join(", ")})`,
  );
  if (!enforce) return;
  const pollOnly = m.reasons.length > 0 && m.reasons.every((r) => r.startsWith("pane died in "));
  if (!pollOnly) {
    assert.ok(
      m.respawnMs < 1000,
      `respawned ${m.respawnMs.toFixed(0)} ms after the kill at ${m.killedAt} (limit 1000 ms)\n${m.logWindow.join("\n")}`,
    );
  } else {
    diagnostic("tmux dropped the pane-died notification (tmux#2483); the death poll caught the death");
    assert.ok(
      m.respawnMs < deathPollMs + 1000,
      `respawned ${m.respawnMs.toFixed(0)} ms after the kill at ${m.killedAt}\n${m.logWindow.join("\n")}`,
    );
  }
}

/** /proc/pressure/cpu "some avg10": the share of the last 10 s in which runnable tasks waited for a CPU. */
export function cpuPressure(): number | undefined {
  try {
    const match = /some avg10=([\d.]+)/.exec(readFileSync("/proc/pressure/cpu", "utf8"));
    return match?.[1] === undefined ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

/** Whether a measurement meets assertRespawnLatency's bound. */
export function respawnInTime(m: RespawnMeasurement, deathPollMs = 2000): boolean {
  const pollOnly = m.reasons.length > 0 && m.reasons.every((r) => r.startsWith("pane died in "));
  return m.respawnMs < (pollOnly ? deathPollMs + 1000 : 1000);
}

/**
 * killAndMeasure on `sessions[0]`; only when that misses the bound WHILE the machine is starved for CPU
 * (pressure above `pressureLimit`%, i.e. other work, not townd, held the daemon back), once more on
 * `sessions[1]`. Every attempt is returned, so the test reports them all; the last one is asserted.
 */
export async function killAndMeasureOnQuietMachine(
  town: SupervisedTown,
  sessions: readonly [string, string],
  beforeRetry: () => Promise<void>,
  diagnostic: (text: string) => void,
  pressureLimit = 25,
): Promise<RespawnMeasurement[]> {
  const first = await killAndMeasure(town, sessions[0]);
  if (respawnInTime(first)) return [first];
  const pressure = cpuPressure();
  if (pressure === undefined || pressure < pressureLimit) return [first];
  diagnostic(
    `slow respawn (${first.respawnMs.toFixed(0)} ms) while CPU pressure was ${pressure}% (other processes ` +
      `kept runnable tasks waiting); measuring once more on ${sessions[1]}`,
  );
  await beforeRetry();
  return [first, await killAndMeasure(town, sessions[1])];
}
