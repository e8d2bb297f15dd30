/**
 * Shared pieces of the daemon benchmarks (respawn, lifecycle, footprint): a private town of cheap agents
 * run by the built CLI, a PM2 installed into a temp directory with its own PM2_HOME, /proc sampling,
 * statistics, and one cleanup list that runs on success, on error and on SIGINT/SIGTERM.
 *
 * Nothing here touches the default tmux server, the repo's dependencies or the user's ~/.pm2: every tmux
 * call passes `-S <private socket>`, PM2 lives in a temp prefix and every pm2 call gets PM2_HOME.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { callApi } from "../src/api/client.js";

export const REPO = join(import.meta.dirname, "..");
/**
 * The townd build under test: the repo's dist/ (`npm run build`), or TOWND_BENCH_DIST, a dist/ built
 * elsewhere (e.g. from one commit, with node_modules linked beside it), so a rebuild of the shared dist/
 * by someone else cannot change the daemon in the middle of a run.
 */
export const DIST = process.env["TOWND_BENCH_DIST"] ?? join(REPO, "dist");
export const MAIN = join(DIST, "cli", "main.js");

/** Wall-clock epoch milliseconds with sub-millisecond resolution, comparable across processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------------------------- cleanup

const cleanups: { name: string; run: () => Promise<void> | void }[] = [];
let cleaning: Promise<void> | undefined;

/** Registers a cleanup step; steps run last-registered first, each one even if an earlier one failed. */
export function onCleanup(name: string, run: () => Promise<void> | void): void {
  cleanups.push({ name, run });
}

export function cleanupAll(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const step = cleanups.pop();
      if (step === undefined) break;
      try {
        await step.run();
      } catch (error) {
        process.stderr.write(`cleanup "${step.name}" failed: ${String(error)}\n`);
      }
    }
  })();
  return cleaning;
}

/** Runs `body`, then the cleanup list, whatever happens; a signal stops the run and still cleans up. */
export async function runBenchmark(body: () => Promise<void>): Promise<void> {
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`\n${signal}: cleaning up\n`);
    void cleanupAll().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    await body();
  } catch (error) {
    process.exitCode = 1;
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  } finally {
    await cleanupAll();
  }
}

// ------------------------------------------------------------------------------------------- statistics

/** Nearest rank: the smallest sample with at least q of the samples at or below it. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  if (sorted.length % 2 === 1) return sorted[middle] ?? Number.NaN;
  return ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((sum, value) => sum + value, 0) / values.length;
}

export interface Summary {
  n: number;
  p50: number;
  p95: number;
  min: number;
  max: number;
  mean: number;
}

export function summarize(values: readonly number[]): Summary {
  const round = (value: number): number => Math.round(value * 10) / 10;
  return {
    n: values.length,
    p50: round(median(values)),
    p95: round(quantile(values, 0.95)),
    min: round(Math.min(...values)),
    max: round(Math.max(...values)),
    mean: round(mean(values)),
  };
}

export function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

// ---------------------------------------------------------------------------------------------- machine

export interface Machine {
  date: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  tmux: string;
  /** 1, 5 and 15 minute load averages when the run started and when it ended. */
  loadAtStart: number[];
  loadAtEnd?: number[];
  /** The repo's commit and whether its src/ differed from it (other engineers edit it concurrently). */
  commit: string;
  dirty: boolean;
  /** The dist/ measured (see DIST), and the commit it was built from if TOWND_BENCH_COMMIT says so. */
  dist: string;
  distCommit: string | null;
}

export function machine(): Machine {
  const git = (...args: string[]): string =>
    spawnSync("git", ["-C", REPO, ...args], { encoding: "utf8" }).stdout.trim();
  return {
    date: new Date().toISOString(),
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    tmux: spawnSync("tmux", ["-V"], { encoding: "utf8" }).stdout.trim(),
    loadAtStart: loadavg().map((value) => round(value, 2)),
    commit: git("rev-parse", "--short", "HEAD"),
    dirty: git("status", "--porcelain", "--untracked-files=no", "src") !== "",
    dist: DIST,
    distCommit: process.env["TOWND_BENCH_COMMIT"] ?? null,
  };
}

