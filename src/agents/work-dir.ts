import { join } from "node:path";
import { validateIdentity, type AgentId } from "../town/identity.js";

/**
 * The directory an agent's session starts in. This follows the reference's managers (§15, B51, B52), which
 * decide where agents actually run, rather than the lifecycle path's own fallback table (§8.5, B89), which
 * disagrees with them: a lifecycle restart should not move an agent to another directory.
 *
 * - mayor → `<T>`: the reference starts the Mayor in the town root (§8.5), where `mayor/town.json` marks the town;
 * - deacon → `<T>/deacon`, boot → `<T>/deacon/dogs/boot` (§5.1, §5.2);
 * - witness → `<rig>/witness/rig`, else `<rig>/witness`, else `<rig>` (§15.2);
 * - refinery → `<rig>/refinery/rig`, else `<rig>/mayor/rig` (§15.1), else `<rig>` so a fresh rig still has a home;
 * - polecat → `<rig>/polecats/<name>/<rig>` (worktree layout) if it exists, else `<rig>/polecats/<name>` (§5.9);
 * - crew → `<rig>/crew/<name>`.
 *
 * Pure apart from `exists`, which tests replace with a fake.
 */
export function workDir(id: AgentId, townRoot: string, exists: (path: string) => boolean): string {
  const { role, rig = "", name = "" } = validateIdentity(id);
  const rigDir = join(townRoot, rig);
  const firstExisting = (...candidates: string[]): string => candidates.find((dir) => exists(dir)) ?? rigDir;
  switch (role) {
    case "mayor":
      return townRoot;
    case "deacon":
      return join(townRoot, "deacon");
    case "boot":
      return join(townRoot, "deacon", "dogs", "boot");
    case "witness":
      return firstExisting(join(rigDir, "witness", "rig"), join(rigDir, "witness"));
    case "refinery":
      return firstExisting(join(rigDir, "refinery", "rig"), join(rigDir, "mayor", "rig"));
    case "polecat": {
      const home = join(rigDir, "polecats", name);
      const worktree = join(home, rig);
      return exists(worktree) ? worktree : home;
    }
    case "crew":
      return join(rigDir, "crew", name);
  }
}
