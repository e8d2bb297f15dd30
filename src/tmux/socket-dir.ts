import { lstat, mkdir, stat } from "node:fs/promises";
import type { Stats } from "node:fs";
import { dirname } from "node:path";
import { AppError, errnoCode } from "../errors.js";

/**
 * How a town's socket directory must look before townd starts or talks to a tmux server there:
 * - `private`: tmux's own socket directory ($TMUX_TMPDIR/tmux-$UID), for the default socket and a bare-name
 *   setting. As tmux itself demands: a real directory (not a symlink), owned by us, no group or other access.
 * - `owned`: the parent directory of a socket path from the settings. It may be shared (e.g. /run/user/…)
 *   but must belong to us or root, and nobody else may create or replace entries in it (not group- or
 *   other-writable, unless sticky like /tmp); a socket already there must be ours.
 * Anyone who controls the directory controls which server townd sends the agents' commands and
 * environment to, so anything else is refused.
 */
export type SocketDirPolicy = "private" | "owned";

export function socketDirPolicy(setting: string | undefined): SocketDirPolicy {
  return setting?.includes("/") === true ? "owned" : "private";
}

function refuse(dir: string, problem: string): AppError {
  return new AppError("E_TMUX_SOCKET_DIR", `Unsafe tmux socket directory ${dir}: ${problem}`);
}

const octal = (stats: Stats): string => `0${(stats.mode & 0o7777).toString(8)}`;

/**
 * Creates the socket's directory (mode 0700) when it is missing, then checks it as `policy` says. Throws a
 * one-line AppError naming the directory and the problem.
 */
export async function prepareSocketDir(socket: string, policy: SocketDirPolicy, uid: number): Promise<void> {
  const dir = dirname(socket);
  if (policy === "private") {
    await mkdir(dirname(dir), { recursive: true });
    try {
      await mkdir(dir, { mode: 0o700 });
    } catch (error) {
      if (errnoCode(error) !== "EEXIST") throw error;
    }
    const stats = await lstat(dir);
    if (stats.isSymbolicLink()) throw refuse(dir, "it is a symbolic link");
    if (!stats.isDirectory()) throw refuse(dir, "it is not a directory");
    if (stats.uid !== uid) throw refuse(dir, `it is owned by uid ${stats.uid}, not by uid ${uid}`);
    if ((stats.mode & 0o077) !== 0)
      throw refuse(dir, `its mode is ${octal(stats)}; it must give group and others no access (chmod 700)`);
    return;
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const stats = await stat(dir);
  if (!stats.isDirectory()) throw refuse(dir, "it is not a directory");
  if (stats.uid !== uid && stats.uid !== 0)
    throw refuse(dir, `it is owned by uid ${stats.uid}, not by uid ${uid} or root`);
  if ((stats.mode & 0o022) !== 0 && (stats.mode & 0o1000) === 0)
    throw refuse(dir, `its mode is ${octal(stats)}: others can replace the socket in it`);
  let socketStats: Stats;
  try {
    socketStats = await lstat(socket);
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return;
    throw error;
  }
  if (socketStats.uid !== uid)
    throw refuse(dir, `the socket ${socket} in it is owned by uid ${socketStats.uid}, not by uid ${uid}`);
}
