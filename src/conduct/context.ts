import type { ConductAgent, ConductLimits } from "./types.js";

/**
 * A context window nearly full: the agent is cycled with a handoff, through the same path an agent's own
 * `cycle` request takes, at most once per generation. The cycle waits for the agent's prompt (idle), so a
 * turn in flight is not cut; a runtime that reports no context use is never cycled for it.
 */

export interface ContextStep {
  readonly cycledFor: string | null;
  /** The reason of the cycle to request now. */
  readonly cycle?: string;
  readonly note?: string;
}

export function conductContext(
  agent: ConductAgent,
  cycledFor: string | null,
  limits: Pick<ConductLimits, "contextCyclePercent">,
): ContextStep {
  const threshold = limits.contextCyclePercent(agent.role);
  const used = agent.contextPercent;
  if (
    agent.verdict !== "alive" ||
    threshold === null ||
    used === null ||
    used < threshold ||
    agent.generation === null
  )
    return { cycledFor };
  if (cycledFor === agent.generation) return { cycledFor };
  const why = `context ${Math.round(used)}% used (threshold ${threshold}%)`;
  if (agent.activity?.state !== "idle") return { cycledFor, note: `${why}: cycles at its next prompt` };
  return { cycledFor: agent.generation, cycle: `${why}: cycling with a handoff`, note: why };
}
