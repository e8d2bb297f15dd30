import { desiredAgents } from "../policy/desired.js";
import { unavailableRuntime } from "../supervisor/start-checks.js";
import { runtimeFor } from "../supervisor/spawn-spec.js";
import { loadTownConfigStrict } from "../town/config.js";
import type { TownPaths } from "../town/paths.js";

/**
 * Checks the town's config as `start` and `reload` need it: an invalid file or an unknown agent name throws
 * (one line naming the file, the field and the problem); a runtime whose command is not on PATH, for an
 * agent the daemon would start now, is returned as a warning, since agents of other runtimes can still run.
 */
export function checkTownConfig(paths: TownPaths): string[] {
  const config = loadTownConfigStrict(paths);
  const warnings = new Set<string>();
  for (const agent of desiredAgents(config)) {
    const runtime = runtimeFor(agent.id, config);
    if (!agent.wanted) continue;
    const missing = unavailableRuntime(runtime);
    if (missing !== undefined) warnings.add(`${missing.cause}; ${missing.fix}`);
  }
  return [...warnings];
}
