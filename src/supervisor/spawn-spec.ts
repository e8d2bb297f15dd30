import { existsSync } from "node:fs";
import { claudeHookArgs } from "../activity/hooks/spawn.js";
import { startupPrompt } from "../agents/beacon.js";
import { agentEnv } from "../agents/env.js";
import { telemetryEnv } from "../agents/telemetry-env.js";
import { resolveRuntime, type ResolvedRuntime } from "../agents/runtime.js";
import { workDir } from "../agents/work-dir.js";
import type { TownConfig } from "../town/config.js";
import type { AgentId } from "../town/identity.js";
import { townPaths } from "../town/paths.js";

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
  /** Why townd's Claude hook settings could not be (re)written for this spawn (the agent starts without them). */
  readonly hooksProblem?: string;
}

/**
 * Everything needed to start one generation of an agent. A Claude-profile runtime also gets townd's hook
 * settings (`--settings daemon/claude-settings.json`), which are (re)written here when missing or stale.
 */
export function spawnSpec(
  id: AgentId,
  session: string,
  generation: string,
  config: TownConfig,
  townRoot: string,
  /** A conversation to resume (Claude's `--resume <session id>`); ignored by other profiles. */
  resume?: string,
): SpawnSpec {
  const runtime = runtimeFor(id, config);
  const own = agentEnv(id, { townRoot, generation, session, sessionIdEnv: runtime.sessionIdEnv });
  // Telemetry is the town's (or the rig's) default; a runtime's own env may still set any OTEL_* itself.
  const rig = id.rig === undefined ? undefined : config.rigSettings.get(id.rig);
  const telemetry = telemetryEnv(own, rig?.telemetry ?? config.settings.telemetry, process.env);
  const env = { ...telemetry, ...runtime.env, ...own };
  const hooks = claudeHookArgs(runtime, townPaths(townRoot).daemonDir, env["HOME"] ?? process.env["HOME"]);
  const prompt = startupPrompt(id.role);
  const spec = {
    runtime,
    cwd: workDir(id, townRoot, existsSync),
    // The prompt goes last, after every option, as the reference appends it (§5.2).
    argv: [
      ...runtime.argv,
      ...hooks.args,
      ...resumeArgs(runtime, resume),
      ...(prompt === null ? [] : [prompt]),
    ],
    env,
  };
  return hooks.problem === undefined ? spec : { ...spec, hooksProblem: hooks.problem };
}

/** Claude resumes a conversation by its session id; other runtimes start fresh. */
function resumeArgs(runtime: ResolvedRuntime, resume: string | undefined): string[] {
  // Only an id townd read from Claude's own hook or statusline payloads, checked there; checked again.
  if (resume === undefined || runtime.profile !== "claude" || !/^[A-Za-z0-9._-]{1,128}$/.test(resume))
    return [];
  return ["--resume", resume];
}
