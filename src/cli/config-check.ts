import { unavailableRuntime } from "../supervisor/start-checks.js";
import { runtimeFor } from "../supervisor/spawn-spec.js";
import { loadTownConfigStrict } from "../town/config.js";
import { ROLES, type AgentId } from "../town/identity.js";
import type { TownPaths } from "../town/paths.js";

/**
 * Checks the town's config as `start` and `reload` need it: an invalid file or an unknown agent name throws
 * (one line naming the file, the field and the problem); a runtime whose command is not on PATH is returned
 * as a warning, since agents of other runtimes can still run.
 */
export function checkTownConfig(paths: TownPaths): string[] {
  const config = loadTownConfigStrict(paths);
  const warnings = new Set<string>();
  const rigs: (string | undefined)[] = [undefined, ...Object.keys(config.rigs.rigs)];
  for (const rig of rigs) {
    for (const role of ROLES) {
      const townRole = role === "mayor" || role === "deacon" || role === "boot";
      if (townRole !== (rig === undefined)) continue;
      const named = role === "polecat" || role === "crew";
      const id: AgentId = rig === undefined ? { role } : named ? { role, rig, name: "check" } : { role, rig };
      const missing = unavailableRuntime(runtimeFor(id, config));
      if (missing !== undefined) warnings.add(`${missing.cause}; ${missing.fix}`);
    }
  }
  return [...warnings];
}
