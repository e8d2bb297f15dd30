import { closeSync, constants, fstatSync, openSync, readFileSync, statSync } from "node:fs";
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

/** Is the flock on an existing `path` held by another open file? Needs only read access. */
export function lockHeldReadOnly(path: string): boolean {
  // Never follow a planted link or block on a FIFO here either.
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    fsExt.flockSync(fd, "exnb");
    fsExt.flockSync(fd, "un");
    return false;
  } catch (error) {
    const code = errnoCode(error);
    if (code === "EAGAIN" || code === "EWOULDBLOCK") return true;
    throw error;
  } finally {
    closeSync(fd);
  }
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

/**
 * PIDs holding an flock on `file`, from /proc/locks (matched by inode); undefined where /proc/locks cannot
 * be read (not Linux), so callers fall back to asking the daemon.
 */
export function flockHolders(file: string): Set<number> | undefined {
  let inode: bigint;
  let text: string;
  try {
    inode = statSync(file, { bigint: true }).ino;
    text = readFileSync("/proc/locks", "utf8");
  } catch {
    return undefined;
  }
  const holders = new Set<number>();
  for (const line of text.split("\n")) {
    // "1: FLOCK  ADVISORY  WRITE 4755 fe:00:2146871 0 EOF"; waiters are marked "->" and hold nothing.
    const match = /^\d+:\s+FLOCK\s+\S+\s+\S+\s+(\d+)\s+[0-9a-f]+:[0-9a-f]+:(\d+)\s/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined && BigInt(match[2]) === inode)
      holders.add(Number(match[1]));
  }
  return holders;
}
