import { backoffDelay, type RestartPolicy } from "./backoff.js";
import type { AgentRecord } from "./record.js";

/** A new generation is running: remember it, and count the restart if there was one before. */
export function noteSpawned(
  record: AgentRecord,
  spawn: { generation: string; at: number; reason: string; manual: boolean },
): AgentRecord {
  const restart = record.generation !== null;
  return {
    ...record,
    generation: spawn.generation,
    startedAt: spawn.at,
    autoRestarts: record.autoRestarts + (restart && !spawn.manual ? 1 : 0),
    manualRestarts: record.manualRestarts + (restart && spawn.manual ? 1 : 0),
    // A crash-loop retry keeps the planner's schedule (one retry per retry period); any other spawn starts fresh.
    nextAttemptAt: record.crashLoopSince !== null && !spawn.manual ? record.nextAttemptAt : null,
    lastReason: spawn.reason,
  };
}

/** A spawn that failed outright (tmux refused, no such directory) counts as a quick death for the backoff. */
export function noteSpawnFailed(
  record: AgentRecord,
  failure: { at: number; message: string },
  policy: RestartPolicy,
): AgentRecord {
  const failures = record.failures + 1;
  return {
    ...record,
    failures,
    lastDeathAt: failure.at,
    lastExit: `spawn failed: ${failure.message}`,
    nextAttemptAt: failure.at + Math.max(backoffDelay(failures, policy), policy.initialBackoffMs),
    lastReason: `spawn failed: ${failure.message}`,
  };
}
