import { existsSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";

/**
 * The town store (daemon/town.db) read the way an outside tool reaches it: better-sqlite3 on short-lived
 * connections, WAL, and a busy timeout that covers the daemon's writes. Shared by every suite that checks
 * what the daemon recorded.
 */

/** A town root, or anything that has one (a SupervisedTown, a TestTown). */
export type TownRef = string | { readonly root: string };

export function storeFile(town: TownRef): string {
  return join(typeof town === "string" ? town : town.root, "daemon", "town.db");
}

/** Runs `fn` on a short-lived connection to the store (read-write: WAL readers need the -shm file). */
export function withTownDb<T>(town: TownRef, fn: (db: Database.Database) => T): T {
  const file = storeFile(town);
  if (!existsSync(file)) throw new Error(`${file} does not exist yet`);
  const db = new Database(file, { timeout: 5000, fileMustExist: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** One row of the store's `events` table, with `data` parsed and `at` = ts as epoch ms. */
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

/** Every event in the store, oldest first ([] before the daemon created the store). */
export function storeEvents(town: TownRef): StoreEvent[] {
  if (!existsSync(storeFile(town))) return [];
  return eventRows(town).map((row) => ({
    ...row,
    at: Date.parse(row.ts),
    data: JSON.parse(row.data) as Record<string, unknown>,
  }));
}

/** Rows of the store's tables as SQLite returns them (JSON columns still text). */
export interface MailRow {
  id: string;
  from_id: string;
  to_id: string;
  subject: string;
  body: string;
  created_at: string;
  read: number;
  priority: string;
  type: string;
}

export interface RequestRow {
  id: string;
  identity: string;
  action: string;
  requested_by: string;
  status: string;
  claimed_at: string;
  finished_at: string | null;
  detail: string;
  /** The generation the daemon was about to start for the request. */
  to_generation: string | null;
}

export interface EventRow {
  id: number;
  ts: string;
  type: string;
  identity: string | null;
  generation: string | null;
  reason: string;
  data: string;
}

/** Mail, oldest first; only `to`'s when given. */
export function mailRows(town: TownRef, to?: string): MailRow[] {
  return withTownDb(town, (db) =>
    to === undefined
      ? (db.prepare("SELECT * FROM mail ORDER BY created_at, rowid").all() as MailRow[])
      : (db.prepare("SELECT * FROM mail WHERE to_id = ? ORDER BY created_at, rowid").all(to) as MailRow[]),
  );
}

export function requestRows(town: TownRef): RequestRow[] {
  return withTownDb(
    town,
    (db) => db.prepare("SELECT * FROM lifecycle_requests ORDER BY claimed_at, id").all() as RequestRow[],
  );
}

export function requestRow(town: TownRef, id: string): RequestRow | undefined {
  return withTownDb(
    town,
    (db) => db.prepare("SELECT * FROM lifecycle_requests WHERE id = ?").get(id) as RequestRow | undefined,
  );
}

/** Raw event rows, oldest first; only those of `type` when given. */
export function eventRows(town: TownRef, type?: string): EventRow[] {
  return withTownDb(town, (db) =>
    type === undefined
      ? (db.prepare("SELECT * FROM events ORDER BY id").all() as EventRow[])
      : (db.prepare("SELECT * FROM events WHERE type = ? ORDER BY id").all(type) as EventRow[]),
  );
}
