import { RearmableInterval } from "../util/rearmable-interval.js";

/**
 * tmux 3.3a (Debian's) can lose the SIGCHLD of a pane's process: the pane then reads as dead with no exit
 * status and the pane-died hook does not fire until some later SIGCHLD makes the server reap it (tmux#311,
 * whose workaround is exactly that: send the server a SIGCHLD). Measured here, about one death in six.
 */

/** Sends SIGCHLD to the tmux server: its handler reaps every exited child. Harmless to any other process. */
export function kickServer(pid: number): void {
  try {
    process.kill(pid, "SIGCHLD");
  } catch {
    // The server exited or is not ours; the next snapshot will show it.
  }
}

/**
 * Kicks the town's tmux server every interval, so a death whose SIGCHLD was lost is reaped, and reported by
 * the hook, within one interval instead of at the next death poll. A kick is one kill(2): the server runs
 * one waitpid() and goes back to sleep. `serverPid` is the server's pid as the last snapshot saw it (null:
 * no server, or none seen yet); it is at most one death poll old, and SIGCHLD is ignored by default by any
 * other process, so a recycled pid is no hazard. Re-armed when the interval changes; 0 turns it off.
 */
export class ReapKicker extends RearmableInterval {
  constructor(serverPid: () => number | null) {
    super(() => {
      const pid = serverPid();
      if (pid !== null) kickServer(pid);
    });
  }
}
