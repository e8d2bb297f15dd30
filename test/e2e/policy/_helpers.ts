import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { Json, LogRecord, SupervisedTown } from "../../helpers/supervised-town.js";

/**
 * Shared by the restart-policy e2e tests (crash loop, watchdog, mass death, spawn budget): readers for what
 * the daemon records (the SQLite `events` table, `.events.jsonl`, `ALERT` log lines) and bounded polling.
 */

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns something other than undefined/false; throws `what` (and `detail()`) on timeout. */
export async function until<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  detail: () => string = () => "",
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}\n${detail()}`);
    await sleep(intervalMs);
  }
}

/** One row of the store's `events` table (daemon/town.db), with `at` = ts as epoch ms. */
export interface StoreEvent {
  id: number;
  ts: string;
  at: number;
  type: string;
  identity: string | null;
  generation: string | null;
  reason: string;
  data: Record<string, unknown>;
}

interface EventRow {
  id: number;
  ts: string;
  type: string;
  identity: string | null;
  generation: string | null;
  reason: string;
  data: string;
}

/** Every event in daemon/town.db, oldest first ([] before the daemon created the store). */
export function storeEvents(root: string): StoreEvent[] {
  const file = join(root, "daemon", "town.db");
  if (!existsSync(file)) return [];
  // Read-write open (WAL needs the -shm file), but only ever SELECT; the daemon's busy timeout covers us.
  const db = new Database(file, { timeout: 5000, fileMustExist: true });
  try {
    const rows = db.prepare("SELECT * FROM events ORDER BY id").all() as EventRow[];
    return rows.map((row) => ({
      ...row,
      at: Date.parse(row.ts),
      data: JSON.parse(row.data) as Record<string, unknown>,
    }));
  } finally {
    db.close();
  }
}

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
