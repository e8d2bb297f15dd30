import { existsSync, readdirSync, readFileSync } from "node:fs";
import { elapsedMs } from "../util/monotonic-clock.js";
import { sleep } from "../util/sleep.js";

/** The fields of /proc/<pid>/stat a process tree needs. */
export interface StatFields {
  readonly pid: number;
  readonly ppid: number;
  readonly pgid: number;
  /** One letter; "Z" is a zombie (exited, not yet reaped). */
  readonly state: string;
  /** When it started, in clock ticks since boot (field 22): tells a process from a later one with its pid. */
  readonly startTime: number;
}

/** The leader of a process group, as it was when found: its pid is the group's id. */
export type GroupLeader = Pick<StatFields, "pid" | "startTime">;

/** Reads /proc/<pid>/stat; undefined once the process is gone. `comm` may hold spaces and ")": skipped. */
export function readStat(pid: number): StatFields | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // After "(comm) ": state is field 3, so ppid (4) is index 1, pgid (5) index 2, starttime (22) index 19.
  const [state, ppid, pgid] = fields;
  const startTime = Number(fields[19]);
  if (state === undefined || ppid === undefined || pgid === undefined || !Number.isFinite(startTime))
    return undefined;
  return { pid, ppid: Number(ppid), pgid: Number(pgid), state, startTime };
}

/** Linux reports clock ticks in USER_HZ, which is 100 on every architecture Node runs on. */
const TICKS_PER_SECOND = 100;

/** Now, in the clock ticks since boot that startTime uses. */
export function bootTicksNow(): number {
  const uptime = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
  return Math.floor(uptime * TICKS_PER_SECOND);
}

let childrenFiles: boolean | undefined;

/** Whether this kernel has /proc/<pid>/task/<tid>/children (CONFIG_PROC_CHILDREN; most distributions). */
export function hasChildrenFiles(): boolean {
  childrenFiles ??= existsSync(`/proc/self/task/${process.pid}/children`);
  return childrenFiles;
}

/** The direct children of `pid`, forked by any of its threads; [] once it is gone. */
export function childrenOf(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const children: number[] = [];
  for (const task of tasks) {
    try {
      for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").split(" "))
        if (child !== "" && child !== "\n") children.push(Number(child));
    } catch {
      // The thread (or the process) ended meanwhile.
    }
  }
  return children;
}

/**
 * Every process below `pid`, deepest first (the order to kill them in), read from the root down: one small
 * read per process of the tree instead of a scan of every process on the machine. `scan` is the fallback
 * for a kernel without children files.
 */
export function treeBelow(pid: number, scan?: (root: number) => number[]): number[] {
  if (!hasChildrenFiles() && scan !== undefined) return scan(pid);
  const found: number[] = [];
  const seen = new Set<number>([pid]);
  for (let level = [pid]; level.length > 0;) {
    const next: number[] = [];
    for (const parent of level) {
      for (const child of childrenOf(parent)) {
        if (seen.has(child)) continue;
        seen.add(child);
        found.push(child);
        next.push(child);
      }
    }
    level = next;
  }
  return found.reverse();
}

/** True while `pid` runs: a zombie has exited, and a pid that was never ours to signal is not checked. */
function running(pid: number): boolean {
  const stat = readStat(pid);
  return stat !== undefined && stat.state !== "Z";
}

/** The first waits after a signal, ms: an agent that exits on SIGTERM does so within a millisecond or two. */
const FIRST_WAIT_MS = 1;
/** Waits grow to this: a process taking its grace period costs a few reads per second, not hundreds. */
const LONGEST_WAIT_MS = 50;

/**
 * Resolves true once none of `pids` runs (gone or a zombie), false after `ms` or when `signal` aborts.
 * None of them is our child, so there is no exit event to wait on (and Node has no pidfd): their state is
 * read at 1, 2, 4, … ms, up to every 50 ms.
 */
export async function waitUntilGone(
  pids: Iterable<number>,
  ms: number,
  signal?: AbortSignal,
): Promise<boolean> {
  const deadline = elapsedMs() + ms;
  let left = [...pids];
  for (let wait = FIRST_WAIT_MS; ; wait = Math.min(wait * 2, LONGEST_WAIT_MS)) {
    left = left.filter(running);
    if (left.length === 0) return true;
    if (elapsedMs() >= deadline || signal?.aborted === true) return false;
    try {
      await sleep(Math.min(wait, Math.max(0, deadline - elapsedMs())), signal);
    } catch {
      return false;
    }
  }
}
