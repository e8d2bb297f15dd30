import {
  closeSync,
  constants,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  lstatSync,
  openSync,
  readSync,
  writeSync,
} from "node:fs";
import { AppError, errnoCode, errorMessage } from "../errors.js";
import { writeFileAtomicPrivateSync } from "../util/private-file.js";

/**
 * `.feed.jsonl`, the curated feed in the town root. Agents can write in the town too, so it is never opened
 * through a symbolic link (a link there is an error, not followed) and must be a regular file.
 */

/** The reference curator keeps the feed under 10 MB by dropping its older half. */
export const MAX_FEED_BYTES = 10 * 1024 * 1024;

/** The feed's size; 0 when it does not exist. */
export function feedSize(file: string): number {
  try {
    return lstatSync(file).size;
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return 0;
    throw error;
  }
}

function openFeed(file: string): number {
  const flags =
    constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW | constants.O_NONBLOCK;
  let fd: number;
  try {
    fd = openSync(file, flags, 0o644);
  } catch (error) {
    const why = errnoCode(error) === "ELOOP" ? "it is a symbolic link" : errorMessage(error);
    throw new AppError("E_FEED", `Cannot write ${file}: ${why}`, { cause: error });
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw new AppError("E_FEED", `Cannot write ${file}: it is not a regular file`);
  }
  return fd;
}

/**
 * Appends `data` so that it follows exactly `sizeBefore` bytes: a file already longer than that by a torn
 * earlier append (shorter than `data`) is cut back first. Synced before returning, so a batch marked done
 * in the curator's state is on disk.
 */
export function appendFeed(file: string, data: string, sizeBefore: number): void {
  const bytes = Buffer.from(data);
  const fd = openFeed(file);
  try {
    const size = fstatSync(fd).size;
    if (size === sizeBefore + bytes.length) return;
    if (size > sizeBefore && size < sizeBefore + bytes.length) ftruncateSync(fd, sizeBefore);
    else if (size > sizeBefore) return;
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Past `maxBytes`, keeps the newest half (whole lines), replacing the file atomically. */
export function capFeed(file: string, maxBytes = MAX_FEED_BYTES): boolean {
  const size = feedSize(file);
  if (size <= maxBytes) return false;
  const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  let kept: Buffer;
  try {
    const start = size - Math.floor(size / 2);
    const buffer = Buffer.alloc(size - start);
    let read = 0;
    while (read < buffer.length) {
      const n = readSync(fd, buffer, read, buffer.length - read, start + read);
      if (n === 0) break;
      read += n;
    }
    const firstLine = buffer.indexOf(0x0a);
    kept = firstLine < 0 ? Buffer.alloc(0) : buffer.subarray(firstLine + 1, read);
  } finally {
    closeSync(fd);
  }
  writeFileAtomicPrivateSync(file, kept, 0o644);
  return true;
}
