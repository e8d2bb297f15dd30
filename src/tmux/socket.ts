import { createHash } from "node:crypto";
import { basename, join, resolve } from "node:path";
import { AppError } from "../errors.js";

/** Unix socket paths longer than this (sun_path is 108 bytes with its NUL) cannot be bound. */
export const MAX_SOCKET_PATH_BYTES = 107;

/**
 * The directory tmux itself uses for `-L` sockets, so `tmux -L <name>` and townd's `-S <path>` agree on
 * where a named socket lives. An empty TMUX_TMPDIR counts as unset, as it does for tmux.
 */
function tmuxSocketDir(env: NodeJS.ProcessEnv, uid: number): string {
  const base = env.TMUX_TMPDIR === undefined || env.TMUX_TMPDIR === "" ? "/tmp" : env.TMUX_TMPDIR;
  return join(base, `tmux-${uid}`);
}

/**
 * One socket per town: a readable prefix from the town directory's name plus a hash of its full path, so
 * two towns with the same directory name never share a tmux server.
 */
export function defaultSocketPath(townRoot: string, env: NodeJS.ProcessEnv, uid: number): string {
  const root = resolve(townRoot);
  const label =
    basename(root)
      .replace(/[^A-Za-z0-9_-]+/g, "_")
      .slice(0, 20) || "town";
  const hash = createHash("sha256").update(root).digest("hex").slice(0, 8);
  return join(tmuxSocketDir(env, uid), `townd-${label}-${hash}`);
}

/**
 * The socket a town's tmux server listens on. `setting` is the town's configured value: a path when it
 * contains "/" (relative to the town root), a bare name in tmux's socket directory, or absent for the
 * default.
 */
export function resolveSocketPath(
  setting: string | undefined,
  townRoot: string,
  env: NodeJS.ProcessEnv,
  uid: number,
): string {
  let path: string;
  if (setting === undefined) {
    path = defaultSocketPath(townRoot, env, uid);
  } else if (setting.includes("/")) {
    path = resolve(townRoot, setting);
  } else if (setting === "" || setting === "." || setting === "..") {
    throw new AppError("E_TMUX_SOCKET", `Tmux socket name "${setting}" is not a usable file name`);
  } else {
    path = join(tmuxSocketDir(env, uid), setting);
  }
  const bytes = Buffer.byteLength(path);
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    throw new AppError(
      "E_TMUX_SOCKET",
      `Tmux socket path is ${bytes} bytes, over the ${MAX_SOCKET_PATH_BYTES}-byte limit for Unix sockets: ${path}`,
    );
  }
  return path;
}
