import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultSocketPath } from "../../src/tmux/socket.js";
import { makeTempDir } from "./tmp.js";

/**
 * Runs the BUILT townd CLI as a real process, and makes throw-away towns whose daemons, tmux servers and
 * directories are removed afterwards (also when the test process exits early).
 */

export const REPO_ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const CLI_MAIN = join(REPO_ROOT, "dist", "cli", "main.js");

function requireBuild(): void {
  if (!existsSync(CLI_MAIN)) {
    throw new Error(`${CLI_MAIN} is missing: run npm run build before the e2e tests`);
  }
}

/**
 * The environment every townd child gets: this process's, minus anything that points at a town or a tmux
 * server (so a developer's shell never leaks into a test), plus TOWND_TEST=1. `extra` is merged on top; a
 * key set to undefined is removed.
 */
export function testEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TOWND_TEST: "1" };
  for (const key of ["TOWND_ROOT", "GT_TOWN_ROOT", "TMUX", "TMUX_PANE"]) {
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- an env map keyed by variable name
    delete env[key];
  }
  for (const [key, value] of Object.entries(extra)) {
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- an env map keyed by variable name
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

export interface RunOptions {
  cwd?: string;
  /** Merged onto testEnv(); a key set to undefined is removed. */
  env?: NodeJS.ProcessEnv;
  /** The child is SIGKILLed and the promise rejects after this long (default 30 s). */
  timeoutMs?: number;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time of the run in milliseconds. */
  ms: number;
}

/** Runs `node dist/cli/main.js ...args` and resolves when it exits. */
export function townd(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  requireBuild();
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: testEnv(options.env),
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
          `townd ${args.join(" ")} did not exit within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`,
        ),
      );
    }, timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** A townd process left running (`run`, `logs -f`); `output()` is what it printed so far. */
export interface RunningCli {
  child: ChildProcess;
  output(): { stdout: string; stderr: string };
  /** Resolves with the exit code and signal once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnTownd(args: readonly string[], options: Omit<RunOptions, "timeoutMs"> = {}): RunningCli {
  requireBuild();
  const child = spawn(process.execPath, [CLI_MAIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: testEnv(options.env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolvePromise) => {
    child.on("close", (code, signal) => {
      resolvePromise({ code, signal });
    });
  });
  return { child, output: () => ({ stdout, stderr }), exited };
}

/** Lines of a CLI output without the trailing empty one. */
export function lines(text: string): string[] {
  const all = text.split("\n");
  if (all.at(-1) === "") all.pop();
  return all;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Is the flock on `lockFile` held by some process? Asked of util-linux flock(1), independently of townd. */
export function lockHeld(lockFile: string): boolean {
  if (!existsSync(lockFile)) return false;
  const result = spawnSync("flock", ["-n", lockFile, "true"], { stdio: "ignore" });
  if (result.error !== undefined) throw result.error;
  return result.status === 1;
}

/** The PID in daemon/daemon.pid, or undefined when it is missing or not a number. */
export function readPid(root: string): number | undefined {
  try {
    const text = readFileSync(join(root, "daemon", "daemon.pid"), "utf8").trim();
    return /^\d+$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}

/** Is `pid` a townd process of this town: the built CLI, with `--town <root>` or running in `root`? */
export function belongsToTown(pid: number, root: string): boolean {
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return false;
  }
  if (!argv.includes(CLI_MAIN)) return false;
  const town = argv.indexOf("--town");
  if (town >= 0 && argv[town + 1] === root) return true;
  try {
    return readlinkSync(`/proc/${pid}/cwd`) === root;
  } catch {
    return false;
  }
}

/** PIDs of every townd process of this town (daemons, `run`, `logs -f`), found in /proc. */
export function townProcesses(root: string): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => pid !== process.pid && belongsToTown(pid, root));
}

/** PIDs of this town's daemons (`... main.js [--town <root>] run`). */
export function daemonPidsOf(root: string): number[] {
  return townProcesses(root).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes("run");
    } catch {
      return false;
    }
  });
}

