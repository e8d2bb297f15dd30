import { existsSync, watch, type FSWatcher } from "node:fs";
import { join } from "node:path";

/** Where Linux keeps the slave end of each pseudo-terminal while it is in use. */
export const PTY_DIR = "/dev/pts";

/**
 * Calls `onFreed` when a pseudo-terminal is freed: its `/dev/pts/N` entry goes away once the last end of it
 * is closed, and inotify says so at once, with no polling. tmux frees a pane's terminal when it sees the
 * pane's process gone, just after libutempter's helper ran with SIGCHLD at its default (see reap-kick.ts):
 * so this is the moment a SIGCHLD tmux lost can be made up for, milliseconds after the death instead of at
 * the next reap kick. Any terminal on the machine counts (a login, another tmux): a kick then costs the
 * server one look at its children. Null where the directory cannot be watched; the reap kick stays the net.
 */
export function watchFreedTerminals(onFreed: () => void, dir: string = PTY_DIR): FSWatcher | null {
  try {
    const watcher = watch(dir, { persistent: false }, (_event, name) => {
      // A new terminal (a pane starting) is an entry that exists: only one that went away is news.
      if (name === null || !existsSync(join(dir, name))) onFreed();
    });
    watcher.on("error", () => {
      watcher.close();
    });
    return watcher;
  } catch {
    return null;
  }
}
