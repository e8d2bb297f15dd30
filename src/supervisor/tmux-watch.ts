import { ActivityGate } from "../tmux/server-activity.js";
import { kickServer } from "../tmux/reap-kick.js";
import type { TmuxSnapshot } from "../tmux/types.js";
import { elapsedMs } from "../util/monotonic-clock.js";
import { RearmableInterval } from "../util/rearmable-interval.js";
import type { DeathWatch } from "./death-poll.js";

/**
 * The longest a quiet server goes without a death poll's snapshot. The poll is the net under the pane-died
 * hook; nearly everything it catches wakes the tmux server first (see ActivityGate), but an agent run from
 * a shell that exits without a word leaves the shell behind and wakes no one.
 */
export const QUIET_POLL_MS = 10_000;

/** After our own snapshot is answered, the server is given this long to fall asleep before it is counted again. */
const SETTLE_MS = 5;

export interface TmuxWatchDeps {
  /** What the last pass knew; decides whether a snapshot has news. */
  readonly watch: DeathWatch;
  readonly snapshot: () => Promise<TmuxSnapshot>;
  /** The server's pid as last seen; null when none is known. */
  readonly serverPid: () => number | null;
  /** A snapshot showed a death the last pass did not know about. */
  readonly onNews: (news: string) => void;
  readonly kick?: (pid: number) => void;
  readonly gate?: ActivityGate;
  readonly now?: () => number;
}

/**
 * Watches the town's tmux server between passes, at two intervals from the config:
 *   - every `reap_kick_interval` it looks whether the server ran (ActivityGate) and, if so, sends it a SIGCHLD,
 *     so a death whose SIGCHLD tmux 3.3a lost (see reap-kick.ts) is reaped and reported by the hook;
 *   - every `death_poll_interval` it takes a snapshot, if the server ran since the last one (or QUIET_POLL_MS
 *     passed), and calls `onNews` when it shows a death the last pass did not know about.
 * An idle server is thus neither kicked nor asked anything: each costs it a wake-up that, with hundreds of
 * panes, is most of its idle CPU. Where the server's activity cannot be read, it kicks and polls at every
 * interval, as before. 0 turns either off; both are re-armed when the config changes.
 */
export class TmuxWatch {
  private readonly deps: TmuxWatchDeps;
  private readonly gate: ActivityGate;
  private readonly kick: (pid: number) => void;
  private readonly now: () => number;
  private readonly kicker = new RearmableInterval(() => {
    this.kickTick();
  });
  private readonly poller = new RearmableInterval(() => {
    this.pollTick();
  });
  private kickIntervalMs = 0;
  private pollDue = true;
  private polling = false;
  private lastPollAt = Number.NEGATIVE_INFINITY;
  private settleTimer: NodeJS.Timeout | undefined;

  constructor(deps: TmuxWatchDeps) {
    this.deps = deps;
    this.gate = deps.gate ?? new ActivityGate();
    this.kick = deps.kick ?? kickServer;
    this.now = deps.now ?? elapsedMs;
  }

  arm(reapKickIntervalMs: number, deathPollIntervalMs: number): void {
    this.kickIntervalMs = reapKickIntervalMs;
    this.kicker.arm(reapKickIntervalMs);
    this.poller.arm(deathPollIntervalMs);
  }

  stop(): void {
    this.kicker.stop();
    this.poller.stop();
    clearTimeout(this.settleTimer);
  }

  /** Looks whether the server ran; noted for the next poll, and kicked (once) if it did. */
  private look(): boolean {
    const pid = this.deps.serverPid();
    if (pid === null) return true;
    const activity = this.gate.check(pid);
    if (activity === "quiet") return false;
    this.pollDue = true;
    return true;
  }

  /**
   * A terminal was freed (watchFreedTerminals): a pane may have died with its SIGCHLD lost. Kicked now,
   * not at the next look, and the next poll looks as if the server ran.
   */
  kickNow(): void {
    const pid = this.deps.serverPid();
    // reap_kick_interval 0 turns kicks off, these too.
    if (pid === null || this.kickIntervalMs <= 0) return;
    this.pollDue = true;
    this.gate.expect(1);
    this.kick(pid);
  }

  private kickTick(): void {
    if (!this.look()) return;
    const pid = this.deps.serverPid();
    if (pid === null) return;
    this.gate.expect(1);
    this.kick(pid);
  }

  private pollTick(): void {
    if (this.polling) return;
    // Without the kicker's looks, the poll looks for itself.
    if (this.kickIntervalMs <= 0) this.look();
    const quietTooLong = this.now() - this.lastPollAt >= QUIET_POLL_MS;
    if (!this.pollDue && !quietTooLong && this.deps.serverPid() !== null) return;
    this.pollDue = false;
    this.polling = true;
    this.lastPollAt = this.now();
    this.gate.settle();
    this.deps
      .snapshot()
      .then((taken) => {
        const news = this.deps.watch.news(taken);
        if (news !== undefined) this.deps.onNews(news);
      })
      .catch(() => undefined)
      .finally(() => {
        this.polling = false;
        clearTimeout(this.settleTimer);
        this.settleTimer = setTimeout(() => {
          this.gate.rebase();
        }, SETTLE_MS);
        this.settleTimer.unref();
      });
  }
}
