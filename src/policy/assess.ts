import { backoffDelay } from "./backoff.js";
import type { PolicyLimits } from "./limits.js";
import type { AgentObservation, PlanInput } from "./plan.js";
import type { AgentRecord, TownPolicyState } from "./record.js";
import { watchdogVerdict } from "./watchdog.js";

/**
 * What happened to one agent since the last pass, before any decision: a death (counted once per
 * generation), a hang by its heartbeat, a zombie awaiting confirmation, a stable run that clears its
 * streak. Pure, like the planner that uses it.
 */

/** A zombie verdict rests on a /proc scan that can race a fork; a healthy agent must never be replaced on
 * one glimpse (I2), so a zombie is replaced only when a second observation this long after the first agrees.
 */
export const ZOMBIE_CONFIRM_MS = 2000;

/** A generation alive this long after a failed start has started: its failed-start mark is cleared. */
export const START_SETTLED_MS = 60_000;

export interface Situation {
  readonly record: AgentRecord;
  /** Why the agent must be replaced; null when it is alive (or not yet confirmed dead). */
  readonly death: string | null;
  readonly hung: boolean;
  readonly aliveReason: string;
  /** A stale-heartbeat nudge to send (once per stale episode). */
  readonly nudge: string | null;
  /** Set while a zombie verdict waits for confirmation: when to look again. */
  readonly confirmingZombie: number | null;
  /** When the heartbeat watchdog's verdict changes next if nothing happens: look again then. */
  readonly watchdogRecheckAt: number | null;
}

export function assess(obs: AgentObservation, record: AgentRecord, input: PlanInput): Situation {
  const { now } = input;
  const base = {
    record,
    death: null,
    hung: false,
    aliveReason: "agent is alive",
    nudge: null,
    confirmingZombie: null,
    watchdogRecheckAt: null,
  };
  if (obs.verdict === "zombie" && obs.desired.wanted) {
    const since = record.zombieSince ?? now;
    const withSince = record.zombieSince === null ? { ...record, zombieSince: now } : record;
    if (now - since < ZOMBIE_CONFIRM_MS)
      return { ...base, record: withSince, confirmingZombie: since + ZOMBIE_CONFIRM_MS };
    return { ...base, record: { ...withSince, zombieSince: null }, death: obs.verdictReason };
  }
  const cleared = record.zombieSince === null ? record : { ...record, zombieSince: null };
  if (obs.verdict !== "alive") {
    return { ...base, record: cleared, death: obs.verdict === "missing" ? "no session" : obs.verdictReason };
  }
  let alive = noteAlive(cleared, obs, input);
  // The stuck ladder's respawn rung: replaced like a hung agent, through the same restart policy.
  if (obs.stuck !== undefined && obs.desired.wanted)
    return { ...base, record: alive, death: obs.stuck.reason, hung: true };
  if (obs.watchdog === undefined || !obs.desired.wanted || alive.startedAt === null)
    return { ...base, record: alive };
  const startedAt = alive.startedAt;
  const heartbeatAt = obs.heartbeatAt ?? null;
  // B33: no heartbeat file, no verdict. Once one exists, the tiers apply to every later generation too.
  const fileSeen = obs.heartbeatFileSeen ?? heartbeatAt !== null;
  if (!alive.heartbeatSeen && fileSeen) alive = { ...alive, heartbeatSeen: true };
  const verdict = watchdogVerdict(heartbeatAt, startedAt, now, obs.watchdog, alive.heartbeatSeen);
  switch (verdict.kind) {
    case "none":
      return { ...base, record: alive, aliveReason: `agent is alive; ${verdict.reason}` };
    case "ok":
    case "grace":
      if (alive.staleNudgedFor !== null && verdict.kind === "ok") alive = { ...alive, staleNudgedFor: null };
      return {
        ...base,
        record: alive,
        aliveReason: `agent is alive; ${verdict.reason}`,
        watchdogRecheckAt: verdict.recheckAt,
      };
    case "stale":
      if (alive.staleNudgedFor === verdict.heartbeatAt) {
        const aliveReason = `${verdict.reason}; already nudged`;
        return { ...base, record: alive, aliveReason, watchdogRecheckAt: verdict.recheckAt };
      }
      return {
        ...base,
        record: { ...alive, staleNudgedFor: verdict.heartbeatAt },
        nudge: verdict.reason,
        watchdogRecheckAt: verdict.recheckAt,
      };
    case "hung":
      // I9: a live agent is never killed for what it is doing (at its prompt, waiting for a person,
      // walled by a usage limit, logged out): a stale heartbeat says nothing about such an agent. A
      // working one without progress climbs the stuck ladder (conduct/ladder.ts) instead of dying here:
      // the watchdog's own kill is left for an agent whose activity cannot be read at all.
      if (obs.activity !== undefined && !UNREADABLE.has(obs.activity)) {
        const aliveReason = NOT_HUNG.has(obs.activity)
          ? `${verdict.reason}, but it is ${obs.activity}: not hung (I9)`
          : `${verdict.reason}, but it is ${obs.activity}: the stuck ladder watches its progress`;
        return { ...base, record: alive, aliveReason };
      }
      return { ...base, record: alive, death: verdict.reason, hung: true };
  }
}

