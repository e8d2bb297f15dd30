import type { PassWork } from "../daemon/daemon.js";
import type { TownPaths } from "../town/paths.js";
import { Supervisor } from "./supervisor.js";

/** The daemon's work: supervising the town's agents. */
export function createSupervisorWork(paths: TownPaths): PassWork {
  return new Supervisor({ paths });
}
