import { closeSync, openSync } from "node:fs";
import fsExt from "fs-ext";
import { errnoCode } from "../errors.js";

/** An flock(2) held on an open file; the kernel drops it when the process dies, so it never goes stale. */
export interface HeldLock {
  readonly path: string;
  release(): void;
}

/**
 * Tries once to take an exclusive flock on `path` (created if missing). Returns undefined when another
 * open file holds it. Interoperates with util-linux `flock` and Go's gofrs/flock.
 */
export function tryLock(path: string): HeldLock | undefined {
  const fd = openSync(path, "a", 0o644);
  try {
    fsExt.flockSync(fd, "exnb");
  } catch (error) {
    closeSync(fd);
    const code = errnoCode(error);
    if (code === "EAGAIN" || code === "EWOULDBLOCK") return undefined;
    throw error;
  }
  let held = true;
  return {
    path,
    release: () => {
      if (!held) return;
      held = false;
      try {
        fsExt.flockSync(fd, "un");
      } finally {
        closeSync(fd);
      }
    },
  };
}

/** Runs `fn` while holding the lock, waiting up to `timeoutMs` for it. */
export async function withLock<T>(path: string, timeoutMs: number, fn: () => T | Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lock = tryLock(path);
  while (lock === undefined) {
    if (Date.now() > deadline) throw new Error(`Cannot lock ${path}: still held after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    lock = tryLock(path);
  }
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
