import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { z } from "zod";
import type { TownPaths } from "../town/paths.js";
import { deaconHeartbeatSchema } from "../town/schemas.js";
import { errorMessage } from "../errors.js";
import { readJsonIfExists } from "../util/json-file.js";
import { writeJsonPrivateSync } from "../util/private-file.js";

/** Heartbeats of agents other than the Deacon (which keeps the reference's deacon/heartbeat.json). */
export function heartbeatFile(paths: TownPaths, role: string, session: string): string {
  return role === "deacon" ? paths.deaconHeartbeat : join(paths.daemonDir, "heartbeats", `${session}.json`);
}

/**
 * The heartbeat's time, or null when the file is missing, unreadable or invalid (no heartbeat). The agent
 * writes this file, so it may be anything (a FIFO, a link to /dev/zero): the safe reader refuses those at
 * once, and `onProblem` hears why the file could not be used.
 */
export function readHeartbeatAt(file: string, onProblem?: (message: string) => void): number | null {
  return readHeartbeat(file, onProblem)?.at ?? null;
}

/** A heartbeat's wall-clock time and what tells one beat from the next (its timestamp and cycle). */
export interface Heartbeat {
  readonly at: number;
  readonly key: string;
}

/** The heartbeat, as readHeartbeatAt reads it, with the key that changes with every new beat. */
export function readHeartbeat(file: string, onProblem?: (message: string) => void): Heartbeat | null {
  try {
    const beat = readJsonIfExists(file, deaconHeartbeatSchema);
    if (beat === undefined) return null;
    const at = Date.parse(beat.timestamp);
    return Number.isNaN(at) ? null : { at, key: `${beat.timestamp}#${beat.cycle}` };
  } catch (error) {
    onProblem?.(errorMessage(error));
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
