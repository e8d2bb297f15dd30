import type { ManualRequest } from "../policy/plan.js";
import type { AgentRecord } from "../policy/record.js";
import { emptyRecord } from "../policy/record.js";
import { formatDuration } from "../util/duration.js";

/**
 * Lifecycle requests keep their priority (no backoff holds them back), so they need a bound of their own:
 * an agent asking to be restarted in a loop would otherwise respawn as fast as tmux allows.
 */
export interface RequestRate {
  readonly count: number;
  readonly windowMs: number;
}

export function recentRequestTimes(times: readonly number[], now: number, windowMs: number): number[] {
  return times.filter((t) => now - t < windowMs && t <= now);
}

/** Why a further request from an agent is refused, or undefined while it is under the rate. */
export function overRate(times: readonly number[], now: number, rate: RequestRate): string | undefined {
  const recent = recentRequestTimes(times, now, rate.windowMs);
  if (recent.length < rate.count) return undefined;
  const freeAt = Math.min(...recent) + rate.windowMs;
  return (
    `${recent.length} lifecycle requests within ${formatDuration(rate.windowMs)} (limit ` +
    `operational.daemon.lifecycle_request_rate: ${rate.count} per ${formatDuration(rate.windowMs)}); ` +
    `send it again after ${new Date(freeAt).toISOString()}`
  );
}

/** Counts claimed requests in their agents' records (kept in agents.json, so a daemon restart forgets none). */
export function countRequests(
  records: ReadonlyMap<string, AgentRecord>,
  requests: readonly ManualRequest[],
  sessions: ReadonlyMap<string, string>,
  now: number,
  windowMs: number,
): Map<string, AgentRecord> {
  const next = new Map(records);
  for (const request of requests) {
    const record =
      next.get(request.identity) ??
      emptyRecord(request.identity, sessions.get(request.identity) ?? request.identity);
    next.set(request.identity, {
      ...record,
      requestTimes: [...recentRequestTimes(record.requestTimes, now, windowMs), now],
    });
  }
  return next;
}
