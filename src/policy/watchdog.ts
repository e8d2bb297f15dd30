import { formatDuration } from "../util/duration.js";
import type { WatchdogLimits } from "./limits.js";

/** `recheckAt`: when the verdict next changes if no heartbeat arrives, so the daemon can look then. */
export type WatchdogVerdict =
  | { readonly kind: "none"; readonly reason: string }
  | { readonly kind: "ok"; readonly reason: string; readonly recheckAt: number }
  | { readonly kind: "grace"; readonly reason: string; readonly recheckAt: number }
  | {
      readonly kind: "stale";
      readonly reason: string;
      readonly heartbeatAt: number;
      readonly recheckAt: number;
    }
  | { readonly kind: "hung"; readonly reason: string };

const minutes = (ms: number): string => formatDuration(Math.round(ms / 1000) * 1000);

/**
 * The heartbeat watchdog for one live agent (reference §5.3, §19.3, #589, #729, #3638).
 * A heartbeat written before the current generation started counts as none (I4): the new generation gets
 * its grace period first, so a just-started Deacon is never judged by its predecessor's stale file.
 * An agent that has never written a heartbeat is not judged by one at all (the reference at seed, B33):
 * a real CLI writes heartbeats only when its role's instructions tell it to.
 */
export function watchdogVerdict(
  heartbeatAt: number | null,
  generationStartedAt: number,
  now: number,
  limits: WatchdogLimits,
  heartbeatSeen = true,
): WatchdogVerdict {
  const sinceStart = now - generationStartedAt;
  if (!heartbeatSeen) return { kind: "none", reason: "no heartbeat yet" };
  if (heartbeatAt === null || heartbeatAt < generationStartedAt) {
    if (sinceStart < limits.graceMs) {
      return {
        kind: "grace",
        reason: `started ${minutes(sinceStart)} ago, in its start-up grace period`,
        recheckAt: generationStartedAt + limits.graceMs,
      };
    }
    return {
      kind: "hung",
      reason: `no heartbeat since it started ${minutes(sinceStart)} ago (grace ${minutes(limits.graceMs)})`,
    };
  }
  const age = now - heartbeatAt;
  if (age < limits.staleMs) {
    return { kind: "ok", reason: `heartbeat ${minutes(age)} old`, recheckAt: heartbeatAt + limits.staleMs };
  }
  if (age < limits.veryStaleMs) {
    const reason = `heartbeat stale (${minutes(age)} old)`;
    return { kind: "stale", reason, heartbeatAt, recheckAt: heartbeatAt + limits.veryStaleMs };
  }
  return { kind: "hung", reason: `heartbeat very stale (${minutes(age)} old)` };
}
