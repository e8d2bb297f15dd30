import type { Db } from "./db.js";
import { MAX_REASON_BYTES, clipBytes } from "../util/text-limits.js";

/** One thing the daemon decided or saw, with why: the record behind `townd why` and `townd events`. */
export interface TownEvent {
  id: number;
  ts: string;
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

export interface NewEvent {
  type: string;
  identity?: string | null;
  generation?: string | null;
  reason?: string;
  data?: Record<string, unknown>;
}

export function recordEvent(db: Db, event: NewEvent, now = new Date()): void {
  db.prepare(
    "INSERT INTO events (ts, type, identity, generation, reason, data) VALUES (?, ?, ?, ?, ?, ?)",
  ).run(
    now.toISOString(),
    event.type,
    event.identity ?? null,
    event.generation ?? null,
    // Reasons may quote agents' text; the record of decisions stays bounded.
    clipBytes(event.reason ?? "", MAX_REASON_BYTES),
    JSON.stringify(event.data ?? {}),
  );
}

export interface EventFilter {
  identity?: string;
  since?: string;
  afterId?: number;
  limit?: number;
}

export function listEvents(db: Db, filter: EventFilter = {}): TownEvent[] {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (filter.identity !== undefined) {
    where.push("identity = ?");
    params.push(filter.identity);
  }
  if (filter.since !== undefined) {
    where.push("ts >= ?");
    params.push(filter.since);
  }
  if (filter.afterId !== undefined) {
    where.push("id > ?");
    params.push(filter.afterId);
  }
  const clause = where.length === 0 ? "" : `WHERE ${where.join(" AND ")}`;
  const rows = db
    .prepare(`SELECT * FROM (SELECT * FROM events ${clause} ORDER BY id DESC LIMIT ?) ORDER BY id`)
    .all(...params, filter.limit ?? 1000) as EventRow[];
  return rows.map((row) => ({ ...row, data: JSON.parse(row.data) as Record<string, unknown> }));
}

/** Keeps the newest `keep` events: the log of decisions is bounded, like the daemon's text log. */
export function pruneEvents(db: Db, keep: number): number {
  return db.prepare("DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - ?").run(keep).changes;
}