/** Polls `check` until it returns something other than undefined/false; throws `what` on timeout. */
export async function until<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000,
  intervalMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export interface MakeTownOptions {
  /** `--name` for init. */
  name?: string;
  /** `--agent` for init: the default agent runtime ("sim" for a town that may spawn agents). */
  agent?: string;
  /** Keep init's default patrols (all enabled) instead of disabling deacon, witness and refinery. */
  keepPatrols?: boolean;
  /** Merged into `operational.daemon` of settings/config.json, e.g. `{ recovery_heartbeat_interval: "1s" }`. */
  daemonSettings?: Record<string, unknown>;
}

export interface TestTown {
  root: string;
  /**
   * Env for commands in this town: TMUX_TMPDIR inside the town, so that even a daemon that falls back to
   * the town's default tmux socket (e.g. with a broken settings file) keeps its server inside the town.
   */
  env: NodeJS.ProcessEnv;
  /** `townd ...args` with cwd = the town root and `env` merged in. */
  run(args: readonly string[], options?: RunOptions): Promise<CliResult>;
  /** The town's private tmux socket (`tmux.socket` in settings/config.json). */
  socket: string;
  file(...parts: string[]): string;
  /** Remembers a PID to SIGKILL at cleanup (e.g. a foreground `townd run`). */
  track(pid: number): void;
  /** Stops every daemon of this town (SIGKILL, by PID), kills its tmux servers and removes the directory. */
  cleanup(): Promise<void>;
}

const liveTowns = new Set<() => void>();
process.on("exit", () => {
  for (const cleanup of liveTowns) cleanup();
});

function readJsonObject(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
}

