import { existsSync } from "node:fs";
import { ensureDaemonDir } from "./daemon-dir.js";
import type { TownPaths } from "../town/paths.js";
import { flockHolders, lockHeldReadOnly, tryLock, type HeldLock } from "../util/flock.js";
import { sleep } from "../util/sleep.js";
import { readPidFile } from "./pid-file.js";

/**
 * One daemon per town (I6): the daemon holds an exclusive flock on daemon/daemon.lock for its whole life.
 * The PID file is only for display and signalling; a stale one never blocks a start.
 */
export async function acquireDaemonLock(paths: TownPaths): Promise<HeldLock | undefined> {
  ensureDaemonDir(paths);
  // A CLI probing the lock holds it for microseconds; retrying briefly keeps a probe from
  // being mistaken for a running daemon. A real daemon holds it for good.
  for (let attempt = 0; attempt < 10; attempt++) {
    const lock = tryLock(paths.lockFile);
    if (lock !== undefined) return lock;
    await sleep(30);
  }
  return undefined;
}

export interface DaemonProbe {
  running: boolean;
  /** From daemon.pid; undefined when the file is missing or unreadable. */
  pid: number | undefined;
}

/**
 * Is a daemon running in this town? Decided by the lock, not by the PID file. The probe opens the lock file
 * read-only, so it works for a user who may only read the town (`status` as another user); where even that
 * is refused, the kernel's lock table says whether anyone holds it.
 */
export function probeDaemon(paths: TownPaths): DaemonProbe {
  if (!existsSync(paths.lockFile)) return { running: false, pid: undefined };
  let held: boolean;
  try {
    held = lockHeldReadOnly(paths.lockFile);
  } catch {
    held = (flockHolders(paths.lockFile)?.size ?? 0) > 0;
  }
  return held ? { running: true, pid: readPidFile(paths) } : { running: false, pid: undefined };
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
