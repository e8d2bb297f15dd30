import { formatAge } from "../util/duration.js";
import type { ConductAct, ConductAgent, ConductAlert, ConductLimits, LadderMemory } from "./types.js";

/**
 * The stuck ladder. A turn that makes no progress (no hook event, no transcript growth, no heartbeat, no
 * screen change) for the agent's stuck limit climbs one rung at a time, each given `rungWaitMs` to bring
 * progress back: 1 a nudge; 2 Escape (interrupt the turn); 3 a respawn that resumes the same conversation
 * (when its id is known; fresh if the resumed agent dies at once); 4 a fresh respawn; 5 needs-human, with
 * one alert. Respawns go through the planner's restart policy. A stall that returns soon after the ladder
 * rested climbs on from where it stopped.
 */

export const STUCK_NUDGE =
  "townd: no progress from you for a while. Continue your current task, or say what is blocking you.";

/** A resumed conversation that dies this soon after its start failed to resume: the next start is fresh. */
export const RESUME_FAIL_WINDOW_MS = 5_000;

/** A stall within this of the ladder's last rest climbs on instead of starting again at the nudge. */
export const LADDER_MEMORY_MS = 60 * 60 * 1000;

export const RUNG_NAMES = ["", "nudge", "Escape", "resume", "fresh respawn", "needs-human"] as const;

export interface LadderStep {
  readonly ladder: LadderMemory | null;
  readonly act?: ConductAct;
  /** A respawn the planner must carry out like a hung agent's (its restart policy applies). */
  readonly stuck?: {
    readonly reason: string;
    readonly resume: string | null;
    readonly resumeFailed: boolean;
  };
  readonly needsHuman?: string;
  readonly alert?: ConductAlert;
  readonly note?: string;
  readonly recheckAt?: number;
}

const WORKING: ReadonlySet<string> = new Set(["working", "compacting"]);

export function conductLadder(
  agent: ConductAgent,
  memory: LadderMemory | null,
  limits: ConductLimits["stuck"],
  now: number,
): LadderStep {
  const active = memory !== null && memory.resolvedAt === null ? memory : null;
  if (agent.verdict !== "alive") {
    const { startedAt } = agent;
    const resumed = active?.rung === 3 && agent.generation !== active.generation && startedAt !== null;
    if (resumed && now - startedAt <= RESUME_FAIL_WINDOW_MS) {
      const reason = "stuck, rung 4 (fresh respawn): the resumed conversation died at once";
      return {
        ladder: { rung: 4, at: now, generation: agent.generation, resolvedAt: null },
        stuck: { reason, resume: null, resumeFailed: true },
        note: reason,
      };
    }
    return { ladder: memory };
  }
  const activity = agent.activity;
  if (activity === undefined || !WORKING.has(activity.state) || agent.starting) {
    // Out of the turn (at its prompt, waiting, walled…): whatever the ladder did, the stall is over.
    return { ladder: active === null ? memory : { ...active, resolvedAt: now } };
  }
  const lastProgress = Math.max(activity.since, agent.progressAt ?? Number.NEGATIVE_INFINITY);
  if (active !== null && (lastProgress > active.at || agent.generation !== active.generation)) {
    // Progress came back (or a respawn rung gave it a new generation that works).
    return { ladder: { ...active, resolvedAt: now } };
  }
  const stalled = `no progress for ${formatAge(now - lastProgress)} while ${activity.state}`;
  if (active === null) {
    const stuckAt = lastProgress + agent.stuckAfterMs;
    if (now < stuckAt) return { ladder: memory, recheckAt: stuckAt };
    const climbs =
      memory !== null && memory.resolvedAt !== null && now - memory.resolvedAt < LADDER_MEMORY_MS;
    // Back at the top rung soon after it: still needs a person, and the one alert has gone out.
    const again = climbs && memory.rung === 5;
    const first = agent.staleNudged === true ? 2 : 1;
    return take(climbs ? Math.min(memory.rung + 1, 5) : first, agent, stalled, limits, now, again);
  }
  const nextAt = active.at + limits.rungWaitMs;
  if (now < nextAt || active.rung === 5) {
    const waiting: LadderStep = {
      ladder: active,
      note: `stuck, rung ${active.rung} (${RUNG_NAMES[active.rung] ?? ""}): ${stalled}`,
      ...(active.rung === 5 ? { needsHuman: `stuck: ${stalled}` } : { recheckAt: nextAt }),
    };
    // A respawn rung the planner has held back (spawn budget, mass death) is asked for again.
    if (active.rung === 3 || active.rung === 4) {
      const resume = active.rung === 3 ? agent.resumeSession : null;
      return { ...waiting, stuck: { reason: waiting.note ?? stalled, resume, resumeFailed: false } };
    }
    return waiting;
  }
  return take(active.rung + 1, agent, stalled, limits, now);
}

function take(
  wanted: number,
  agent: ConductAgent,
  stalled: string,
  limits: ConductLimits["stuck"],
  now: number,
  alerted = false,
): LadderStep {
  const rung = wanted === 3 && agent.resumeSession === null ? 4 : Math.min(wanted, 5);
  const ladder: LadderMemory = { rung, at: now, generation: agent.generation, resolvedAt: null };
  const reason = `stuck, rung ${rung} (${RUNG_NAMES[rung] ?? ""}): ${stalled}`;
  const recheckAt = now + limits.rungWaitMs;
  switch (rung) {
    case 1:
      return { ladder, act: { kind: "nudge", message: STUCK_NUDGE, reason }, note: reason, recheckAt };
    case 2:
      return { ladder, act: { kind: "keys", keys: "escape", reason }, note: reason, recheckAt };
    case 3:
    case 4:
      return {
        ladder,
        stuck: { reason, resume: rung === 3 ? agent.resumeSession : null, resumeFailed: false },
        note: reason,
      };
    default:
      if (alerted) return { ladder, needsHuman: `stuck: ${stalled}`, note: reason };
      return {
        ladder,
        needsHuman: `stuck: ${stalled}`,
        alert: {
          kind: "stuck",
          message: `${agent.identity} is stuck (${stalled}) after a nudge, Escape and respawns; it needs a person`,
          identities: [agent.identity],
        },
        note: reason,
      };
  }
}
