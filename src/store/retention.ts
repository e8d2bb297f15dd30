import type { Db } from "./db.js";
import { pruneEvents } from "./events.js";

/**
 * How long the store keeps what is done with, in milliseconds (0: for ever). Mail is kept by its age, read
 * or not; a finished lifecycle request by when it finished (a `claimed` one is never removed: it is still
 * being carried out, or waits to be settled); a notice by when it was sent (once it is gone, an episode that
 * is still going on is mailed again: a reminder). Events are bounded by count.
 */
export interface Retention {
  readonly readMailMs: number;
  readonly unreadMailMs: number;
  readonly requestsMs: number;
  readonly noticesMs: number;
  readonly eventsKept: number;
}

export interface Pruned {
  readonly mail: number;
  readonly requests: number;
  readonly notices: number;
  readonly events: number;
}

const before = (now: Date, ms: number): string => new Date(now.getTime() - ms).toISOString();

/** Removes what `retention` no longer keeps, in one transaction; returns how many rows of each went. */
export function pruneStore(db: Db, retention: Retention, now: Date): Pruned {
  return db.transaction(() => {
    let mail = 0;
    if (retention.readMailMs > 0)
      mail += db
        .prepare("DELETE FROM mail WHERE read <> 0 AND created_at < ?")
        .run(before(now, retention.readMailMs)).changes;
    if (retention.unreadMailMs > 0)
      mail += db
        .prepare("DELETE FROM mail WHERE read = 0 AND created_at < ?")
        .run(before(now, retention.unreadMailMs)).changes;
    const requests =
      retention.requestsMs > 0
        ? db
            .prepare(
              "DELETE FROM lifecycle_requests WHERE status <> 'claimed' AND COALESCE(finished_at, claimed_at) < ?",
            )
            .run(before(now, retention.requestsMs)).changes
        : 0;
    const notices =
      retention.noticesMs > 0
        ? db.prepare("DELETE FROM notices WHERE sent_at < ?").run(before(now, retention.noticesMs)).changes
        : 0;
    const events = pruneEvents(db, retention.eventsKept);
    return { mail, requests, notices, events };
  })();
}

/**
 * Copies the write-ahead log into the store and truncates it to nothing. SQLite's own checkpoints copy but
 * leave the file at its largest size. A reader holding an old snapshot (`townd events --follow`) can keep it
 * from completing: it is tried again next time. Returns true when the log is empty now.
 */
export function checkpointWal(db: Db): boolean {
  const [row] = db.pragma("wal_checkpoint(TRUNCATE)") as { busy: number; log: number }[];
  return row !== undefined && row.busy === 0 && row.log <= 0;
}
