import { existsSync } from "node:fs";
import Database from "better-sqlite3";

/**
 * The open convoys that track an issue (reference §11), read from the town's beads database
 * (`<T>/.beads/beads.db`) as the reference's `sqlite3 -json` queries do: a convoy tracks an issue through a
 * `tracks` dependency on its id, or on `<prefix>:<id>` for an issue in another rig's store. The database is
 * opened read-only for each lookup and closed again, so the daemon never holds it; values are bound, never
 * spliced into the SQL.
 */
export function openConvoysTracking(databaseFile: string, issueId: string): string[] {
  if (!existsSync(databaseFile)) return [];
  const db = new Database(databaseFile, { readonly: true, fileMustExist: true, timeout: 2000 });
  try {
    const tracking = db
      .prepare(
        `SELECT DISTINCT issue_id FROM dependencies
         WHERE type = 'tracks' AND (depends_on_id = ? OR substr(depends_on_id, -(length(?) + 1)) = ':' || ?)`,
      )
      .pluck()
      .all(issueId, issueId, issueId)
      .filter((id): id is string => typeof id === "string");
    const status = db.prepare("SELECT status FROM issues WHERE id = ?").pluck();
    return tracking.filter((convoy) => {
      const value: unknown = status.get(convoy);
      return typeof value === "string" && value !== "closed";
    });
  } finally {
    db.close();
  }
}
