import { rmSync, readFileSync } from "node:fs";
import writeFileAtomic from "write-file-atomic";
import { errnoCode } from "../errors.js";
import { readJsonIfExists, writeJsonAtomicSync } from "../util/json-file.js";
import type { TownPaths } from "../town/paths.js";
import { daemonStateSchema, type DaemonStateFile } from "../town/schemas.js";

/** Go's zero time, which the reference writes for "never" (§2). */
export const ZERO_TIME = "0001-01-01T00:00:00Z";

export function isZeroTime(value: string): boolean {
  return value === ZERO_TIME || value.startsWith("0001-01-01");
}

export function readState(paths: TownPaths): DaemonStateFile | undefined {
  return readJsonIfExists(paths.stateFile, daemonStateSchema);
}

/** Atomic (temp + fsync + rename): a kill -9 at any moment leaves the old file or the new one (I7). */
export function writeState(paths: TownPaths, state: DaemonStateFile): void {
  writeJsonAtomicSync(paths.stateFile, state);
}

/** The PID file holds the decimal PID with no newline, as the reference writes it (B2). */
export function writePidFile(paths: TownPaths, pid: number): void {
  // Atomic like the state file: a reader never sees an empty pid file.
  writeFileAtomic.sync(paths.pidFile, String(pid), { mode: 0o644 });
}

/** The recorded PID, or undefined when the file is missing or does not hold a positive integer. */
export function readPidFile(paths: TownPaths): number | undefined {
  let text: string;
  try {
    text = readFileSync(paths.pidFile, "utf8");
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return undefined;
    throw error;
  }
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) return undefined;
  const pid = Number(trimmed);
  return pid > 0 ? pid : undefined;
}

export function removePidFile(paths: TownPaths): void {
  rmSync(paths.pidFile, { force: true });
}
