import { readdirSync, readFileSync } from "node:fs";
import { basename } from "node:path";
import { errnoCode } from "../errors.js";
import { sleep } from "../util/sleep.js";
import { elapsedMs } from "../util/monotonic-clock.js";

export interface ProcessEntry {
  readonly pid: number;
  readonly ppid: number;
  /** Process group: a tmux pane's first process leads its own, and background jobs of a shell stay in it. */
  readonly pgid: number;
  /** One-letter state from /proc/<pid>/stat; "Z" is a zombie (exited, not yet reaped). */
  readonly state: string;
  /** The kernel's `comm` (at most 15 bytes), what `ps -o comm` shows. */
  readonly name: string;
  /** Basename of argv[0]; empty for kernel threads and zombies. */
  readonly argv0: string;
}

/**
 * Parses /proc/<pid>/stat. `comm` is wrapped in parentheses and may itself contain spaces and ")", so it
 * runs from the first "(" to the LAST ")"; the numeric fields follow.
 */
export function parseStat(text: string): Omit<ProcessEntry, "argv0"> | undefined {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  const [state, ppid, pgid] = text
    .slice(close + 1)
    .trim()
    .split(" ");
  if (!Number.isInteger(pid) || state === undefined || ppid === undefined || pgid === undefined) {
    return undefined;
  }
  return { pid, ppid: Number(ppid), pgid: Number(pgid), state, name: text.slice(open + 1, close) };
}

function readEntry(pid: number): ProcessEntry | undefined {
  try {
    const stat = parseStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
    if (stat === undefined) return undefined;
    const first = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0] ?? "";
    return { ...stat, argv0: basename(first) };
  } catch {
    // The process exited between listing /proc and reading it.
    return undefined;
  }
}

/** A snapshot of every process on the machine (Linux /proc). */
export function readProcessTable(): Map<number, ProcessEntry> {
  const table = new Map<number, ProcessEntry>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const entry = readEntry(Number(name));
    if (entry !== undefined) table.set(entry.pid, entry);
  }
  return table;
}

/** Every process below `pid` in `table`, deepest first (the order to kill them in). */
export function descendants(table: ReadonlyMap<number, ProcessEntry>, pid: number): ProcessEntry[] {
  const children = new Map<number, ProcessEntry[]>();
  for (const entry of table.values()) {
    const siblings = children.get(entry.ppid);
    if (siblings === undefined) children.set(entry.ppid, [entry]);
    else siblings.push(entry);
  }
  const found: ProcessEntry[] = [];
  const seen = new Set<number>([pid]);
  for (let queue = [pid]; queue.length > 0;) {
    const next: number[] = [];
    for (const parent of queue) {
      for (const child of children.get(parent) ?? []) {
        if (seen.has(child.pid)) continue;
        seen.add(child.pid);
        found.push(child);
        next.push(child.pid);
      }
    }
    queue = next;
  }
  return found.reverse();
}

/** True while `pid` exists and has not exited; a zombie counts as gone. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    if (errnoCode(error) !== "EPERM") return false;
  }
  const entry = readEntry(pid);
  return entry !== undefined && entry.state !== "Z";
}

function mayKill(pid: number): boolean {
  return pid > 1 && pid !== process.pid;
}

/**
 * `rootPid`, its descendants, and (when it leads a process group, as a tmux pane's first process does)
 * the rest of its group, which catches background jobs already re-parented away from it.
 */
function collectTree(roots: Iterable<number>): Set<number> {
  const table = readProcessTable();
  const pids = new Set<number>();
  for (const root of roots) {
    for (const entry of descendants(table, root)) pids.add(entry.pid);
    pids.add(root);
    if (table.get(root)?.pgid === root) {
      for (const entry of table.values()) if (entry.pgid === root) pids.add(entry.pid);
    }
  }
  return new Set([...pids].filter(mayKill));
}

/** Sends `signal`; false if the process is already gone or not ours. */
function send(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (error) {
    const code = errnoCode(error);
    if (code === "ESRCH" || code === "EPERM") return false;
    throw error;
  }
}

const POLL_MS = 25;
/** How long to wait for SIGKILLed processes to disappear before reporting. */
const KILL_WAIT_MS = 1000;

async function waitUntilGone(pids: Iterable<number>, ms: number, signal?: AbortSignal): Promise<boolean> {
  const deadline = elapsedMs() + ms;
  for (;;) {
    if (![...pids].some(isAlive)) return true;
    if (elapsedMs() >= deadline || signal?.aborted === true) return false;
    try {
      await sleep(Math.min(POLL_MS, Math.max(0, deadline - elapsedMs())), signal);
    } catch {
      return false;
    }
  }
}

/**
 * Kills a process and everything it started: SIGTERM to all, up to `graceMs` for them to exit, then
 * SIGKILL to the survivors and to anything they forked in the meantime. Aborting `signal` cuts the grace
 * period short (it goes straight to SIGKILL) rather than leaving the tree half-killed. Resolves once the
 * killed processes are gone (or after a further second), with how many were sent each signal.
 */
export async function killProcessTree(
  rootPid: number,
  options: { graceMs: number; signal?: AbortSignal },
): Promise<{ signalled: number; forced: number }> {
  if (!Number.isInteger(rootPid) || !mayKill(rootPid)) {
    throw new RangeError(`Refusing to kill process tree of pid ${rootPid}`);
  }
  const targets = collectTree([rootPid]);
  let signalled = 0;
  // SIGHUP as well: an interactive shell (a zombie pane's) ignores SIGTERM but exits on hang-up, as it
  // would when its terminal closes; without it every zombie replacement waits out the whole grace period.
  for (const pid of targets) {
    if (send(pid, "SIGTERM")) signalled += 1;
    send(pid, "SIGHUP");
  }

  if (await waitUntilGone(targets, options.graceMs, options.signal)) return { signalled, forced: 0 };

  const survivors = collectTree([...targets].filter(isAlive));
  let forced = 0;
  for (const pid of survivors) if (send(pid, "SIGKILL")) forced += 1;
  await waitUntilGone(survivors, KILL_WAIT_MS);
  return { signalled, forced };
}
