import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { AppError } from "../errors.js";
import { sleep } from "../util/sleep.js";
import { tailLines } from "./control.js";
import { formatLogLine } from "./log-format.js";

export function printLogTail(file: string, lines: number, raw: boolean, out: (line: string) => void): void {
  if (!existsSync(file)) throw new AppError("E_NO_LOG", `No log file at ${file} (has the daemon ever run?)`);
  for (const line of tailLines(file, lines)) out(raw ? line : formatLogLine(line));
}

/** Prints lines appended to `file` until the signal aborts; follows rotation (a new inode or a shorter file). */
export async function followLog(
  file: string,
  raw: boolean,
  out: (line: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  let { ino, size: offset } = statSync(file);
  let partial = "";
  const buffer = Buffer.alloc(64 * 1024);
  while (signal?.aborted !== true) {
    await sleep(200, signal).catch(() => undefined);
    let stat;
    try {
      stat = statSync(file);
    } catch {
      continue;
    }
    if (stat.ino !== ino || stat.size < offset) {
      ino = stat.ino;
      offset = 0;
      partial = "";
    }
    if (stat.size === offset) continue;
    const fd = openSync(file, "r");
    try {
      for (;;) {
        const n = readSync(fd, buffer, 0, buffer.length, offset);
        if (n === 0) break;
        offset += n;
        partial += buffer.subarray(0, n).toString("utf8");
      }
    } finally {
      closeSync(fd);
    }
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) out(raw ? line : formatLogLine(line));
  }
}