/** Waits (up to `maxWaitMs`) for the 1-minute load average to fall to `limit`, so a run starts quieter. */
export async function waitForQuiet(limit: number, maxWaitMs: number): Promise<number> {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const load = loadavg()[0] ?? 0;
    if (load <= limit || Date.now() >= deadline) return round(load, 2);
    process.stderr.write(`load average ${load.toFixed(2)} > ${limit}: waiting\n`);
    await sleep(15_000);
  }
}

export function writeResult(name: string, data: unknown): string {
  const dir = join(REPO, ".bench");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}

export function table(
  header: readonly string[],
  align: readonly string[],
  rows: readonly (readonly unknown[])[],
): string {
  return [
    `| ${header.join(" | ")} |`,
    `|${align.join("|")}|`,
    ...rows.map((row) => `| ${row.map(String).join(" | ")} |`),
  ].join("\n");
}

// ------------------------------------------------------------------------------------------------ /proc

export const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** VmRSS of `pid` in MB (10^6 bytes, as PM2's figures in peers.md), or NaN if it is gone. */
export function rssMb(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match === null ? Number.NaN : (Number(match[1]) * 1024) / 1e6;
  } catch {
    return Number.NaN;
  }
}

export interface CpuTimes {
  /** utime + stime of the process itself, ms. */
  self: number;
  /** cutime + cstime: waited-for children (the tmux clients a daemon runs), ms. */
  children: number;
}

export function cpuTimes(pid: number): CpuTimes {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // After "(comm) ": state is field 3, so utime (14) is index 11 here, stime 12, cutime 13, cstime 14.
  const tick = (index: number): number => (Number(fields[index]) * 1000) / CLOCK_TICKS;
  return { self: tick(11) + tick(12), children: tick(13) + tick(14) };
}

/** The children of `pid` (its main thread's, where both tmux and Node fork), or [] once it is gone. */
export function childPids(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
    return text === "" ? [] : text.split(" ").map(Number);
  } catch {
    return [];
  }
}

/** The command line of `pid`, NUL-separated as the kernel keeps it; null once it is gone. */
export function cmdlineOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return null;
  }
}

/** A new process of a supervisor: when it was first seen as the supervisor's child, before its exec. */
export interface NewChild {
  pid: number;
  /** nowMs() of the poll that first listed it among the supervisor's children. */
  seenAt: number;
}

/**
 * Polls the children of `parent` every millisecond (the method: the moment the replacement
 * exists, not when its own start-up is done) until a child that was not in `known` runs a command line
 * for which `isAgent` holds. Every new child is timed when first listed, i.e. at its fork; its command line
 * is read again at every poll until it execs the agent (a tmux hook's `sh`, say, never does). `onPoll`
 * runs at every poll (to follow a file meanwhile).
 */
export async function waitForNewChild(
  parent: number,
  known: ReadonlySet<number>,
  isAgent: (cmdline: string) => boolean,
  timeoutMs: number,
  onPoll?: () => void,
): Promise<NewChild> {
  const seen = new Map<number, number>();
  const deadline = nowMs() + timeoutMs;
  for (;;) {
    const now = nowMs();
    for (const pid of childPids(parent)) if (!known.has(pid) && !seen.has(pid)) seen.set(pid, now);
    for (const [pid, seenAt] of seen) {
      const cmdline = cmdlineOf(pid);
      if (cmdline === null) seen.delete(pid);
      else if (isAgent(cmdline)) return { pid, seenAt };
    }
    onPoll?.();
    if (now > deadline) throw new Error(`No new agent process under pid ${parent} within ${timeoutMs} ms`);
    await sleep(1);
  }
}

// ------------------------------------------------------------------------------------------------- town

