import { randomInt } from "node:crypto";
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  fsyncSync,
  openSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { AppError, errnoCode, errorMessage } from "../errors.js";

/**
 * Files in daemon/ are the daemon's alone. Anything else that can write in the town (an agent runs as the
 * same user) could put a symbolic link there to make the daemon write, truncate or chmod a file elsewhere,
 * or a FIFO to make it block in open(2). Writes here therefore never follow a link (O_NOFOLLOW on every
 * open, rename over the name for replacements) and never open anything but a regular file.
 */

/**
 * Writes `data` atomically (temp file, fsync, rename) without following a symlink at `file`: the rename
 * replaces the link itself. The temp name `<file>.<uint32>` is the one removeWriteLeftovers cleans up.
 */
export function writeFileAtomicPrivateSync(file: string, data: string | Buffer, mode = 0o600): void {
  const temp = `${file}.${randomInt(2 ** 32)}`;
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const fd = openSync(temp, flags, mode);
  try {
    const buffer = typeof data === "string" ? Buffer.from(data) : data;
    let written = 0;
    while (written < buffer.length) written += writeSync(fd, buffer, written);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(temp, file);
  } catch (error) {
    try {
      closeSync(fd);
    } catch {
      // Already closed above.
    }
    rmSync(temp, { force: true });
    throw error;
  }
}

export function writeJsonPrivateSync(file: string, value: unknown, mode = 0o600): void {
  writeFileAtomicPrivateSync(file, `${JSON.stringify(value, null, 2)}\n`, mode);
}

/**
 * Opens a daemon-owned file for writing (`append`, or `truncate` to start it over) with mode `mode`, also
 * when it already existed with a wider one. A symbolic link there is removed and a regular file created in
 * its place; anything else that is not a regular file (a FIFO, a directory) is refused with one line.
 * Returns the descriptor and whether a link was replaced, so the caller can say so in its log.
 */
export function openPrivateFile(
  file: string,
  how: "append" | "truncate",
  mode = 0o600,
): { fd: number; replacedLink: boolean } {
  const flags =
    constants.O_WRONLY |
    constants.O_CREAT |
    constants.O_NOFOLLOW |
    constants.O_NONBLOCK |
    (how === "append" ? constants.O_APPEND : constants.O_TRUNC);
  let replacedLink = false;
  let fd: number;
  try {
    fd = openSync(file, flags, mode);
  } catch (error) {
    if (errnoCode(error) !== "ELOOP") throw refusal(file, error);
    replacedLink = true;
    unlinkSync(file);
    fd = openSync(file, flags | constants.O_EXCL, mode);
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw refusal(file, undefined);
    if ((stats.mode & 0o777) !== mode) fchmodSync(fd, mode);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return { fd, replacedLink };
}

function refusal(file: string, cause: unknown): AppError {
  const code = errnoCode(cause);
  // O_NONBLOCK makes opening a FIFO without a reader fail with ENXIO instead of blocking.
  const problem =
    cause === undefined || code === "ENXIO" || code === "EISDIR"
      ? "it is not a regular file"
      : errorMessage(cause).replace(/, open '[^']*'$/, "");
  return new AppError("E_UNSAFE_FILE", `Cannot open ${file} for writing: ${problem}`, { cause });
}
