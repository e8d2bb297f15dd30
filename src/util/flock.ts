import { closeSync, constants, fstatSync, openSync } from "node:fs";
import fsExt from "fs-ext";
import { AppError, errnoCode, errorMessage } from "../errors.js";

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
  const fd = openLockFile(path);
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

/**
 * Lock files live where other processes of the user (agents) can write: a symlink there must not make townd
 * create a file elsewhere, and a FIFO must not block it in open(2). Both are refused with one line.
 */
function openLockFile(path: string): number {
  const flags =
    constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW | constants.O_NONBLOCK;
  let fd: number;
  try {
    fd = openSync(path, flags, 0o644);
  } catch (error) {
    const code = errnoCode(error);
    const problem =
      code === "ELOOP"
        ? "it is a symbolic link (remove it)"
        : code === "ENXIO" || code === "EISDIR"
          ? "it is not a regular file (remove it)"
          : errorMessage(error).replace(/, open '[^']*'$/, "");
    throw new AppError("E_LOCK", `Cannot use the lock file ${path}: ${problem}`, { cause: error });
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw new AppError("E_LOCK", `Cannot use the lock file ${path}: it is not a regular file (remove it)`);
  }
  return fd;
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
