import { readFileSync } from "node:fs";

/**
 * How many times the process has been scheduled to run (the third field of /proc/<pid>/schedstat), or
 * undefined when that cannot be read (the process is gone, or the kernel lacks schedstat). A tmux server
 * that is asleep in its event loop does not run: the count only grows when something woke it.
 */
export function readRunCount(pid: number): number | undefined {
  try {
    const count = Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[2]);
    return Number.isInteger(count) ? count : undefined;
  } catch {
    return undefined;
  }
}

export type Activity = "active" | "quiet" | "unknown";

/**
 * Has the tmux server done anything since we last looked, apart from what we made it do?
 *
 * Everything that can end an agent wakes the server: the pane's process exit (SIGCHLD, the pty's end of
 * file), a session killed by a command, a command of any client. One that has not run since the last look
 * has nothing new to report, so nothing needs asking or kicking: an idle town costs tmux nothing. Our own
 * SIGCHLD kicks wake it once each (`expect`); after our own commands the count is taken again once the
 * server is back asleep (`settle`, then `rebase`), so they do not count either. Anything else is activity,
 * including what a busy machine adds by preempting the server: a false alarm costs one kick or poll.
 *
 * A server whose count cannot be read is "unknown": the caller then acts as if it were always active.
 */
export class ActivityGate {
  private readonly read: (pid: number) => number | undefined;
  private pid: number | null = null;
  private last: number | undefined;
  private expected = 0;
  private settling = false;

  constructor(read: (pid: number) => number | undefined = readRunCount) {
    this.read = read;
  }

  /** Whether the server `pid` ran since the last check, beyond the wake-ups we caused. */
  check(pid: number): Activity {
    const count = this.read(pid);
    if (count === undefined) {
      this.pid = null;
      return "unknown";
    }
    // While our own command settles, its wake-ups are not activity; rebase() takes the count afterwards.
    if (this.settling && pid === this.pid) return "quiet";
    const first = pid !== this.pid || this.last === undefined;
    const woken = first ? Number.POSITIVE_INFINITY : count - (this.last ?? count);
    this.pid = pid;
    this.last = count;
    const ours = this.expected;
    this.expected = 0;
    return woken > ours ? "active" : "quiet";
  }

  /** We are about to wake the server `times` times ourselves (a SIGCHLD each). */
  expect(times = 1): void {
    this.expected += times;
  }

  /** Our own command has been answered; the server may still be finishing it until rebase(). */
  settle(): void {
    this.settling = true;
  }

  /** Takes the server's count as the new baseline (after settle(): our command is done). */
  rebase(): void {
    this.settling = false;
    if (this.pid === null) return;
    const count = this.read(this.pid);
    this.last = count;
    this.expected = 0;
  }
}
