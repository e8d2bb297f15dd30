import { mkdirSync, watch, type FSWatcher } from "node:fs";
import type { TownPaths } from "../town/paths.js";

/**
 * Calls `onChange` (debounced) when a config file in the town may have changed. Watching directories,
 * not files, because editors and atomic writers replace files by rename.
 */
export function watchConfig(paths: TownPaths, onChange: () => void, debounceMs = 200): () => void {
  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  const fire = (): void => {
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  };
  // The wisp directory appears with the first park or dock: create it so that park is seen at once.
  try {
    mkdirSync(paths.wispConfigDir, { recursive: true });
  } catch {
    // Read-only town: the heartbeat and SIGHUP still reload.
  }
  for (const dir of [paths.mayorDir, paths.settingsDir, paths.wispConfigDir]) {
    try {
      const watcher = watch(dir, { persistent: false }, (_event, name) => {
        if (name === null || name.endsWith(".json")) fire();
      });
      watcher.on("error", () => {
        watcher.close();
      });
      watchers.push(watcher);
    } catch {
      // A directory that does not exist yet (no rig parked so far): SIGHUP and the heartbeat still reload.
    }
  }
  return () => {
    clearTimeout(timer);
    for (const watcher of watchers) watcher.close();
  };
}
