import { callApi } from "../api/client.js";
import type { TownPaths } from "../town/paths.js";
import { findDaemon } from "./find-daemon.js";
import { probeDaemon } from "./instance.js";

export type NudgeOutcome =
  | { readonly outcome: "api" | "signal"; readonly pid: number | undefined }
  | { readonly outcome: "not-running" }
  | { readonly outcome: "unverified"; readonly why: string };

/**
 * Asks the running daemon to act now (`/v1/wake`: run a pass; `/v1/reload`: re-read the config). The control
 * socket comes first, since it needs no PID; only when it does not answer is the daemon signalled, and then
 * only a PID verified to hold the town's lock (see find-daemon.ts).
 */
export async function nudgeDaemon(
  paths: TownPaths,
  route: "/v1/wake" | "/v1/reload",
  signal: "SIGUSR1" | "SIGHUP",
): Promise<NudgeOutcome> {
  if (!probeDaemon(paths).running) return { outcome: "not-running" };
  try {
    const answer = (await callApi(paths.controlSocket, "POST", route, {}, 2000)) as { pid?: unknown };
    return { outcome: "api", pid: typeof answer.pid === "number" ? answer.pid : undefined };
  } catch {
    // Not answering (no API, a stale socket, a stopped or dying process): try a verified signal instead.
  }
  const found = await findDaemon(paths, { apiTimeoutMs: 500 });
  switch (found.state) {
    case "not-running":
      return { outcome: "not-running" };
    case "unverified":
      return { outcome: "unverified", why: found.why };
    case "running":
      process.kill(found.pid, signal);
      return { outcome: "signal", pid: found.pid };
  }
}
