import { readJsonIfExists } from "../util/json-file.js";
import { writeJsonPrivateSync } from "../util/private-file.js";
import type { TownPaths } from "../town/paths.js";
import { daemonStateSchema, type DaemonStateFile } from "../town/schemas.js";

/** Go's zero time, which the reference writes for "never" (§2). */
export const ZERO_TIME = "0001-01-01T00:00:00Z";

export function isZeroTime(value: string): boolean {
  return value === ZERO_TIME || value.startsWith("0001-01-01");
}

export function readState(paths: TownPaths): DaemonStateFile | undefined {
  return readJsonIfExists(paths.stateFile, daemonStateSchema, { noFollow: true });
}

/**
 * Atomic (temp + fsync + rename): a kill -9 at any moment leaves the old file or the new one (I7). Never
 * through a symlink: the rename replaces a link, it does not write to its target.
 */
export function writeState(paths: TownPaths, state: DaemonStateFile): void {
  writeJsonPrivateSync(paths.stateFile, state);
}
