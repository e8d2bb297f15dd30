import { killProcessTree } from "../proc/tree.js";
import { TmuxClient } from "../tmux/client.js";
import { prepareSocketDir } from "../tmux/socket-dir.js";
import type { TownPaths } from "../town/paths.js";
import { townTmuxTarget } from "./tmux-socket.js";

/**
 * Ends agents' sessions without a daemon: what `townd down` and `townd stop-agent` do when none runs (a
 * running daemon kills through its planner instead). Only sessions townd labelled with an identity are
 * touched, each as the executor would: its process tree (SIGTERM, `graceMs`, SIGKILL), then the session.
 * Returns the identities whose sessions were ended.
 */
export async function killAgentSessions(
  paths: TownPaths,
  options: { identities?: ReadonlySet<string>; graceMs: number; signal?: AbortSignal },
): Promise<string[]> {
  const { socket, policy } = townTmuxTarget(paths);
  // The server at this socket gets signals and commands: only in a directory that is ours.
  await prepareSocketDir(socket, policy, process.getuid?.() ?? 0);
  const client = new TmuxClient({ socket });
  const call = options.signal === undefined ? {} : { signal: options.signal };
  const snapshot = await client.snapshot(call);
  const panes = snapshot.panes.filter(
    (pane) =>
      pane.identity !== null && (options.identities === undefined || options.identities.has(pane.identity)),
  );
  const ended = await Promise.all(
    panes.map(async (pane) => {
      if (!pane.dead && pane.panePid > 1) {
        await killProcessTree(pane.panePid, { graceMs: options.graceMs, ...call }).catch(() => undefined);
      }
      await client.killSession(pane.session, call).catch(() => undefined);
      return pane.identity ?? "";
    }),
  );
  return [...new Set(ended)];
}
