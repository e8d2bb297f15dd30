import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { z } from "zod";
import type { TownPaths } from "../town/paths.js";
import { deaconHeartbeatSchema } from "../town/schemas.js";
import { readJsonIfExists } from "../util/json-file.js";
import { writeJsonPrivateSync } from "../util/private-file.js";

/** Heartbeats of agents other than the Deacon (which keeps the reference's deacon/heartbeat.json). */
export function heartbeatFile(paths: TownPaths, role: string, session: string): string {
  return role === "deacon" ? paths.deaconHeartbeat : join(paths.daemonDir, "heartbeats", `${session}.json`);
}

/** The heartbeat's time, or null when the file is missing, unreadable or invalid (no heartbeat). */
export function readHeartbeatAt(file: string): number | null {
  try {
    const beat = readJsonIfExists(file, deaconHeartbeatSchema);
    if (beat === undefined) return null;
    const at = Date.parse(beat.timestamp);
    return Number.isNaN(at) ? null : at;
  } catch {
    return null;
  }
}

const looseBeat = z.looseObject({ cycle: z.number().int().optional() });

/** Writes a heartbeat in the reference format (§14): cycle continues from the previous file (B122). */
export function touchHeartbeat(file: string, action: string | undefined, now: Date): Promise<number> {
  let cycle = 1;
  try {
    cycle = (readJsonIfExists(file, looseBeat)?.cycle ?? 0) + 1;
  } catch {
    cycle = 1;
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeJsonPrivateSync(file, {
    timestamp: now.toISOString(),
    cycle,
    ...(action === undefined ? {} : { last_action: action }),
    healthy_agents: 0,
    unhealthy_agents: 0,
  });
  return Promise.resolve(cycle);
}
