import type { PolicyLimits } from "./limits.js";
import type { AgentRecord, StartFailure } from "./record.js";

/** What the observation says about a CLI that cannot start: it exited at once with a known message. */
export interface ObservedStartFailure {
  readonly cause: string;
  readonly fix: string;
  readonly line: string | null;
}

/**
 * A failed start is a configuration problem, not a crash: it is recorded once per generation, does not
 * extend the failure streak, never counts toward mass death, and is retried at the slow crash-loop cadence.
 * `alert` is true when this is a new episode (no failed start before, or a different cause).
 */
export function noteFailedStart(
  record: AgentRecord,
  failure: ObservedStartFailure,
  now: number,
  limits: PolicyLimits,
): { record: AgentRecord; alert: boolean } {
  if (record.generation === null || record.deathCounted === record.generation) {
    return { record, alert: false };
  }
  const previous = record.failedToStart;
  // The same cause again is the same episode: no new alert, and it keeps the time it began.
  const sameEpisode = previous !== null && previous.cause === failure.cause;
  const alert = !sameEpisode;
  const failedToStart: StartFailure = {
    cause: failure.cause,
    fix: failure.fix,
    line: failure.line,
    since: sameEpisode ? previous.since : now,
  };
  return {
    alert,
    record: {
      ...record,
      deathCounted: record.generation,
      lastDeathAt: now,
      lastExit: `failed to start: ${failure.cause}${failure.line === null ? "" : ` ("${failure.line}")`}`,
      nextAttemptAt: now + limits.crashLoop.retryMs,
      staleNudgedFor: null,
      failedToStart,
    },
  };
}

/** A runtime that cannot even be spawned (its command is missing): one alert per episode, no spawn. */
export function noteUnavailable(
  record: AgentRecord,
  problem: ObservedStartFailure,
  now: number,
): { record: AgentRecord; alert: boolean } {
  const alert = record.failedToStart?.cause !== problem.cause;
  if (!alert) return { record, alert };
  return {
    alert,
    record: { ...record, failedToStart: { ...problem, since: now } },
  };
}

export function failedStartMessage(identity: string, failure: ObservedStartFailure, retryMs: number): string {
  const seen = failure.line === null ? "" : ` (it printed: "${failure.line}")`;
  const minutes = Math.round(retryMs / 60_000);
  return `${identity} failed to start: ${failure.cause}${seen}. Fix: ${failure.fix}. townd retries every ${minutes} min; 'townd reset ${identity}' retries now`;
}
