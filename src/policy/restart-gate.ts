import { formatDuration } from "../util/duration.js";
import type { PolicyLimits } from "./limits.js";
import type { Alert, HoldBy } from "./plan.js";
import type { AgentRecord, TownPolicyState } from "./record.js";

/**
 * The restart policy's gates for one automatic restart (I3), in order: the crash-loop budget (a slow
 * retry and one alert), the mass-death cool-down, the agent's backoff, the town-wide spawn budget.
 * Either the restart may go (its time counted in both budgets) or a hold says which gate and until when.
 */
export type GateResult =
  | {
      readonly go: true;
      readonly record: AgentRecord;
      readonly town: TownPolicyState;
      readonly alerts: Alert[];
    }
  | {
      readonly go: false;
      readonly record: AgentRecord;
      readonly town: TownPolicyState;
      readonly alerts: Alert[];
      readonly holdBy: HoldBy;
      readonly reason: string;
      readonly until: number;
    };

export function gateRestart(
  record: AgentRecord,
  town: TownPolicyState,
  reason: string,
  now: number,
  limits: PolicyLimits,
): GateResult {
  const { identity } = record;
  const alerts: Alert[] = [];
  const recent = record.restartTimes.filter((t) => now - t < limits.crashLoop.windowMs);
  // Either many restarts in the window, or a streak of deaths without a stable run that outlasts the
  // window (an agent dying every 10 minutes never fills a 30-minute window at the 10-minute backoff cap).
  if (
    record.crashLoopSince === null &&
    (recent.length >= limits.crashLoop.count || record.failures > limits.crashLoop.count)
  ) {
    record = {
      ...record,
      crashLoopSince: now,
      nextAttemptAt: now + limits.crashLoop.retryMs,
      lastReason: `crash loop: ${recent.length} automatic restarts within ${formatDuration(limits.crashLoop.windowMs)}`,
    };
    alerts.push({
      kind: "crash_loop",
      message: `${identity} is in a crash loop (${recent.length} automatic restarts within ${formatDuration(limits.crashLoop.windowMs)}, last: ${reason}); retrying once every ${formatDuration(limits.crashLoop.retryMs)}; 'townd reset ${identity}' retries now`,
      identities: [identity],
    });
  }
  const held = (holdBy: HoldBy, why: string, until: number): GateResult => ({
    go: false,
    record,
    town,
    alerts,
    holdBy,
    reason: why,
    until,
  });
  if (town.massDeathUntil !== null && now < town.massDeathUntil) {
    return held("mass-death", `mass-death cool-down: ${reason}`, town.massDeathUntil);
  }
  if (record.nextAttemptAt !== null && now < record.nextAttemptAt) {
    const holdBy =
      record.failedToStart !== null
        ? "failed-to-start"
        : record.crashLoopSince !== null
          ? "crash-loop"
          : "backoff";
    const seconds = Math.ceil((record.nextAttemptAt - now) / 1000);
    return held(holdBy, `${holdBy}: ${reason}; next attempt in ${seconds}s`, record.nextAttemptAt);
  }
  // The budget bounds restarts; an agent's first start is bounded by the number of agents.
  const isRestart = record.generation !== null;
  if (isRestart && town.spawnTimes.length >= limits.spawnBudget.count) {
    const freeAt = (town.spawnTimes[0] ?? now) + limits.spawnBudget.windowMs;
    if (town.budgetExhaustedSince === null) {
      town = { ...town, budgetExhaustedSince: now };
      alerts.push({
        kind: "spawn_budget_exhausted",
        message: `Town-wide spawn budget exhausted (${town.spawnTimes.length} automatic restarts within ${formatDuration(limits.spawnBudget.windowMs)}); automatic restarts wait`,
        identities: [identity],
      });
    }
    return held("spawn-budget", `spawn budget exhausted: ${reason}`, freeAt);
  }
  return {
    go: true,
    record: {
      ...record,
      restartTimes: isRestart ? [...recent, now] : recent,
      // A crash-loop retry is scheduled a full retry period out, whatever the backoff says.
      nextAttemptAt: record.crashLoopSince !== null ? now + limits.crashLoop.retryMs : null,
    },
    town: isRestart ? { ...town, spawnTimes: [...town.spawnTimes, now] } : town,
    alerts,
  };
}
