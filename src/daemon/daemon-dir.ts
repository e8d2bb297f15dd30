import { chmodSync, lstatSync, mkdirSync, statSync, unlinkSync } from "node:fs";
import { basename } from "node:path";
import { AppError, errnoCode } from "../errors.js";
import type { TownPaths } from "../town/paths.js";

/**
 * daemon/ holds the store (mail, events), the logs and the control socket: owner-only (0700), so other
 * users on the machine can read none of it. Made so when missing, and put right on an existing town (one
 * created 0755 by an older townd). Returns the mode it had when that was wider, for the daemon's log.
 */
export function ensureDaemonDir(paths: TownPaths): number | undefined {
  const dir = paths.daemonDir;
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if (errnoCode(error) !== "EEXIST") throw error;
  }
  const stats = statSync(dir);
  if (!stats.isDirectory()) {
    throw new AppError("E_DAEMON_DIR", `${dir} is not a directory`);
  }
  const mode = stats.mode & 0o777;
  if ((mode & 0o077) === 0) return undefined;
  chmodSync(dir, mode & 0o700);
  return mode;
}

/**
 * The files only the daemon (and townd's CLI) writes in daemon/. Not the lock (a running daemon may hold it;
 * tryLock refuses a link there) nor the store (openDb refuses a link rather than start an empty one).
 */
export function daemonOwnedFiles(paths: TownPaths, logMaxFiles: number): string[] {
  return [
    paths.stateFile,
    paths.agentsFile,
    paths.pidFile,
    paths.startupLog,
    paths.logFile,
    ...Array.from({ length: Math.max(0, logMaxFiles) }, (_, i) => `${paths.logFile}.${i + 1}`),
    paths.paneEventsFile,
    `${paths.storeFile}-wal`,
    `${paths.storeFile}-shm`,
  ];
}

/**
 * Removes what must not stand where the daemon writes: a symbolic link (writes would land outside the town,
 * a chmod would change the target) or a FIFO, socket or device (an open would block or misbehave). Only
 * the names are removed, never what a link points to. Regular files and directories are left alone (a
 * directory makes the write that meets it fail with a clear error). Returns one line per removal.
 */
export function removeUnsafeDaemonFiles(files: readonly string[]): string[] {
  const removed: string[] = [];
  for (const file of files) {
    let what: string;
    try {
      const stats = lstatSync(file);
      if (stats.isFile() || stats.isDirectory()) continue;
      what = stats.isSymbolicLink() ? "a symbolic link" : "not a regular file";
    } catch (error) {
      if (errnoCode(error) === "ENOENT") continue;
      throw error;
    }
    try {
      unlinkSync(file);
    } catch (error) {
      if (errnoCode(error) === "ENOENT") continue;
      throw error;
    }
    removed.push(`daemon/${basename(file)} was ${what}; removed it (townd never writes through one)`);
  }
  return removed;
}
