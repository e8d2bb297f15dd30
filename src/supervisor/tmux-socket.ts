import { readJsonIfExists } from "../util/json-file.js";
import { resolveSocketPath } from "../tmux/socket.js";
import type { TownPaths } from "../town/paths.js";
import { settingsSchema } from "../town/schemas.js";

/** The town's tmux socket: `tmux.socket` in settings/config.json, else one derived from the town. */
export function townTmuxSocket(paths: TownPaths, env: NodeJS.ProcessEnv = process.env): string {
  const settings = readJsonIfExists(paths.settingsJson, settingsSchema);
  return resolveSocketPath(settings?.tmux?.socket, paths.root, env, process.getuid?.() ?? 0);
}
