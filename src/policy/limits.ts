import type { RestartPolicy } from "./backoff.js";

/** Every bound the planner enforces; defaults in town/settings.ts. */
export interface PolicyLimits {
  readonly restart: RestartPolicy;
  /** `count` automatic restarts of one agent within `windowMs` → crash-loop, retried once per `retryMs`. */
  readonly crashLoop: { readonly count: number; readonly windowMs: number; readonly retryMs: number };
  /** At most `count` automatic restarts town-wide within `windowMs` (an agent's first start is not one). */
  readonly spawnBudget: { readonly count: number; readonly windowMs: number };
  /** `count` agents dying within `windowMs` → one mass_death alert and no automatic restarts for `cooldownMs`. */
  readonly massDeath: { readonly count: number; readonly windowMs: number; readonly cooldownMs: number };
  readonly stopDisabled: boolean;
}

/** The heartbeat watchdog of one agent (the Deacon's by default; any role can opt in). */
export interface WatchdogLimits {
  /** A heartbeat older than this is stale: one nudge per stale episode. */
  readonly staleMs: number;
  /** Older than this: the agent is hung and is restarted through the restart policy. */
  readonly veryStaleMs: number;
  /** A new generation gets this long to write its first heartbeat before any verdict (I4). */
  readonly graceMs: number;
}

export const HEALTH_CHECK_NUDGE = "HEALTH_CHECK: heartbeat stale, respond to confirm responsiveness";
