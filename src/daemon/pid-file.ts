import { rmSync } from "node:fs";
import type { TownPaths } from "../town/paths.js";
import { writeFileAtomicPrivateSync } from "../util/private-file.js";
import { readTextFileSafe } from "../util/safe-read.js";

// Kept apart from state-file.ts (and its schemas) so that `townd status` and other quick commands, which
// only ask whether a daemon runs, do not load zod.

const MAX_PID = 2 ** 31 - 1;

/** The PID file holds the decimal PID with no newline, as the reference writes it (B2). */
export function writePidFile(paths: TownPaths, pid: number): void {
  // Atomic like the state file: a reader never sees an empty pid file.
  writeFileAtomicPrivateSync(paths.pidFile, String(pid), 0o644);
}

/**
 * The recorded PID, or undefined when the file is missing or does not hold a PID (garbage, 0, -1, 2^31).
 * Read without following a link or blocking on a FIFO; an unreadable file gives no PID to go by either (the
 * lock, not this file, says whether a daemon runs).
 */
export function readPidFile(paths: TownPaths): number | undefined {
  let text: string | undefined;
  try {
    text = readTextFileSafe(paths.pidFile, { noFollow: true, maxBytes: 64 });
  } catch {
    return undefined;
  }
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) return undefined;
  const pid = Number(trimmed);
  // Beyond what kill(2) takes (a 32-bit pid_t) a number is no PID: treated like garbage, never an error.
  return pid > 0 && pid <= MAX_PID ? pid : undefined;
}

export function removePidFile(paths: TownPaths): void {
  rmSync(paths.pidFile, { force: true });
}
