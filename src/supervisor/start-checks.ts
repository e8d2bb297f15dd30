import { matchStartFailure, runtimeProfile } from "../activity/profiles.js";
import { findCommand } from "../agents/command-path.js";
import type { ResolvedRuntime } from "../agents/runtime.js";
import type { ObservedStartFailure } from "../policy/start-failure.js";
import type { AgentRecord } from "../policy/record.js";
import type { TmuxClient } from "../tmux/client.js";
import type { TownConfig } from "../town/config.js";
import type { ObservedAgent } from "./observe.js";
import { runtimeFor } from "./spawn-spec.js";

/** A runtime whose command cannot be found: reported before any spawn, not discovered by a death. */
export function unavailableRuntime(runtime: ResolvedRuntime): ObservedStartFailure | undefined {
  const command = runtime.argv[0];
  if (command === undefined) return undefined;
  const path = runtime.env.PATH ?? process.env.PATH;
  if (findCommand(command, path) !== null) return undefined;
  return {
    cause: `the command "${command}" of runtime "${runtime.name}" is not on the daemon's PATH`,
    fix: `install it, or set agents.${runtime.name}.command to its absolute path in settings/config.json`,
    line: null,
  };
}

/**
 * Adds what the observation needs to tell a failed start from a death: for each agent whose runtime's
 * command is missing, that; for each pane that died within the start-failure window of its start, the
 * message its CLI printed, if the runtime's profile knows it. Only such panes are captured (rare).
 */
export async function withStartProblems(
  observed: readonly ObservedAgent[],
  records: ReadonlyMap<string, AgentRecord>,
  config: TownConfig,
  client: Pick<TmuxClient, "capturePane">,
  now: number,
  signal: AbortSignal,
): Promise<ObservedAgent[]> {
  const checked = new Map<string, ObservedStartFailure | undefined>();
  return Promise.all(
    observed.map(async (agent) => {
      let runtime: ResolvedRuntime;
      try {
        runtime = runtimeFor(agent.desired.id, config);
      } catch {
        return agent;
      }
      const key = `${runtime.argv[0] ?? ""}\0${runtime.env.PATH ?? ""}`;
      if (!checked.has(key)) checked.set(key, unavailableRuntime(runtime));
      const unavailable = agent.verdict === "alive" ? undefined : checked.get(key);
      const record = records.get(agent.desired.identity);
      // A start failure is an exit with an error code soon after the start: never a death by signal.
      const early =
        agent.verdict === "dead" &&
        agent.pane !== undefined &&
        agent.pane.deadStatus !== null &&
        agent.pane.deadStatus !== 0 &&
        record?.startedAt != null &&
        record.generation === agent.generation &&
        record.deathCounted !== record.generation &&
        now - record.startedAt <= config.daemon.startFailureWindowMs;
      let startFailure: ObservedStartFailure | undefined;
      if (early) {
        const text = await client.capturePane(agent.desired.session, 30, { signal }).catch(() => undefined);
        const match = text === undefined ? null : matchStartFailure(runtimeProfile(runtime.profile), text);
        if (match !== null) startFailure = match;
      }
      return {
        ...agent,
        ...(unavailable === undefined ? {} : { unavailable }),
        ...(startFailure === undefined ? {} : { startFailure }),
      };
    }),
  );
}
