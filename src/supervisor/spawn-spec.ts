import { existsSync } from "node:fs";
import { agentEnv } from "../agents/env.js";
import { resolveRuntime, type ResolvedRuntime } from "../agents/runtime.js";
import { workDir } from "../agents/work-dir.js";
import type { TownConfig } from "../town/config.js";
import type { AgentId } from "../town/identity.js";

/** Which runtime runs an agent: the town's settings, overridden by its rig's. */
export function runtimeFor(id: AgentId, config: TownConfig): ResolvedRuntime {
  const rig = id.rig === undefined ? undefined : config.rigSettings.get(id.rig);
  return resolveRuntime(id.role, { town: config.settings, rig });
}

export interface SpawnSpec {
  readonly runtime: ResolvedRuntime;
  readonly cwd: string;
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/** Everything needed to start one generation of an agent. */
export function spawnSpec(
  id: AgentId,
  session: string,
  generation: string,
  config: TownConfig,
  townRoot: string,
): SpawnSpec {
  const runtime = runtimeFor(id, config);
  const env = {
    ...runtime.env,
    ...agentEnv(id, { townRoot, generation, session, sessionIdEnv: runtime.sessionIdEnv }),
  };
  return { runtime, cwd: workDir(id, townRoot, existsSync), argv: runtime.argv, env };
}
