import type { PassWork } from "../daemon/daemon.js";
import type { TownPaths } from "../town/paths.js";

/** Placeholder: agent supervision plugs in here. */
export function createSupervisorWork(_paths: TownPaths): PassWork {
  return { pass: () => Promise.resolve() };
}
