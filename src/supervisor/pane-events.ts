import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  lstatSync,
  openSync,
  watch,
  type FSWatcher,
} from "node:fs";
import type { Logger } from "../daemon/logger.js";
import { openPrivateFile } from "../util/private-file.js";

/** daemon/pane-events is cut back to nothing once it is larger than this (about 10,000 deaths). */
export const PANE_EVENTS_MAX_BYTES = 64 * 1024;

/**
 * Deaths arrive from tmux's pane-died hook as lines appended to daemon/pane-events (see pane-died-hook.ts);
 * any change to the file triggers a pass, and the pass looks at every pane. The lines are never read: the
 * file is only a wake-up signal.
 */
export function watchPaneEvents(file: string, log: Logger, onChange: () => void): FSWatcher {
  const events = openPrivateFile(file, "append");
  closeSync(events.fd);
  if (events.replacedLink) log.warn(`Replaced the symbolic link ${file} by a file`);
  return watch(file, { persistent: false }, onChange);
}

/**
 * Empties the file once it is over `maxBytes`, in place: the watch follows the file (its inode), so it must
 * stay the same file, and the hook's `>>` appends at the new end. A death appended just before the cut has
 * already woken the daemon. Returns true when it cut. A link is left alone, never followed; a problem is
 * the caller's to log.
 */
export function trimPaneEvents(file: string, maxBytes = PANE_EVENTS_MAX_BYTES): boolean {
  // Looked at first, so a small file (the usual case) or a read-only daemon/ costs no open for writing.
  const seen = lstatSync(file, { throwIfNoEntry: false });
  if (seen === undefined || !seen.isFile() || seen.size <= maxBytes) return false;
  const fd = openSync(file, constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile() || stats.size <= maxBytes) return false;
    ftruncateSync(fd, 0);
    return true;
  } finally {
    closeSync(fd);
  }
}
