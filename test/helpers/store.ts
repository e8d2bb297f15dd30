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
  const rows = withTownDb(
    town,
    (db) =>
      db.prepare("SELECT * FROM events ORDER BY id").all() as (Omit<StoreEvent, "at" | "data"> & {
        data: string;
      })[],
  );
  return rows.map((row) => ({
    ...row,
    at: Date.parse(row.ts),
    data: JSON.parse(row.data) as Record<string, unknown>,
  }));
}
