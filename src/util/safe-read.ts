import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from "node:fs";
import { FileFormatError, errnoCode, errorMessage } from "../errors.js";

/** The most a config, state or request file may hold; every one of them is a few kilobytes at most. */
export const MAX_READ_BYTES = 1024 * 1024;

export interface SafeReadOptions {
  /** Refuse a symbolic link instead of following it (files in daemon/, which only townd writes). */
  noFollow?: boolean;
  maxBytes?: number;
}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return "a directory";
  if (stats.isFIFO()) return "a FIFO";
  if (stats.isSocket()) return "a socket";
  if (stats.isCharacterDevice()) return "a character device";
  if (stats.isBlockDevice()) return "a block device";
  return "not a regular file";
}

function describeOpenError(error: unknown, noFollow: boolean): string {
  // O_NOFOLLOW on a symlink fails with ELOOP; say what it means.
  if (noFollow && errnoCode(error) === "ELOOP")
    return "it is a symbolic link, which townd does not follow here";
  return errorMessage(error).replace(/, open '[^']*'$/, "");
}

/**
 * Opens a file that someone other than townd (an agent, a user, a script) can write, for reading, without
 * trusting it: non-blocking (a FIFO must not hang the daemon in open(2)) and checked with fstat on the open
 * descriptor (no race between check and use) to be a regular file. Returns the descriptor and its size, or
 * undefined when the file does not exist; any other problem is a one-line FileFormatError naming the file.
 */
export function openRegularFileSafe(
  file: string,
  options: Pick<SafeReadOptions, "noFollow"> = {},
): { fd: number; size: number } | undefined {
  const noFollow = options.noFollow === true;
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | (noFollow ? constants.O_NOFOLLOW : 0);
  let fd: number;
  try {
    fd = openSync(file, flags);
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return undefined;
    throw new FileFormatError(file, `cannot read: ${describeOpenError(error, noFollow)}`, { cause: error });
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) {
      throw new FileFormatError(file, `cannot read: it is ${kindOf(stats)}, not a regular file`);
    }
    return { fd, size: stats.size };
  } catch (error) {
    closeSync(fd);
    if (error instanceof FileFormatError) throw error;
    throw new FileFormatError(file, `cannot read: ${errorMessage(error)}`, { cause: error });
  }
}

/**
 * openRegularFileSafe, then reads at most `maxBytes` (a symlink to /dev/zero or a huge file must not
 * exhaust memory). Returns the raw bytes, or undefined when the file does not exist.
 */
export function readFileBytesSafe(file: string, options: SafeReadOptions = {}): Buffer | undefined {
  const maxBytes = options.maxBytes ?? MAX_READ_BYTES;
  const opened = openRegularFileSafe(file, options);
  if (opened === undefined) return undefined;
  const { fd, size } = opened;
  try {
    if (size > maxBytes) throw tooBig(file, maxBytes);
    // The size can change between fstat and the reads (a writer still appending): never read past the cap.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.alloc(Math.min(Math.max(size - total, 0) + 1, maxBytes + 1 - total, 65_536));
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      chunks.push(chunk.subarray(0, read));
      total += read;
      if (total > maxBytes) throw tooBig(file, maxBytes);
    }
    return Buffer.concat(chunks, total);
  } catch (error) {
    if (error instanceof FileFormatError) throw error;
    throw new FileFormatError(file, `cannot read: ${errorMessage(error)}`, { cause: error });
  } finally {
    closeSync(fd);
  }
}

function tooBig(file: string, maxBytes: number): FileFormatError {
  return new FileFormatError(file, `cannot read: it is over the size limit of ${maxBytes} bytes`);
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** readFileBytesSafe as text; bytes that are not valid UTF-8 are refused, never silently replaced. */
export function readTextFileSafe(file: string, options: SafeReadOptions = {}): string | undefined {
  const bytes = readFileBytesSafe(file, options);
  if (bytes === undefined) return undefined;
  try {
    return utf8.decode(bytes);
  } catch {
    throw new FileFormatError(file, "is not valid UTF-8 text");
  }
}
