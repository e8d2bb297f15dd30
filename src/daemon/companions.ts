import { join } from "node:path";
import { ConvoyWatcher } from "../convoy/watcher.js";
import { errorMessage } from "../errors.js";
import { FeedCurator } from "../feed/curator.js";
import type { TownPaths } from "../town/paths.js";
import type { Logger } from "./logger.js";

/** What runs beside the passes for as long as the daemon does (reference §4 steps 7–8, B9). */
export interface Companions {
  stop(): Promise<void>;
}

/**
 * Starts the feed curator and the convoy watcher. Neither can stop the daemon: a curator that cannot start
 * is logged and left off, and the watcher turns itself off without `bd`.
 */
export function startCompanions(paths: TownPaths, log: Logger): Companions {
  const curator = new FeedCurator({
    townRoot: paths.root,
    stateFile: join(paths.daemonDir, "feed-curator.json"),
    log,
  });
  let curating = false;
  try {
    curator.start();
    curating = true;
    log.info("Feed curator started");
  } catch (error) {
    log.warn(`Feed curator not started: ${errorMessage(error)}`);
  }
  const watcher = new ConvoyWatcher({ townRoot: paths.root, log });
  const watching = watcher.start();
  return {
    stop: async () => {
      if (curating) {
        await curator.stop();
        log.info("Feed curator stopped");
      }
      if (watching) {
        await watcher.stop();
        log.info("Convoy watcher stopped");
      }
    },
  };
}
