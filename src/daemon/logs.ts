import { closeSync, existsSync, fstatSync, readSync, statSync } from "node:fs";
import { assertReadableDir } from "./dir-access.js";
import { AppError } from "../errors.js";
import { openRegularFileSafe } from "../util/safe-read.js";
import { sleep } from "../util/sleep.js";
import { tailLines } from "./control.js";
import { formatLogLine } from "./log-format.js";
import { visible } from "../cli/safe-text.js";

/** A log line for the terminal: its messages quote agents' text, so control characters are made visible. */
function show(line: string, raw: boolean): string {
  return visible(raw ? line : formatLogLine(line));
}

/** The last `lines` lines of the log, reaching back into rotated files (.1, .2, …) when the current one is short. */
export function printLogTail(file: string, lines: number, raw: boolean, out: (line: string) => void): void {
  assertReadableDir(file);
  if (!existsSync(file)) throw new AppError("E_NO_LOG", `No log file at ${file} (has the daemon ever run?)`);
  let collected: string[] = [];
  for (let generation = 0; collected.length < lines; generation++) {
    const path = generation === 0 ? file : `${file}.${generation}`;
    if (generation > 0 && !existsSync(path)) break;
    collected = [...tailLines(path, lines - collected.length), ...collected];
  }
  for (const line of collected) out(show(line, raw));
}

/** The log opened for reading: a regular file, never a FIFO (which would block) or a link. */
function openLog(file: string): number {
  const opened = openRegularFileSafe(file, { noFollow: true });
  if (opened === undefined) throw new AppError("E_NO_LOG", `No log file at ${file}`);
  return opened.fd;
}

/**
 * Prints lines appended to `file` until the signal aborts. Follows rotation like `tail -F`: the open file is
 * read to its end before switching to the new one, so no line written just before a rotation is lost.
 */
export async function followLog(
  file: string,
  raw: boolean,
  out: (line: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  let fd = openLog(file);
  let offset = fstatSync(fd).size;
  let partial = "";
  const buffer = Buffer.alloc(64 * 1024);
  const drain = (): void => {
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, offset);
      if (n === 0) break;
      offset += n;
      partial += buffer.subarray(0, n).toString("utf8");
    }
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) out(show(line, raw));
  };
  try {
    while (signal?.aborted !== true) {
      drain();
      await sleep(200, signal).catch(() => undefined);
      let current;
      try {
        current = statSync(file);
      } catch {
        continue; // Between the rename and the new file's creation.
      }
      if (current.ino !== fstatSync(fd).ino) {
        drain();
        closeSync(fd);
        fd = openLog(file);
        offset = 0;
        partial = "";
      } else if (current.size < offset) {
        offset = 0; // Truncated in place.
      }
    }
  } finally {
    closeSync(fd);
  }
}