/** Activity states that say nothing about a live agent's progress: the heartbeat watchdog judges it. */
const UNREADABLE: ReadonlySet<string> = new Set(["starting", "dead", "failed-to-start"]);

/** Activity states in which a quiet agent is not hung: it waits for input, a person, or a limit. */
const NOT_HUNG: ReadonlySet<string> = new Set([
  "idle",
  "awaiting-permission",
  "dialog",
  "needs-human",
  "rate-limited",
  "auth-required",
]);

/** A verified-healthy run of the stability period clears the failure streak and any crash loop. */
export function noteAlive(record: AgentRecord, obs: AgentObservation, input: PlanInput): AgentRecord {
  const adopted =
    obs.generation !== null && obs.generation !== record.generation
      ? // A session we did not start in this record's memory (e.g. the records file was lost): adopt it.
        { ...record, generation: obs.generation, startedAt: record.startedAt ?? input.now }
      : record.generation === null && record.startedAt === null
        ? // A foreign session (no generation): its watchdog grace starts now.
          { ...record, startedAt: input.now }
        : record;
  const stable =
    adopted.startedAt !== null && input.now - adopted.startedAt >= input.limits.restart.stabilityPeriodMs;
  if (stable && (adopted.failures > 0 || adopted.crashLoopSince !== null)) {
    return { ...adopted, failures: 0, nextAttemptAt: null, crashLoopSince: null, failedToStart: null };
  }
  // A CLI that comes up and stays up past the failure window has started: no failed start any more.
  if (
    adopted.failedToStart !== null &&
    adopted.startedAt !== null &&
    adopted.startedAt > adopted.failedToStart.since &&
    input.now - adopted.startedAt >= START_SETTLED_MS
  ) {
    return { ...adopted, failedToStart: null };
  }
  return adopted;
}

/**
 * Counts a death once per generation. A death after a stable run starts a new streak (restart at once);
 * a death soon after a start extends the streak and pushes the next attempt out.
 */
export function countDeath(record: AgentRecord, reason: string, input: PlanInput): AgentRecord {
  const { now, limits } = input;
  if (record.generation === null || record.deathCounted === record.generation) return record;
  const ranStably = record.startedAt !== null && now - record.startedAt >= limits.restart.stabilityPeriodMs;
  const failures = ranStably ? 1 : record.failures + 1;
  const backoffUntil = now + backoffDelay(failures, limits.restart);
  return {
    ...record,
    failures,
    deathCounted: record.generation,
    lastDeathAt: now,
    lastExit: reason,
    nextAttemptAt: Math.max(backoffUntil, record.nextAttemptAt ?? 0),
    staleNudgedFor: null,
  };
}

/** `townd reset AGENT`: forget the streak, the crash loop and the wait, so the next pass may spawn. */
export function resetRecord(record: AgentRecord): AgentRecord {
  return {
    ...record,
    failures: 0,
    nextAttemptAt: null,
    crashLoopSince: null,
    restartTimes: [],
    lastReason: "reset",
    failedToStart: null,
  };
}

export function pruneTown(town: TownPolicyState, now: number, limits: PolicyLimits): TownPolicyState {
  return {
    ...town,
    spawnTimes: town.spawnTimes.filter((t) => now - t < limits.spawnBudget.windowMs),
    deaths: town.deaths.filter((d) => now - d.at < limits.massDeath.windowMs),
    massDeathUntil: town.massDeathUntil !== null && now >= town.massDeathUntil ? null : town.massDeathUntil,
  };
}
