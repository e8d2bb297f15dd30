import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, lstatSync, openSync, readFileSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { withTownDb } from "../helpers/store.js";
import { sleep } from "../helpers/wait.js";
import { agentsFileSchema } from "../../src/supervisor/agents-file.js";
import { daemonStateSchema, deaconHeartbeatSchema } from "../../src/town/schemas.js";
import { parseJson } from "../../src/util/json-file.js";
import { CLI_MAIN, isAlive, processEnv, TOWN_MARK, type SupervisedTown } from "../helpers/supervised-town.js";

/**
 * Shared by the chaos tests: a seeded PRNG, direct reads of the town store, a check that every file the
 * daemon wrote parses (I7), this town's tmux servers, SIGKILL of the daemon by PID, and mounts (tmpfs, a
 * read-only bind) that are always undone, even when the test process dies.
 */

export { sleep } from "../helpers/wait.js";
export {
  eventRows,
  mailRows,
  requestRows,
  withTownDb,
  type EventRow,
  type MailRow,
  type RequestRow,
} from "../helpers/store.js";

/** mulberry32, seeded from CHAOS_SEED when set (printed by every test so that a failure can be replayed). */
export function chaosRandom(fallback: number): { seed: number; random: () => number } {
  const text = process.env["CHAOS_SEED"];
  const seed = (text === undefined || text.trim() === "" ? fallback : Number(text)) >>> 0;
  let state = seed;
  return {
    seed,
    random: () => {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}

/** `PRAGMA integrity_check` of the store: "ok" or the problems it lists. */
export function storeIntegrity(root: string): string {
  return withTownDb(root, (db) =>
    (db.pragma("integrity_check") as { integrity_check: string }[]).map((r) => r.integrity_check).join("; "),
  );
}

/** Temp files write-file-atomic leaves when it dies between write and rename (`state.json.1234567`). */
export const TEMP_LEFTOVER = /\.(json|pid)\.\d+$|\.tmp/;

export interface FileCheck {
  /** Files that did not parse, with why. */
  broken: string[];
  /** Leftover temp files of the daemon's own writes. */
  leftovers: string[];
  /**
   * Temp files of the statusline command Claude runs (daemon/statusline/.<generation>.<pid>.tmp): an agent's
   * writer, which a disk turned read-only between its write and its rename leaves behind; the daemon prunes
   * them once it can (pruneStatuslines).
   */
  agentLeftovers: string[];
  /** How many files were checked. */
  checked: number;
}

/** A temp file this young may be a write still under way (the daemon runs on): not a leftover yet. */
const IN_FLIGHT_MS = 2000;

function inFlight(file: string): boolean {
  try {
    return Date.now() - lstatSync(file).mtimeMs < IN_FLIGHT_MS;
  } catch {
    // Renamed or removed since the listing: it was a write in flight.
    return true;
  }
}

/**
 * Every file the daemon keeps in daemon/ parses (I7): state.json and agents.json against their schemas, the
 * PID file as a number, each heartbeat and queued operator request as JSON, every log line as one JSON
 * record. Temp files left by an interrupted atomic write are listed apart (those older than a write takes).
 */
export function checkDaemonFiles(root: string): FileCheck {
  const dir = join(root, "daemon");
  const broken: string[] = [];
  const leftovers: string[] = [];
  const agentLeftovers: string[] = [];
  let checked = 0;
  const parse = (file: string, fn: (text: string) => void): void => {
    if (!existsSync(file)) return;
    checked++;
    try {
      fn(readFileSync(file, "utf8"));
    } catch (error) {
      broken.push(`${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const walk = (sub: string): void => {
    // The entry types come with the listing: the daemon removes files of its own as it runs (a
    // statusline of a generation that no longer runs), and a later stat of one would race that.
    for (const entry of readdirSync(sub, { withFileTypes: true })) {
      const file = join(sub, entry.name);
      if (entry.isDirectory()) {
        walk(file);
        continue;
      }
      if (!TEMP_LEFTOVER.test(entry.name) || inFlight(file)) continue;
      if (basename(sub) === "statusline") agentLeftovers.push(file);
      else leftovers.push(file);
    }
  };
  walk(dir);
  parse(join(dir, "state.json"), (text) => parseJson("state.json", text, daemonStateSchema));
  parse(join(dir, "agents.json"), (text) => parseJson("agents.json", text, agentsFileSchema));
  parse(join(dir, "daemon.pid"), (text) => {
    if (!/^\d+$/.test(text.trim())) throw new Error(`not a PID: ${JSON.stringify(text)}`);
  });
  for (const log of readdirSync(dir).filter((n) => /^daemon\.log(\.\d+)?$/.test(n))) {
    parse(join(dir, log), (text) => {
      text
        .split("\n")
        .filter((line) => line !== "")
        .forEach((line, i) => {
          try {
            JSON.parse(line);
          } catch {
            throw new Error(`line ${i + 1} is not JSON: ${line.slice(0, 120)}`);
          }
        });
    });
  }
  for (const sub of ["heartbeats", "requests"]) {
    const path = join(dir, sub);
    if (!existsSync(path)) continue;
    for (const name of readdirSync(path).filter((n) => n.endsWith(".json"))) {
      parse(join(path, name), (text) => {
        if (sub === "heartbeats") parseJson(name, text, deaconHeartbeatSchema);
        else JSON.parse(text);
      });
    }
  }
  return { broken, leftovers, agentLeftovers, checked };
}

/** PIDs of this town's tmux servers (process title "tmux: server", carrying the town's mark). */
export function tmuxServers(root: string): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      try {
        return (
          readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "tmux: server" &&
          processEnv(pid)[TOWN_MARK] === root
        );
      } catch {
        return false;
      }
    });
}

/** PIDs of this town's daemons (`… main.js --town <root> run`, carrying the town's mark). */
export function daemonProcesses(root: string): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      if (pid === process.pid || processEnv(pid)[TOWN_MARK] !== root) return false;
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
        return argv.includes("run") && argv.includes(root) && isAlive(pid);
      } catch {
        return false;
      }
    });
}

/** SIGKILLs the town's daemon (PID from daemon/daemon.pid, checked by its environment) and waits until it is gone. */
export async function killDaemon(town: SupervisedTown): Promise<number> {
  const pid = town.daemonPid();
  if (pid === undefined) throw new Error("no daemon PID file");
  if (processEnv(pid)[TOWN_MARK] !== town.root) throw new Error(`PID ${pid} is not this town's daemon`);
  process.kill(pid, "SIGKILL");
  const deadline = Date.now() + 5000;
  while (isAlive(pid)) {
    if (Date.now() > deadline) throw new Error(`daemon ${pid} survived SIGKILL for 5 s`);
    await sleep(10);
  }
  return pid;
}

/**
 * Starts the daemon the way `townd start` does (detached `townd --town <root> run`, output to
 * daemon/startup.log) without the extra CLI process, and resolves with its PID once it holds the lock and
 * has written state.json running=true. The environment carries the town's mark, so cleanup finds it.
 */
export async function spawnDaemon(town: SupervisedTown, timeoutMs = 15_000): Promise<number> {
  const env: NodeJS.ProcessEnv = { ...process.env, [TOWN_MARK]: town.root };
  for (const key of ["TOWND_ROOT", "GT_TOWN_ROOT", "GT_ROOT", "TMUX", "TMUX_PANE"]) {
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- an env map keyed by variable name
    delete env[key];
  }
  const out = openSync(join(town.root, "daemon", "startup.log"), "w", 0o600);
  const child = spawn(process.execPath, [CLI_MAIN, "--town", town.root, "run"], {
    cwd: town.root,
    detached: true,
    stdio: ["ignore", out, out],
    env,
  });
  closeSync(out);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error("cannot spawn the daemon");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let state: { running?: unknown; pid?: unknown } = {};
    try {
      state = JSON.parse(readFileSync(join(town.root, "daemon", "state.json"), "utf8")) as typeof state;
    } catch {
      // Not written yet (or being replaced).
    }
    if (town.daemonPid() === pid && state.running === true && state.pid === pid) return pid;
    if (!isAlive(pid))
      throw new Error(
        `daemon ${pid} exited during start-up:\n${readFileSync(join(town.root, "daemon", "startup.log"), "utf8")}`,
      );
    if (Date.now() > deadline) throw new Error(`daemon ${pid} not up within ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** Resident set size of a process in KiB (/proc/<pid>/status VmRSS), or undefined when it is gone. */
export function rssKiB(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match?.[1] === undefined ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

// ---- mounts ----

const mounted = new Set<string>();

function unmountSync(dir: string): void {
  // Lazy: a daemon or tmux still holding files open must not keep the mount (and the test) alive.
  for (let attempt = 0; attempt < 3 && isMountPoint(dir); attempt++) {
    spawnSync("umount", ["-l", dir], { stdio: "ignore" });
  }
  mounted.delete(dir);
}

// First among the exit handlers: the towns' own handlers remove their directories, which fails on a mount point.
process.prependListener("exit", () => {
  for (const dir of [...mounted]) unmountSync(dir);
});

/** Whether `dir` is a mount point (listed in /proc/self/mountinfo). */
export function isMountPoint(dir: string): boolean {
  try {
    return readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .some((line) => line.split(" ")[4] === dir);
  } catch {
    return false;
  }
}

function run(cmd: string, args: readonly string[]): { ok: boolean; why: string } {
  const result = spawnSync(cmd, args, { encoding: "utf8" });
  if (result.error !== undefined) return { ok: false, why: `${cmd}: ${result.error.message}` };
  return {
    ok: result.status === 0,
    why: `${cmd} ${args.join(" ")}: ${(result.stderr || result.stdout).trim()}`,
  };
}

/** Mounts a tmpfs of `size` (e.g. "2m") on `dir`; returns why not when it cannot (not root, no CAP_SYS_ADMIN). */
export function mountTmpfs(dir: string, size: string): string | undefined {
  mounted.add(dir);
  const result = run("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0755`, "tmpfs", dir]);
  if (!result.ok) {
    mounted.delete(dir);
    return result.why;
  }
  return undefined;
}

/**
 * Makes `dir` read-only in place: a bind mount of itself, remounted read-only. Files the daemon already has
 * open stay writable (they belong to the mount below); every new file (the temp file of an atomic write)
 * fails with EROFS. Returns why not when it cannot.
 */
export function bindReadOnly(dir: string): string | undefined {
  mounted.add(dir);
  const bind = run("mount", ["--bind", dir, dir]);
  if (!bind.ok) {
    mounted.delete(dir);
    return bind.why;
  }
  const ro = run("mount", ["-o", "remount,ro,bind", dir]);
  if (!ro.ok) {
    unmountSync(dir);
    return ro.why;
  }
  return undefined;
}

export function unmount(dir: string): void {
  unmountSync(dir);
}

/** Whether this process may mount at all (root with CAP_SYS_ADMIN): a throw-away tmpfs in `scratch`. */
export function mountSkipReason(scratch: string): string | false {
  if (process.getuid?.() !== 0) return "not root: cannot mount a tmpfs or a read-only bind";
  const why = mountTmpfs(scratch, "64k");
  if (why !== undefined) return `cannot mount: ${why}`;
  unmount(scratch);
  return false;
}
