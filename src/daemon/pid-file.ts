import { readFileSync, rmSync } from "node:fs";
import writeFileAtomic from "write-file-atomic";
import { errnoCode } from "../errors.js";
import type { TownPaths } from "../town/paths.js";

// Kept apart from state-file.ts (and its schemas) so that `townd status` and other quick commands, which
// only ask whether a daemon runs, do not load zod.

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
