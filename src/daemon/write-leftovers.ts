import { readdirSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import { errnoCode } from "../errors.js";

/**
 * An atomic write goes through `<file>.<uint32>` (write-file-atomic's temp name) and a rename. A daemon
 * killed with SIGKILL between the two leaves the temp file behind; over weeks of restarts they pile up in
 * daemon/. Only the daemon writes these files, and only while it holds the lock, so once the lock is held
 * any such file is a leftover. Returns the names removed.
 */
export function removeWriteLeftovers(files: readonly string[]): string[] {
  const byDir = new Map<string, Set<string>>();
  for (const file of files) {
    const dir = join(file, "..");
    byDir.set(dir, (byDir.get(dir) ?? new Set()).add(basename(file)));
  }
  const removed: string[] = [];
  for (const [dir, names] of byDir) {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch (error) {
      if (errnoCode(error) === "ENOENT") continue;
      throw error;
    }
    for (const entry of entries) {
      const match = /^(.+)\.\d{1,10}$/.exec(entry);
      if (match?.[1] === undefined || !names.has(match[1])) continue;
      rmSync(join(dir, entry), { force: true });
      removed.push(entry);
    }
  }
  return removed.sort();
}
