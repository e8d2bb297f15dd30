import type { Decision } from "../policy/plan.js";
import type { AgentRecord } from "../policy/record.js";
import type { ObservedAgent } from "./observe.js";

/** The one-word state `townd status` shows for an agent after a pass. */
export function agentState(
  agent: ObservedAgent,
  decision: Decision | undefined,
  starting: boolean,
  record: AgentRecord,
  blockedBy: string | null = null,
): string {
  if (decision?.action === "spawn" || decision?.action === "respawn") return "starting";
  const stopped = record.stoppedReason !== null || record.operatorHold !== null;
  if (stopped && agent.verdict !== "alive") return "stopped";
  if (agent.verdict === "alive" && decision?.verdict !== "hung") {
    if (blockedBy !== null) return "needs-human";
    return starting ? "starting" : "running";
  }
  if (record.failedToStart !== null || decision?.holdBy === "failed-to-start") return "failed-to-start";
  if (decision?.holdBy === "crash-loop" || record.crashLoopSince !== null) return "crash-loop";
  if (decision?.action === "wait") return decision.holdBy === "zombie-check" ? "running" : "backoff";
  if (!agent.desired.wanted) return agent.desired.held ?? "stopped";
  // Boot runs now and then and ends itself (src/policy/boot.ts): between runs it is not dead.
  if (agent.desired.id.role === "boot") return "standby";
  return agent.verdict === "missing" ? "stopped" : "dead";
}

/** What `status` says of a failed start: its cause and its fix. */
export function failedStartDetail(record: AgentRecord): string | null {
  const failed = record.failedToStart;
  return failed === null ? null : `${failed.cause}; fix: ${failed.fix}`;
}
