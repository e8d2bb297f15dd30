import type { Logger } from "../daemon/logger.js";
import type { TmuxClient } from "../tmux/client.js";
import type { TmuxSnapshot } from "../tmux/types.js";
import { sleep } from "../util/sleep.js";
import type { DeathWatch } from "./death-poll.js";

/**
 * The observe stage's first look: every session in one tmux call. All agents gone at once with the server
 * up is most likely a server mid-teardown, so it looks again before counting deaths; a server that is gone
 * (or was lost while no daemon ran) is started again, and its losses are no deaths (`serverRestarted`).
 */
export async function snapshotTown(
  deps: {
    readonly client: Pick<TmuxClient, "snapshot">;
    readonly deathWatch: DeathWatch;
    readonly ensureServer: (signal: AbortSignal) => Promise<unknown>;
  },
  lostWhileDown: boolean,
  log: Logger,
  signal: AbortSignal,
): Promise<{ snapshot: TmuxSnapshot; serverRestarted: boolean }> {
  const { client } = deps;
  let snapshot = await client.snapshot({ signal });
  if (snapshot.serverRunning && deps.deathWatch.allGone(snapshot)) {
    await sleep(250, signal);
    snapshot = await client.snapshot({ signal });
  }
  const serverRestarted = !snapshot.serverRunning || lostWhileDown;
  if (serverRestarted) {
    log.warn("tmux server is not running; starting it");
    await deps.ensureServer(signal);
    snapshot = await client.snapshot({ signal });
  }
  return { snapshot, serverRestarted };
}
