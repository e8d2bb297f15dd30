import { readdirSync, readFileSync } from "node:fs";
import { basename } from "node:path";
import { errnoCode } from "../errors.js";
import { elapsedMs } from "../util/monotonic-clock.js";
import {
  bootTicksNow,
  hasChildrenFiles,
  readStat,
  treeBelow,
  waitUntilGone,
  type GroupLeader,
} from "./children.js";

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
 * Sends `signal`; false if the process (or, for a negative pid, the whole group) is already gone or not ours.
 */
function send(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (error) {
    const code = errnoCode(error);
    if (code === "ESRCH" || code === "EPERM") return false;
    throw error;
  }
}

/** How long to wait for SIGKILLed processes to disappear before reporting. */
const KILL_WAIT_MS = 1000;

/**
 * Kills a process and everything it started: SIGTERM (and SIGHUP) to its tree, up to `graceMs` for it to
 * exit, then SIGKILL to the survivors and to anything they forked in the meantime. Aborting `signal` cuts
 * the grace period short (it goes straight to SIGKILL) rather than leaving the tree half-killed. Resolves
 * once the tree is gone (or after a further second), with how many were sent each signal.
 *
 * The tree is read from the root down (/proc/<pid>/task/<tid>/children), not from a scan of every process,
 * and its exit is watched at a short, growing interval (see waitUntilGone): an agent that exits on SIGTERM
 * is seen gone within a millisecond or two. When the root leads a process group, as a tmux pane's first
 * process does, the group is signalled too, which reaches background jobs already re-parented away from the
 * tree; those the grace period does not end are swept once it is over (see sweepGroup).
 */
export async function killProcessTree(
  rootPid: number,
  options: { graceMs: number; signal?: AbortSignal },
): Promise<{ signalled: number; forced: number }> {
  if (!Number.isInteger(rootPid) || !mayKill(rootPid)) {
    throw new RangeError(`Refusing to kill process tree of pid ${rootPid}`);
  }
  const deadline = elapsedMs() + options.graceMs;
  const root = readStat(rootPid);
  const group = root !== undefined && root.pgid === rootPid && root.state !== "Z" ? root : undefined;
  const targets = new Set([rootPid, ...treeBelow(rootPid, scanBelow)].filter(mayKill));
  let signalled = 0;
  // SIGHUP as well: an interactive shell (a zombie pane's) ignores SIGTERM but exits on hang-up, as it
  // would when its terminal closes; without it every zombie replacement waits out the whole grace period.
  for (const pid of targets) {
    if (send(pid, "SIGTERM")) signalled += 1;
    send(pid, "SIGHUP");
  }
  if (group !== undefined) {
    send(-rootPid, "SIGTERM");
    send(-rootPid, "SIGHUP");
  }

  if (await waitUntilGone(targets, options.graceMs, options.signal)) {
    if (group !== undefined && send(-rootPid, 0)) scheduleGroupSweep(group, bootTicksNow(), deadline);
    return { signalled, forced: 0 };
  }

  const survivors = new Set<number>();
  for (const pid of targets) {
    if (!isAlive(pid)) continue;
    survivors.add(pid);
    for (const child of treeBelow(pid, scanBelow)) if (mayKill(child)) survivors.add(child);
  }
  let forced = 0;
  for (const pid of survivors) if (send(pid, "SIGKILL")) forced += 1;
  if (group !== undefined) sweepGroup(group, bootTicksNow());
  await waitUntilGone(survivors, KILL_WAIT_MS);
  return { signalled, forced };
}

/**
 * Once the grace period is over, SIGKILL whatever of the root's process group is still running (background
 * jobs that ignored SIGTERM and SIGHUP). The timer does not keep the daemon alive; it costs nothing when the
 * group is empty by then, the usual case.
 */
function scheduleGroupSweep(group: GroupLeader, treeGoneAt: number, deadline: number): void {
  const timer = setTimeout(
    () => {
      if (send(-group.pid, 0)) sweepGroup(group, treeGoneAt);
    },
    Math.max(0, deadline - elapsedMs()),
  );
  timer.unref();
}

/**
 * SIGKILLs the live members of `group`. A group id is a pid, and pids are reused (pid_max can be as low as
 * 32 768), so the group is signalled by number only while its own leader still runs. Otherwise its members
 * are looked up in the process table (rare: only stragglers that outlived the grace period): a pid stays
 * reserved while any process of its group lives, so a new group of that id can only have been made after
 * `notAfter` (boot ticks), when the tree was seen gone; only processes started by then are killed.
 */
function sweepGroup(group: GroupLeader, notAfter: number): void {
  const leader = readStat(group.pid);
  if (leader !== undefined && leader.startTime === group.startTime && leader.state !== "Z") {
    send(-group.pid, "SIGKILL");
    return;
  }
  for (const entry of readProcessTable().values()) {
    if (entry.pgid !== group.pid || entry.state === "Z" || !mayKill(entry.pid)) continue;
    const started = readStat(entry.pid)?.startTime;
    if (started !== undefined && started >= group.startTime && started <= notAfter)
      send(entry.pid, "SIGKILL");
  }
}

/** The tree below `pid` from a scan of every process: for kernels without children files. */
function scanBelow(pid: number): number[] {
  return descendants(readProcessTable(), pid).map((entry) => entry.pid);
}

/** Every process below `pid`, deepest first, with its names (read from the root down, see treeBelow). */
export function descendantEntries(pid: number): ProcessEntry[] {
  if (!hasChildrenFiles()) return descendants(readProcessTable(), pid);
  return treeBelow(pid).flatMap((child) => {
    const entry = readEntry(child);
    return entry === undefined ? [] : [entry];
  });
}
