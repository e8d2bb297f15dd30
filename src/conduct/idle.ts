import { propulsionNudge } from "../agents/beacon.js";
import { formatAge } from "../util/duration.js";
import type { ConductAct, ConductAgent, ConductLimits } from "./types.js";

/**
 * Idle is not hung: an agent at its prompt with no turn running waits for input. A patrol agent (Deacon,
 * Witness, Refinery) is meant to keep patrolling, so one idle for `idlePatrolNudgeAfterMs` gets its patrol
 * nudge again (the reference's propulsion nudge). A nudge that brings no turn is repeated at doubling
 * intervals, never at the pass rate.
 */

export const PATROL_ROLES: ReadonlySet<string> = new Set(["deacon", "witness", "refinery"]);

/** Nudges into one idle spell at most this far apart. */
const MAX_IDLE_NUDGE_GAP_MS = 4 * 60 * 60 * 1000;

export interface IdleStep {
  readonly idle: { readonly since: number; readonly nudges: number } | null;
  readonly act?: ConductAct;
  readonly note?: string;
  readonly recheckAt?: number;
  readonly alert?: undefined;
}

export function conductIdle(
  agent: ConductAgent,
  memory: { since: number; nudges: number } | null,
  limits: Pick<ConductLimits, "idlePatrolNudgeAfterMs">,
  now: number,
): IdleStep {
  const activity = agent.activity;
  const after = limits.idlePatrolNudgeAfterMs;
  if (agent.verdict !== "alive" || activity?.state !== "idle" || after <= 0 || !PATROL_ROLES.has(agent.role))
    return { idle: null };
  const idle = memory?.since === activity.since ? memory : { since: activity.since, nudges: 0 };
  // First nudge `after` into the spell, then after 2×, 4×… of it more: an unanswered nudge is not a loop.
  const gap = (n: number): number => Math.min(MAX_IDLE_NUDGE_GAP_MS, after * 2 ** n);
  let dueAt = idle.since;
  for (let n = 0; n <= idle.nudges; n += 1) dueAt += gap(n);
  if (now < dueAt) {
    // Nothing to say while it waits: idle is the normal state of an agent between turns.
    return { idle, recheckAt: dueAt };
  }
  const reason = `idle at its prompt for ${formatAge(now - idle.since)}: patrol nudge${idle.nudges > 0 ? ` (${idle.nudges + 1})` : ""}`;
  return {
    idle: { since: idle.since, nudges: idle.nudges + 1 },
    act: { kind: "nudge", message: propulsionNudge(agent.role), reason },
    note: reason,
    recheckAt: dueAt + gap(idle.nudges + 1),
  };
}
