import type { Logger } from "../daemon/logger.js";
import { errorMessage } from "../errors.js";
import type { PolicyLimits } from "../policy/limits.js";
import { EMPTY_TOWN_STATE, type AgentRecord, type TownPolicyState } from "../policy/record.js";
import type { TownPaths } from "../town/paths.js";
import { formatDuration } from "../util/duration.js";
import { clockSkew, type DaemonClock } from "../util/monotonic-clock.js";
import { readAgentsFile, statusToRecord, townStateFromFile } from "./agents-file.js";

/**
 * The planner's records hold daemon time (util/monotonic-clock.ts); daemon/agents.json holds wall-clock
 * times, so `townd status` and a later daemon read them against the wall clock. These convert between the
 * two, and make the times a previous daemon left safe to use, whatever the wall clock did since.
 */

const shift = (t: number | null, by: number): number | null => (t === null ? null : t + by);

/** Every time in `record` moved by `by` ms (daemon time → wall time and back). */
export function shiftRecord(record: AgentRecord, by: number): AgentRecord {
  if (by === 0) return record;
  return {
    ...record,
    startedAt: shift(record.startedAt, by),
    lastDeathAt: shift(record.lastDeathAt, by),
    nextAttemptAt: shift(record.nextAttemptAt, by),
    zombieSince: shift(record.zombieSince, by),
    restartTimes: record.restartTimes.map((t) => t + by),
    crashLoopSince: shift(record.crashLoopSince, by),
    staleNudgedFor: shift(record.staleNudgedFor, by),
    failedToStart:
      record.failedToStart === null
        ? null
        : { ...record.failedToStart, since: record.failedToStart.since + by },
    requestTimes: record.requestTimes.map((t) => t + by),
  };
}

export function shiftTown(town: TownPolicyState, by: number): TownPolicyState {
  if (by === 0) return town;
  return {
    spawnTimes: town.spawnTimes.map((t) => t + by),
    budgetExhaustedSince: shift(town.budgetExhaustedSince, by),
    deaths: town.deaths.map((d) => ({ ...d, at: d.at + by })),
    massDeathUntil: shift(town.massDeathUntil, by),
  };
}

export interface History {
  readonly records: Map<string, AgentRecord>;
  readonly town: TownPolicyState;
  /** What was clamped, for one log line; null when every time was plausible. */
  readonly note: string | null;
}

/**
 * Persisted times made safe at start-up (daemon time `now`): a wall clock set back since they were written
 * leaves them in the future. A past event (a start, a death, a restart counted in a window) is never later
 * than now; a deadline is never further out than its policy allows (the backoff cap, the crash-loop or
 * failed-start retry, the mass-death cool-down), so no agent waits for the wall clock to catch up. A
 * deadline in the past is simply due.
 */
export function restoreHistory(
  records: ReadonlyMap<string, AgentRecord>,
  town: TownPolicyState,
  now: number,
  limits: PolicyLimits,
): History {
  let count = 0;
  let furthest = 0;
  const deadlines: string[] = [];
  const ahead = (t: number): void => {
    count += 1;
    furthest = Math.max(furthest, t - now);
  };
  const past = (t: number): number => {
    if (t <= now) return t;
    ahead(t);
    return now;
  };
  const pastOrNull = (t: number | null): number | null => (t === null ? null : past(t));
  const deadline = (what: string, t: number | null, maxMs: number): number | null => {
    if (t === null || t <= now + maxMs) return t;
    ahead(t);
    deadlines.push(`${what} now in ${formatDuration(maxMs)}`);
    return now + maxMs;
  };
  const restored = new Map<string, AgentRecord>();
  for (const [identity, r] of records) {
    const slow = r.crashLoopSince !== null || r.failedToStart !== null;
    const maxWait = slow ? limits.crashLoop.retryMs : limits.restart.maxBackoffMs;
    restored.set(identity, {
      ...r,
      startedAt: pastOrNull(r.startedAt),
      lastDeathAt: pastOrNull(r.lastDeathAt),
      nextAttemptAt: deadline(`${identity} next_attempt_at`, r.nextAttemptAt, maxWait),
      zombieSince: pastOrNull(r.zombieSince),
      restartTimes: r.restartTimes.map(past),
      crashLoopSince: pastOrNull(r.crashLoopSince),
      failedToStart:
        r.failedToStart === null ? null : { ...r.failedToStart, since: past(r.failedToStart.since) },
      requestTimes: r.requestTimes.map(past),
    });
  }
  return {
    records: restored,
    town: {
      spawnTimes: town.spawnTimes.map(past),
      budgetExhaustedSince: pastOrNull(town.budgetExhaustedSince),
      deaths: town.deaths.map((d) => ({ ...d, at: past(d.at) })),
      massDeathUntil: deadline("mass_death_until", town.massDeathUntil, limits.massDeath.cooldownMs),
    },
    note:
      count === 0
        ? null
        : `${count} time(s) up to ${formatDuration(furthest)} in the future (was the wall clock set back?): ` +
          ["past times taken as now", ...deadlines].join("; "),
  };
}

/**
 * daemon/agents.json read into daemon time and restored (see restoreHistory), with one log line when a time
 * had to be clamped; no history (and an error logged) when the file cannot be read.
 */
export function loadHistory(
  paths: TownPaths,
  clock: DaemonClock,
  limits: PolicyLimits,
  log: Logger,
): Pick<History, "records" | "town"> {
  try {
    const saved = readAgentsFile(paths);
    const skew = clockSkew(clock);
    const records = new Map(
      (saved?.agents ?? []).map((status) => [status.identity, shiftRecord(statusToRecord(status), skew)]),
    );
    const town = shiftTown(townStateFromFile(saved), skew);
    const history = restoreHistory(records, town, clock.now(), limits);
    if (history.note !== null) log.warn(`Agent history in ${paths.agentsFile}: ${history.note}`);
    return history;
  } catch (error) {
    log.error(`Starting with no agent history: ${errorMessage(error)}`);
    return { records: new Map(), town: EMPTY_TOWN_STATE };
  }
}
