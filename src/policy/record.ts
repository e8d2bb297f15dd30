/**
 * What the daemon remembers about one agent across passes and across its own restarts (kept on disk in
 * daemon/agents.json), so a daemon restart never resets a backoff or a crash loop.
 */
export interface AgentRecord {
  readonly identity: string;
  readonly session: string;
  /** Generation of the process townd last started for this agent; null if it never started one. */
  readonly generation: string | null;
  /** When that generation started (epoch ms): the start of its watchdog grace period. */
  readonly startedAt: number | null;
  readonly autoRestarts: number;
  readonly manualRestarts: number;
  /** Consecutive deaths without a stable run in between: drives the backoff. */
  readonly failures: number;
  /** The generation whose death has been counted, so one death is never counted twice. */
  readonly deathCounted: string | null;
  readonly lastDeathAt: number | null;
  /** The last death's description, e.g. "pane died (exit status 3)". */
  readonly lastExit: string | null;
  /** No automatic spawn before this time (epoch ms). */
  readonly nextAttemptAt: number | null;
  /** The reason of the last decision that changed something. */
  readonly lastReason: string | null;
  /** When a zombie verdict was first seen; it is acted on only once confirmed by a later observation. */
  readonly zombieSince: number | null;
  /** Times of automatic restarts inside the crash-loop window. */
  readonly restartTimes: readonly number[];
  /** Set while the agent is in crash-loop: retried once per retry period, until a stable run or a reset. */
  readonly crashLoopSince: number | null;
  /** The heartbeat timestamp whose stale episode has had its one nudge. */
  readonly staleNudgedFor: number | null;
  /** Set by a shutdown request: no session until `townd start-agent` or a cycle/restart request. */
  readonly stoppedReason: string | null;
  /** The agent cannot start (its CLI refused or is missing): a configuration problem, not a crash. */
  readonly failedToStart: StartFailure | null;
  /** The agent has written a heartbeat at least once: only then can a missing one mean it hangs. */
  readonly heartbeatSeen: boolean;
  /** Times of the agent's lifecycle requests inside the request-rate window (bounds requests, I3). */
  readonly requestTimes: readonly number[];
  /**
   * Held down on an operator's word (policy/holds.ts): by `townd stop-agent` until `start-agent`, or with the
   * whole town by `townd down` until `townd up`. Never a death, never restarted meanwhile.
   */
  readonly operatorHold: OperatorHold | null;
}

/** What an operator's hold is: one agent stopped (`townd stop-agent`) or the whole town (`townd down`). */
export type OperatorHold = "operator" | "town-stopped";

/** Why an agent's CLI cannot start, and what an operator should change. */
export interface StartFailure {
  readonly cause: string;
  readonly fix: string;
  /** The line the CLI printed, when it printed one. */
  readonly line: string | null;
  readonly since: number;
}

export function emptyRecord(identity: string, session: string): AgentRecord {
  return {
    identity,
    session,
    generation: null,
    startedAt: null,
    autoRestarts: 0,
    manualRestarts: 0,
    failures: 0,
    deathCounted: null,
    lastDeathAt: null,
    lastExit: null,
    nextAttemptAt: null,
    lastReason: null,
    zombieSince: null,
    restartTimes: [],
    crashLoopSince: null,
    staleNudgedFor: null,
    stoppedReason: null,
    failedToStart: null,
    heartbeatSeen: false,
    requestTimes: [],
    operatorHold: null,
  };
}

/** Town-wide policy memory: the spawn budget's window, recent deaths, a mass-death cool-down. */
export interface TownPolicyState {
  readonly spawnTimes: readonly number[];
  /** Set while the spawn budget is exhausted, so the alert is raised once per episode. */
  readonly budgetExhaustedSince: number | null;
  readonly deaths: readonly { readonly at: number; readonly identity: string }[];
  /** No automatic restarts before this time. */
  readonly massDeathUntil: number | null;
}

export const EMPTY_TOWN_STATE: TownPolicyState = {
  spawnTimes: [],
  budgetExhaustedSince: null,
  deaths: [],
  massDeathUntil: null,
};
