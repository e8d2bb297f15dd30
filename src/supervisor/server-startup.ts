import type { Logger } from "../daemon/logger.js";
import type { ServerStart } from "../tmux/client.js";
import { endOrphanedControlClients } from "../tmux/orphan-control.js";
import { serverListening } from "../tmux/server-probe.js";

/**
 * The daemon's first contact with the town's tmux server at its start: ends the control clients a killed
 * daemon left behind (they can keep a stopping server from exiting), makes sure a server runs with
 * townd's settings, and says whether the agents' sessions were lost while no daemon ran. A server that
 * was not listening, or that started during this start-up (one still exiting answers the probe, then is
 * replaced), has none of them: the first pass restores those agents and counts no deaths.
 */
export async function bringUpServer(
  deps: {
    readonly socket: string;
    readonly ensureServer: (signal: AbortSignal) => Promise<ServerStart>;
  },
  log: Logger,
  signal: AbortSignal,
): Promise<{ lostWhileDown: boolean }> {
  const { socket } = deps;
  const ended = endOrphanedControlClients(socket);
  if (ended.length > 0)
    log.warn(
      `Ended ${ended.length} tmux control client(s) a killed daemon left on ${socket} (PIDs ${ended.join(", ")}): they can keep a stopping server from exiting`,
    );
  // tmux keeps the server's start in whole seconds of the system clock (not the daemon's own clock).
  const probedAt = Math.floor(Date.now() / 1000) * 1000;
  // A connect probe, not a tmux command: a stuck server must not hang the start-up here.
  const listening = await serverListening(socket);
  const { replacedExitingServer, startedAt } = await deps.ensureServer(signal);
  const startedNow = startedAt !== null && startedAt >= probedAt;
  return { lostWhileDown: !listening || replacedExitingServer || startedNow };
}
