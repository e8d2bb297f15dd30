import { callApi } from "../api/client.js";
import type { TownPaths } from "../town/paths.js";
import { flockHolders } from "../util/flock.js";
import { sleep } from "../util/sleep.js";
import { probeDaemon } from "./instance.js";
import { readPidFile } from "./pid-file.js";

/**
 * The PID file is only a hint: after a crash the OS may hand its PID to an unrelated process, and a CLI
 * probing the lock holds it for a moment too. A PID is signalled only when the kernel says that very process
 * holds daemon/daemon.lock (/proc/locks), or when the daemon itself names it on its control socket and that
 * process holds the lock.
 */
export type DaemonLookup =
  | { readonly state: "not-running" }
  | { readonly state: "running"; readonly pid: number }
  | {
      readonly state: "unverified";
      /** What daemon.pid says (undefined when missing or not a PID). */
      readonly claimed: number | undefined;
      /** One line: why no PID can be trusted. */
      readonly why: string;
    };

/** The daemon's own word for its PID, from its control socket; undefined when it does not answer. */
async function pidFromApi(paths: TownPaths, timeoutMs: number): Promise<number | undefined> {
  try {
    const status = (await callApi(paths.controlSocket, "GET", "/v1/status", undefined, timeoutMs)) as {
      daemon?: { pid?: unknown };
    };
    const pid = status.daemon?.pid;
    return typeof pid === "number" && Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function lookOnce(paths: TownPaths, apiTimeoutMs: number): Promise<DaemonLookup> {
  if (!probeDaemon(paths).running) return { state: "not-running" };
  const claimed = readPidFile(paths);
  const holders = flockHolders(paths.lockFile);
  if (claimed !== undefined && holders?.has(claimed) === true) return { state: "running", pid: claimed };
  const answered = await pidFromApi(paths, apiTimeoutMs);
  if (answered !== undefined && (holders === undefined || holders.has(answered)))
    return { state: "running", pid: answered };
  const held = holders === undefined || holders.size === 0 ? "" : ` (held by PID ${[...holders].join(", ")})`;
  const why =
    claimed === undefined
      ? `${paths.pidFile} holds no valid PID and no daemon answered on ${paths.controlSocket}`
      : `${paths.pidFile} names PID ${claimed}, which does not hold ${paths.lockFile}${held}; not signalling it`;
  return { state: "unverified", claimed, why };
}

/**
 * Finds the running daemon's PID, verified. A lock held by a process that is not the daemon (a starting
 * daemon before it writes its PID, a CLI probing the lock) is looked at again for a moment before giving up.
 */
export async function findDaemon(
  paths: TownPaths,
  options: { apiTimeoutMs?: number; settleMs?: number } = {},
): Promise<DaemonLookup> {
  const deadline = Date.now() + (options.settleMs ?? 1000);
  for (;;) {
    const found = await lookOnce(paths, options.apiTimeoutMs ?? 2000);
    if (found.state !== "unverified" || Date.now() >= deadline) return found;
    await sleep(100);
  }
}

/** Is `pid` still the process holding the daemon's lock? Checked again right before every later signal. */
export function holdsDaemonLock(paths: TownPaths, pid: number): boolean {
  return flockHolders(paths.lockFile)?.has(pid) ?? true;
}