function writeJson(file: string, value: unknown): void {
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * `townd init` into a fresh temp dir, then: a private tmux socket in settings/config.json, and (unless
 * keepPatrols) the deacon, witness and refinery patrols disabled in mayor/daemon.json, so no agent is spawned.
 */
export async function makeTown(options: MakeTownOptions = {}): Promise<TestTown> {
  const temp = makeTempDir("tdf-");
  const root = temp.dir;
  const socket = join(root, "tmux.sock");
  const tracked = new Set<number>();

  const killEverything = (): number[] => {
    const pids = new Set<number>([...tracked, ...townProcesses(root)]);
    const fromFile = readPid(root);
    if (fromFile !== undefined && lockHeld(join(root, "daemon", "daemon.lock"))) pids.add(fromFile);
    const killed: number[] = [];
    for (const pid of pids) {
      // Only processes of this town: a remembered PID may have been reused since.
      if (!belongsToTown(pid, root)) continue;
      try {
        process.kill(pid, "SIGKILL");
        killed.push(pid);
      } catch {
        // Already gone.
      }
    }
    return killed;
  };
  const townEnv: NodeJS.ProcessEnv = { TMUX_TMPDIR: root };
  const killTmux = (): void => {
    const env = testEnv();
    const uid = process.getuid?.() ?? 0;
    const candidates = [
      socket,
      defaultSocketPath(root, testEnv(townEnv), uid),
      defaultSocketPath(root, env, uid),
    ];
    for (const path of candidates) {
      if (!existsSync(path)) continue;
      spawnSync("tmux", ["-S", path, "kill-server"], { stdio: "ignore", env });
      rmSync(path, { force: true });
    }
  };
  const cleanupSync = (): void => {
    liveTowns.delete(cleanupSync);
    const killed = killEverything();
    const deadline = Date.now() + 5000;
    while (killed.some(isAlive) && Date.now() < deadline) sleepSync(20);
    killTmux();
    temp.cleanup();
  };
  liveTowns.add(cleanupSync);

  try {
    const init = await townd([
      "init",
      root,
      ...(options.name === undefined ? [] : ["--name", options.name]),
      ...(options.agent === undefined ? [] : ["--agent", options.agent]),
    ]);
    if (init.code !== 0) throw new Error(`townd init failed (${init.code}): ${init.stderr}`);
    const settingsFile = join(root, "settings", "config.json");
    const settings = readJsonObject(settingsFile);
    settings["tmux"] = { socket };
    const operational = (settings["operational"] ?? {}) as Record<string, unknown>;
    operational["daemon"] = {
      ...((operational["daemon"] ?? {}) as Record<string, unknown>),
      ...options.daemonSettings,
    };
    settings["operational"] = operational;
    writeJson(settingsFile, settings);
    if (options.keepPatrols !== true) {
      const patrolFile = join(root, "mayor", "daemon.json");
      const patrol = readJsonObject(patrolFile);
      patrol["patrols"] = {
        deacon: { enabled: false },
        witness: { enabled: false },
        refinery: { enabled: false },
      };
      writeJson(patrolFile, patrol);
    }
  } catch (error) {
    cleanupSync();
    throw error;
  }

  return {
    root,
    env: townEnv,
    run: (args, runOptions = {}) =>
      townd(args, { cwd: root, ...runOptions, env: { ...townEnv, ...runOptions.env } }),
    socket,
    file: (...parts) => join(root, ...parts),
    track: (pid) => {
      tracked.add(pid);
    },
    cleanup: async () => {
      liveTowns.delete(cleanupSync);
      const killed = killEverything();
      await until("the town's daemons to die", () => !killed.some(isAlive), 5000).catch(() => undefined);
      killTmux();
      temp.cleanup();
    },
  };
}

/** Reads and parses daemon/state.json (throws if it is missing or not JSON). */
export function readState(root: string): Record<string, unknown> {
  return readJsonObject(join(root, "daemon", "state.json"));
}

/** The daemon's log records (daemon.log only), parsed; a line that is not JSON throws. */
export function readLog(root: string, file = "daemon.log"): Record<string, unknown>[] {
  const path = join(root, "daemon", file);
  if (!existsSync(path)) return [];
  return lines(readFileSync(path, "utf8")).map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Log records at level error whose message mentions `text`. */
export function logErrors(root: string, text: string): Record<string, unknown>[] {
  return readLog(root).filter(
    (record) => record["level"] === "error" && String(record["msg"]).includes(text),
  );
}

/**
 * Milliseconds between the daemon logging "Received signal SIG…, shutting down" and "Daemon stopped", from
 * the log's own timestamps: how long the daemon took to shut down, whatever the load on the test machine.
 */
export function shutdownLatency(root: string): number {
  const records = readLog(root);
  const received = records.findLast((r) => /^Received signal SIG\w+, shutting down$/.test(String(r["msg"])));
  const stopped = records.findLast((r) => r["msg"] === "Daemon stopped");
  if (received === undefined || stopped === undefined) {
    throw new Error("the log has no shutdown (Received signal … / Daemon stopped)");
  }
  return Date.parse(String(stopped["time"])) - Date.parse(String(received["time"]));
}

/** Messages of the daemon's log records. */
export function logMessages(root: string): string[] {
  return readLog(root).map((record) => String(record["msg"]));
}

/** heartbeat_count from state.json, or -1 when the file cannot be read. */
export function heartbeatCount(root: string): number {
  try {
    const value = readState(root)["heartbeat_count"];
    return typeof value === "number" ? value : -1;
  } catch {
    return -1;
  }
}

/** Writes a JSON value (or raw text) to a file in the town. */
export function writeTownFile(root: string, relative: string, value: unknown): void {
  const path = join(root, relative);
  if (typeof value === "string") writeFileSync(path, value);
  else writeJson(path, value);
}

/** Parses `✓ Daemon started (PID n)` / `● Daemon already running (PID n)`; undefined if neither. */
export function startedPid(stdout: string): { outcome: "started" | "already"; pid: number } | undefined {
  const started = /Daemon started \(PID (\d+)\)/.exec(stdout);
  if (started?.[1] !== undefined) return { outcome: "started", pid: Number(started[1]) };
  const already = /Daemon already running \(PID (\d+)\)/.exec(stdout);
  if (already?.[1] !== undefined) return { outcome: "already", pid: Number(already[1]) };
  return undefined;
}

/** `townd start` in the town; asserts nothing, returns the PID it names (throws when it names none). */
export async function startDaemon(town: TestTown, env?: NodeJS.ProcessEnv): Promise<number> {
  const result = await town.run(["start"], env === undefined ? {} : { env });
  const parsed = startedPid(result.stdout);
  if (result.code !== 0 || parsed === undefined) {
    throw new Error(`townd start failed (exit ${result.code}):\n${result.stdout}${result.stderr}`);
  }
  town.track(parsed.pid);
  return parsed.pid;
}
