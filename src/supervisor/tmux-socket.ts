import { readJsonIfExists } from "../util/json-file.js";
import { resolveSocketPath } from "../tmux/socket.js";
import { socketDirPolicy, type SocketDirPolicy } from "../tmux/socket-dir.js";
import type { TownPaths } from "../town/paths.js";
import { settingsSchema } from "../town/schemas.js";

/** The town's tmux socket and how its directory must look (see SocketDirPolicy). */
export function townTmuxTarget(
  paths: TownPaths,
  env: NodeJS.ProcessEnv = process.env,
): { socket: string; policy: SocketDirPolicy } {
  const setting = readJsonIfExists(paths.settingsJson, settingsSchema)?.tmux?.socket;
  return {
    socket: resolveSocketPath(setting, paths.root, env, process.getuid?.() ?? 0),
    policy: socketDirPolicy(setting),
  };
}

/** The town's tmux socket: `tmux.socket` in settings/config.json, else one derived from the town. */
export function townTmuxSocket(paths: TownPaths, env: NodeJS.ProcessEnv = process.env): string {
  return townTmuxTarget(paths, env).socket;
}
