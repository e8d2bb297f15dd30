import { rmSync } from "node:fs";
import type { TownPaths } from "../town/paths.js";
import { writeFileAtomicPrivateSync } from "../util/private-file.js";
import { readTextFileSafe } from "../util/safe-read.js";

// Kept apart from state-file.ts (and its schemas) so that `townd status` and other quick commands, which
// only ask whether a daemon runs, do not load zod.

/** The PID file holds the decimal PID with no newline, as the reference writes it (B2). */
export function writePidFile(paths: TownPaths, pid: number): void {
  // Atomic like the state file: a reader never sees an empty pid file.
  writeFileAtomicPrivateSync(paths.pidFile, String(pid), 0o644);
}

/**
 * The recorded PID, or undefined when the file is missing or does not hold a positive integer. Read without
 * following a link or blocking on a FIFO; such a file counts as unreadable (a FileFormatError).
 */
export function readPidFile(paths: TownPaths): number | undefined {
  const text = readTextFileSafe(paths.pidFile, { noFollow: true, maxBytes: 64 });
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) return undefined;
  const pid = Number(trimmed);
  return pid > 0 ? pid : undefined;
}

export function removePidFile(paths: TownPaths): void {
  rmSync(paths.pidFile, { force: true });
}
