import type { Logger } from "../daemon/logger.js";
import type { DesiredAgent } from "../policy/desired.js";
import type { AgentRecord } from "../policy/record.js";
import type { TmuxSnapshot } from "../tmux/types.js";
import type { TownConfig } from "../town/config.js";
import type { Parts } from "./parts.js";
import type { HeartbeatStage } from "./heartbeat-stage.js";
import { observeAgents, type ObservedAgent } from "./observe.js";
import { runtimeFor } from "./spawn-spec.js";
import { withStartProblems } from "./start-checks.js";

export interface ObserveInput {
  readonly snapshot: TmuxSnapshot;
  readonly serverRestarted: boolean;
  readonly desired: readonly DesiredAgent[];
  readonly records: ReadonlyMap<string, AgentRecord>;
  readonly config: TownConfig;
  /** Daemon time of the pass. */
  readonly now: number;
}

/**
 * The observe stage after the snapshot: each desired agent as its pane shows it, with its heartbeat, the
 * cause of a failed start, and what its armed hook did since the last pass. Start-ups of agents that are no
 * longer what they started as are cancelled here, before anything plans on them.
 */
export async function observeTown(
  parts: Pick<Parts, "client" | "startups" | "armed">,
  heartbeats: HeartbeatStage,
  input: ObserveInput,
  log: Logger,
  signal: AbortSignal,
): Promise<ObservedAgent[]> {
  const { config, records } = input;
  const seen = observeAgents(input.snapshot, input.desired, (agent) => {
    try {
      return runtimeFor(agent.id, config);
    } catch {
      // A runtime the config cannot resolve has no process to look for; the config check reports it.
      return { processNames: [], argv: [] };
    }
  }).map((agent) => heartbeats.observe(agent, config, log));
  const observed = await withStartProblems(seen, records, config, parts.client, input.now, signal);
  parts.startups.cancelStale(observed);
  const { armed } = parts;
  if (armed === null) return observed;
  // A new tmux server has none of the old one's hooks, and counts from 0.
  if (input.serverRestarted) armed.serverLost();
  return armed.fired(observed, records, signal);
}