/** The tmux server serving `socket`: the process named "tmux: server" whose command line names it. */
export function tmuxServerPid(socket: string): number {
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/comm`, "utf8").trim() !== "tmux: server") continue;
      if (readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0").includes(socket)) return Number(name);
    } catch {
      // Gone meanwhile.
    }
  }
  throw new Error(`No tmux server for ${socket}`);
}

export interface RuntimeSpec {
  command: string;
  args: string[];
  process_names: string[];
  /** Whose screens and hooks the runtime has (src/activity/profiles.ts); default generic. */
  profile?: string;
}

export interface TownOptions {
  /** Witness + refinery per rig, so agents = 2 × rigs. */
  rigs: number;
  runtime: RuntimeSpec;
  /** Merged into `operational.daemon` (the Deacon's watchdog is always off: there is no Deacon here). */
  daemon?: Record<string, unknown>;
}

export interface Town {
  readonly root: string;
  readonly town: string;
  readonly socket: string;
  readonly controlSocket: string;
  readonly logFile: string;
  /** nowMs() just before `townd start` ran. */
  readonly startedAt: number;
  townd(...args: string[]): string;
  daemonPid(): number;
  status(): Promise<DaemonStatus>;
  tmux(...args: string[]): string;
  /** PID of the town's tmux server. */
  tmuxPid(): number;
  stop(): void;
  /** Stops the daemon, kills the tmux server and removes the town now (cleanup does it otherwise). */
  dispose(): void;
}

export interface AgentStatusView {
  identity: string;
  session: string;
  state: string;
  pid: number | null;
  generation: string | null;
}

export interface DaemonStatus {
  daemon: { pid: number; heartbeat_count: number };
  agents: AgentStatusView[];
}

export function townd(town: string, ...args: string[]): string {
  return execFileSync(process.execPath, [MAIN, "--town", town, ...args], { encoding: "utf8" });
}

/**
 * A private town under a temp dir: its own tmux socket, agents from `runtime`, only the witness and
 * refinery patrols, and the daemon started. Registered for cleanup (daemon stopped, tmux server killed,
 * directory removed) before anything is started.
 */
export async function startTown(prefix: string, options: TownOptions): Promise<Town> {
  const { mkdtempSync, rmSync } = await import("node:fs");
  const root = mkdtempSync(join(tmpdir(), prefix));
  const town = join(root, "t");
  const socket = join(root, "tmux.sock");
  const tmux = (...args: string[]): string => {
    const { TMUX: _tmux, TMUX_PANE: _pane, ...env } = process.env;
    return execFileSync("tmux", ["-S", socket, "-f", "/dev/null", "-N", ...args], { encoding: "utf8", env });
  };
  onCleanup(`remove ${root}`, () => {
    rmSync(root, { recursive: true, force: true });
  });
  onCleanup(`kill tmux server ${socket}`, () => {
    spawnSync("tmux", ["-S", socket, "kill-server"], { stdio: "ignore" });
  });
  onCleanup(`stop daemon of ${town}`, () => {
    if (existsSync(join(town, "daemon", "daemon.pid")))
      spawnSync(process.execPath, [MAIN, "--town", town, "stop", "--timeout", "10s"], { stdio: "ignore" });
  });

  townd(root, "init", town, "--agent", "bench");
  const settingsFile = join(town, "settings", "config.json");
  const settings = JSON.parse(readFileSync(settingsFile, "utf8")) as Record<string, unknown>;
  settings["agents"] = { bench: options.runtime };
  settings["tmux"] = { socket };
  settings["operational"] = {
    daemon: { watchdog: { deacon: { enabled: false } }, ...options.daemon },
  };
  writeFileSync(settingsFile, JSON.stringify(settings, null, 2));
  writeFileSync(
    join(town, "mayor", "daemon.json"),
    JSON.stringify({
      patrols: { deacon: { enabled: false }, witness: { enabled: true }, refinery: { enabled: true } },
    }),
  );
  const rigs = Object.fromEntries(Array.from({ length: options.rigs }, (_, i) => [`r${i}`, {}]));
  writeFileSync(join(town, "mayor", "rigs.json"), JSON.stringify({ version: 1, rigs }));
  const startedAt = nowMs();
  townd(town, "start");
  const controlSocket = join(town, "daemon", "control.sock");
  return {
    root,
    town,
    socket,
    controlSocket,
    logFile: join(town, "daemon", "daemon.log"),
    startedAt,
    townd: (...args) => townd(town, ...args),
    daemonPid: () => Number(readFileSync(join(town, "daemon", "daemon.pid"), "utf8").trim()),
    status: async () => (await callApi(controlSocket, "GET", "/v1/status")) as DaemonStatus,
    tmux,
    tmuxPid: () => tmuxServerPid(socket),
    stop: () => {
      spawnSync(process.execPath, [MAIN, "--town", town, "stop", "--timeout", "10s"], { stdio: "ignore" });
    },
    dispose: () => {
      spawnSync(process.execPath, [MAIN, "--town", town, "stop", "--timeout", "10s"], { stdio: "ignore" });
      spawnSync("tmux", ["-S", socket, "kill-server"], { stdio: "ignore" });
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Waits until `count` agents are running (state "running": their start-up sequences have finished). */
export async function waitForRunning(town: Town, count: number, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    let running = 0;
    try {
      const status = await town.status();
      running = status.agents.filter((agent) => agent.state === "running").length;
    } catch {
      // The control socket appears a moment after `townd start` returns.
    }
    if (running >= count) return Date.now() - started;
    if (Date.now() - started > timeoutMs)
      throw new Error(`Only ${running} of ${count} agents running after ${timeoutMs / 1000} s`);
    await sleep(500);
  }
}

// ----------------------------------------------------------------------------------------------- agent

/**
 * The benchmark agent: appends `start <epoch ms> <pid> <generation> <identity>` to the log named by its
 * first argument as soon as Node runs it, prints a line, and on SIGTERM appends `exit <epoch ms> <pid>`
 * and exits 1. TOWND_GENERATION/TOWND_IDENTITY come from townd; under PM2 and the floor loop the
 * generation is the pid and the identity is given as the second argument.
 */
export const AGENT_SOURCE = `"use strict";
const fs = require("node:fs");
const t = performance.timeOrigin + performance.now();
const log = process.argv[2];
const generation = process.env.TOWND_GENERATION || String(process.pid);
const identity = process.env.TOWND_IDENTITY || process.argv[3] || "agent";
fs.appendFileSync(log, "start " + t.toFixed(3) + " " + process.pid + " " + generation + " " + identity + "\\n");
process.stdout.write("agent " + identity + " generation " + generation + " up at " + t.toFixed(3) + "\\n");
process.on("SIGTERM", () => {
  fs.appendFileSync(log, "exit " + (performance.timeOrigin + performance.now()).toFixed(3) + " " + process.pid + "\\n");
  process.exit(1);
});
setInterval(() => {}, 1 << 30);
`;

export interface StartLine {
  at: number;
  pid: number;
  generation: string;
  identity: string;
}

export interface ExitLine {
  at: number;
  pid: number;
}

/** Follows an agent log file: every start and exit line written so far, read incrementally. */
export class AgentLog {
  readonly starts: StartLine[] = [];
  readonly exits: ExitLine[] = [];
  private offset = 0;
  private rest = "";
  readonly file: string;

  constructor(file: string) {
    this.file = file;
    writeFileSync(file, "", { flag: "a" });
  }

  read(): void {
    const buffer = readFileSync(this.file);
    if (buffer.length <= this.offset) return;
    const text = this.rest + buffer.subarray(this.offset).toString("utf8");
    this.offset = buffer.length;
    const lines = text.split("\n");
    this.rest = lines.pop() ?? "";
    for (const line of lines) {
      const [kind, at, pid, generation, identity] = line.split(" ");
      if (kind === "start" && generation !== undefined && identity !== undefined)
        this.starts.push({ at: Number(at), pid: Number(pid), generation, identity });
      else if (kind === "exit") this.exits.push({ at: Number(at), pid: Number(pid) });
    }
  }

  latestStart(identity: string): StartLine | undefined {
    this.read();
    return this.starts.findLast((start) => start.identity === identity);
  }

  /** Polls (every `pollMs`) until `predicate` finds a line, or throws after `timeoutMs`. */
  async waitFor<T>(find: () => T | undefined, timeoutMs: number, what: string, pollMs = 2): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.read();
      const found = find();
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(pollMs);
    }
  }
}

/** Follows a text file that only grows: each new complete line with the time this process first saw it. */
export class LineFollower {
  readonly lines: { at: number; text: string }[] = [];
  private offset = 0;
  private rest = "";
  readonly file: string;

  constructor(file: string) {
    this.file = file;
  }

  poll(): void {
    let buffer: Buffer;
    try {
      buffer = readFileSync(this.file);
    } catch {
      return;
    }
    if (buffer.length <= this.offset) return;
    const at = nowMs();
    const text = this.rest + buffer.subarray(this.offset).toString("utf8");
    this.offset = buffer.length;
    const lines = text.split("\n");
    this.rest = lines.pop() ?? "";
    for (const line of lines) this.lines.push({ at, text: line });
  }
}

/** Sends `signal` to `pid`; false if it is already gone. */
export function signal(pid: number, name: NodeJS.Signals): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------------------------------------- PM2

export interface Pm2 {
  readonly version: string;
  readonly home: string;
  run(...args: string[]): string;
  godPid(): number;
  /** `pm2 kill` and remove the home, now. */
  kill(): void;
}

/**
 * Installs PM2 (`npm install --prefix <dir> pm2@7`, a dependency of the benchmark only, never of the repo)
 * unless `dir` already has it, and returns the install prefix. A temp prefix (no `dir`) is removed at
 * cleanup; a given one (`--pm2-dir`) is kept, so repeated runs do not reinstall.
 */
export async function installPm2(dir: string | undefined): Promise<string> {
  const { mkdtempSync, rmSync } = await import("node:fs");
  const prefix = dir ?? mkdtempSync(join(tmpdir(), "tdb-pm2-"));
  if (dir === undefined)
    onCleanup(`remove ${prefix}`, () => {
      rmSync(prefix, { recursive: true, force: true });
    });
  if (!existsSync(join(prefix, "node_modules", "pm2", "bin", "pm2"))) {
    process.stderr.write(`installing pm2@7 into ${prefix}\n`);
    mkdirSync(prefix, { recursive: true });
    execFileSync(
      "npm",
      ["install", "--prefix", prefix, "--no-audit", "--no-fund", "--loglevel=error", "pm2@7"],
      { stdio: ["ignore", "ignore", "inherit"], cwd: prefix },
    );
  }
  return prefix;
}

/**
 * A pm2 with its own fresh PM2_HOME (every call gets it: a pm2 call without it would start a God daemon
 * in ~/.pm2). `pm2 kill` and removal of the home are registered for cleanup; `kill()` does both now.
 */
export async function pm2Home(prefix: string): Promise<Pm2> {
  const { mkdtempSync, rmSync } = await import("node:fs");
  const bin = join(prefix, "node_modules", "pm2", "bin", "pm2");
  const home = mkdtempSync(join(tmpdir(), "tdb-pm2home-"));
  const env = { ...process.env, PM2_HOME: home };
  const run = (...args: string[]): string =>
    execFileSync(process.execPath, [bin, ...args], {
      encoding: "utf8",
      env,
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 256 * 1024 * 1024,
    });
  const kill = (): void => {
    if (existsSync(join(home, "pm2.pid")))
      spawnSync(process.execPath, [bin, "kill"], { env, stdio: "ignore" });
    rmSync(home, { recursive: true, force: true });
  };
  onCleanup(`pm2 kill (PM2_HOME=${home})`, kill);
  const version = JSON.parse(readFileSync(join(prefix, "node_modules", "pm2", "package.json"), "utf8")) as {
    version: string;
  };
  return {
    version: version.version,
    home,
    run,
    godPid: () => Number(readFileSync(join(home, "pm2.pid"), "utf8").trim()),
    kill,
  };
}

/**
 * Whether a child of PM2's God daemon is an app: PM2 forks `node …/ProcessContainerFork.js`, which loads the
 * app's script in the same process; God's other children (`ps` for its tree kill) are not.
 */
export function pm2RunsAgent(cmdline: string): boolean {
  return cmdline.includes("ProcessContainerFork");
}

/** installPm2 + pm2Home. */
export async function setupPm2(dir: string | undefined): Promise<Pm2> {
  return pm2Home(await installPm2(dir));
}

/** A child process that is killed (SIGTERM, then SIGKILL) by `stop()` or at cleanup. */
export function spawnOwned(
  command: string,
  args: string[],
  name: string,
): { pid: number; stop: () => Promise<void> } {
  const child = spawn(command, args, { stdio: "ignore" });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`Cannot start ${name}`);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (!signal(pid, "SIGTERM")) return;
    await sleep(300);
    signal(pid, "SIGKILL");
  };
  onCleanup(`stop ${name} (${pid})`, stop);
  return { pid, stop };
}
