import type { Logger } from "../daemon/logger.js";
import { AppError, errorMessage } from "../errors.js";
import { TmuxClient } from "../tmux/client.js";
import type { TownConfig } from "../town/config.js";
import { readJsonIfExists } from "../util/json-file.js";
import { resolveSocketPath } from "../tmux/socket.js";
import { socketDirPolicy, type SocketDirPolicy } from "../tmux/socket-dir.js";
import type { TownPaths } from "../town/paths.js";
import { settingsSchema } from "../town/schemas.js";

/** The socket a `tmux.socket` setting names (or the one derived from the town), and its directory's policy. */
function tmuxTarget(
  setting: string | undefined,
  paths: TownPaths,
  env: NodeJS.ProcessEnv,
): { socket: string; policy: SocketDirPolicy } {
  return {
    socket: resolveSocketPath(setting, paths.root, env, process.getuid?.() ?? 0),
    policy: socketDirPolicy(setting),
  };
}

/** The town's tmux socket and how its directory must look (see SocketDirPolicy). */
export function townTmuxTarget(
  paths: TownPaths,
  env: NodeJS.ProcessEnv = process.env,
): { socket: string; policy: SocketDirPolicy } {
  return tmuxTarget(readJsonIfExists(paths.settingsJson, settingsSchema)?.tmux?.socket, paths, env);
}

/** The town's tmux socket: `tmux.socket` in settings/config.json, else one derived from the town. */
export function townTmuxSocket(paths: TownPaths, env: NodeJS.ProcessEnv = process.env): string {
  return townTmuxTarget(paths, env).socket;
}

/**
 * The daemon's client of the town's tmux server, from the config the daemon already loaded (a broken
 * settings file keeps its last good or default socket), with tmux's version: no tmux is a clear error.
 */
export async function connectTownTmux(
  paths: TownPaths,
  config: TownConfig,
  log: Logger,
  signal: AbortSignal,
): Promise<{ client: TmuxClient; socket: string; version: string }> {
  const { socket, policy } = tmuxTarget(config.settings.tmux?.socket, paths, process.env);
  const client = new TmuxClient({
    socket,
    socketDir: { policy, uid: process.getuid?.() ?? 0 },
    persistent: true,
  });
  try {
    const version = await client.version({ signal });
    log.info({ socket }, `Using ${version} on socket ${socket}`);
    return { client, socket, version };
  } catch (error) {
    throw new AppError("E_NO_TMUX", `Cannot supervise agents: ${errorMessage(error)}`, { cause: error });
  }
}
