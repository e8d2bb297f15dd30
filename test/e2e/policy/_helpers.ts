import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Json, LogRecord, SupervisedTown } from "../../helpers/supervised-town.js";
import { storeEvents, type StoreEvent } from "../../helpers/store.js";

/**
 * Shared by the restart-policy e2e tests (crash loop, watchdog, mass death, spawn budget): readers for what
 * the daemon records (the SQLite `events` table, `.events.jsonl`, `ALERT` log lines) and bounded polling.
 */

export { sleep, until } from "../../helpers/wait.js";
export { storeEvents, type StoreEvent } from "../../helpers/store.js";

/** Spawns of one agent that succeeded (`spawn_done` / `respawn_done`), oldest first. */
export function spawnEvents(root: string, identity: string): StoreEvent[] {
  return storeEvents(root).filter(
    (e) => e.identity === identity && (e.type === "spawn_done" || e.type === "respawn_done"),
  );
}

/** One line of `<town>/.events.jsonl` (reference §10.3). */
export interface FeedEvent {
  ts: string;
  source: string;
  type: string;
  actor: string;
  payload: Json;
  visibility: string;
}

export function feedEvents(root: string): FeedEvent[] {
  const file = join(root, ".events.jsonl");
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as FeedEvent);
}

/** The daemon's `ALERT <kind>: …` log lines (level error). */
export function alertLines(town: SupervisedTown, kind: string): LogRecord[] {
  return town.log().filter((r) => r.msg.startsWith(`ALERT ${kind}: `));
}

/** A log record's time as epoch ms. */
export function timeOf(record: LogRecord): number {
  return Date.parse(record.time);
}

/** The last lines of the daemon's log, for failure messages. */
export function logTail(town: SupervisedTown, n = 15): string {
  return town
    .log()
    .slice(-n)
    .map((r) => `${r.time} ${r.msg}`)
    .join("\n");
}

/** Ages of `times` relative to the first, rounded, for diagnostics: "0, 412, 1433, …". */
export function relative(times: readonly number[]): string {
  const first = times[0] ?? 0;
  return times.map((t) => String(t - first)).join(", ");
}

/** Differences between consecutive times. */
export function gaps(times: readonly number[]): number[] {
  return times.slice(1).map((t, i) => t - (times[i] ?? t));
}
