import { readdirSync, readFileSync } from "node:fs";
import { errnoCode } from "../errors.js";
import { isAlive } from "../proc/tree.js";

/** Set in the environment of each daemon's control client (control.ts): the PID of the daemon it serves. */
export const CONTROL_OWNER_ENV = "TOWND_CONTROL_OWNER";

/** An environment block larger than this is no control client of ours (ours is a few kilobytes). */
const MAX_ENVIRON_BYTES = 256 * 1024;

/**
 * Control clients on `socket` whose daemon is gone: tmux control clients (`-C`) started by a townd daemon
 * (they carry CONTROL_OWNER_ENV) other than `self`, whose owner is no longer alive. Such a client normally
 * ends with its daemon; but tmux 3.3a waits for a control client's pending output before it exits, so a
 * `kill-server` that comes right after the daemon died leaves the server half-exited, answering every
 * client "server exited unexpectedly" for as long as the orphan lives.
 */
export function orphanedControlClients(socket: string, self: number = process.pid): number[] {
  const orphans: number[] = [];
  let names: string[];
  try {
    names = readdirSync("/proc");
  } catch {
    return orphans;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const owner = ownerOf(pid);
    if (owner === undefined || owner === self || isAlive(owner)) continue;
    if (isControlClientOn(pid, socket)) orphans.push(pid);
  }
  return orphans;
}

/** Ends the orphaned control clients on `socket` (SIGKILL: they hold nothing worth a clean exit). */
export function endOrphanedControlClients(socket: string, self: number = process.pid): number[] {
  const ended: number[] = [];
  for (const pid of orphanedControlClients(socket, self)) {
    try {
      process.kill(pid, "SIGKILL");
      ended.push(pid);
    } catch (error) {
      // ESRCH: it ended on its own meanwhile.
      if (errnoCode(error) !== "ESRCH") throw error;
    }
  }
  return ended;
}

/** The owner PID in a process's environment; undefined when unreadable (another user's) or absent. */
function ownerOf(pid: number): number | undefined {
  let environ: Buffer;
  try {
    environ = readFileSync(`/proc/${pid}/environ`);
  } catch {
    return undefined;
  }
  if (environ.length > MAX_ENVIRON_BYTES) return undefined;
  const prefix = `${CONTROL_OWNER_ENV}=`;
  for (const entry of environ.toString("utf8").split("\0")) {
    if (!entry.startsWith(prefix)) continue;
    const owner = Number(entry.slice(prefix.length));
    return Number.isSafeInteger(owner) && owner > 0 ? owner : undefined;
  }
  return undefined;
}

/** Whether `pid` runs `tmux … -S <socket> … -C …` (its environment alone could have been inherited). */
function isControlClientOn(pid: number, socket: string): boolean {
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return false;
  }
  const at = argv.indexOf("-S");
  return at >= 0 && argv[at + 1] === socket && argv.includes("-C");
}
