import type { Db } from "./db.js";
import { fitMail, sendMail, type Message } from "./mail.js";

export type RequestStatus = "claimed" | "done" | "failed" | "interrupted";

export interface LifecycleRecord {
  id: string;
  identity: string;
  action: string;
  requested_by: string;
  status: RequestStatus;
  claimed_at: string;
  finished_at: string | null;
  detail: string;
  /** The generation the daemon was about to start for the request (null: it never got that far). */
  to_generation: string | null;
}

/**
 * Claim-then-execute (reference §7.2 step 5), made atomic: the request row is recorded as `claimed` and the
 * mail removed in ONE transaction. A request is therefore executed at most once (a second claimer finds the
 * row and gets false), and a crash after the claim leaves a visible `claimed` row, never a silent loss (I5).
 */
export function claimRequest(
  db: Db,
  message: Message,
  request: { identity: string; action: string },
  now: Date,
): boolean {
  return db.transaction(() => {
    const inserted = db
      .prepare(
        `INSERT OR IGNORE INTO lifecycle_requests (id, identity, action, requested_by, status, claimed_at)
         VALUES (?, ?, ?, ?, 'claimed', ?)`,
      )
      .run(message.id, request.identity, request.action, message.from, now.toISOString());
    if (inserted.changes === 0) return false;
    db.prepare("DELETE FROM mail WHERE id = ?").run(message.id);
    return true;
  })();
}

/**
 * Records the generation about to be started for a claimed request. Called just before the tmux call that
 * starts it: afterwards, a pane running that generation proves the request was carried out.
 */
export function noteRequestGeneration(db: Db, id: string, generation: string): void {
  db.prepare("UPDATE lifecycle_requests SET to_generation = ? WHERE id = ? AND status = 'claimed'").run(
    generation,
    id,
  );
}

export function finishRequest(
  db: Db,
  id: string,
  status: "done" | "failed",
  detail: string,
  now: Date,
): void {
  db.prepare(
    "UPDATE lifecycle_requests SET status = ?, finished_at = ?, detail = ? WHERE id = ? AND status = 'claimed'",
  ).run(status, now.toISOString(), detail, id);
}

/**
 * Claims a previous daemon left unfinished. One whose agent's pane runs the generation started for it was
 * carried out (generations are unique, and tmux labels the pane in the same call that starts it), and is
 * marked `done`; every other claim is marked `interrupted`, not executed again (at most once), and returned
 * so its sender can be told. `generationOf` is what the agent's pane runs now (null: no pane of ours).
 */
export function settleLeftoverClaims(
  db: Db,
  generationOf: (identity: string) => string | null,
  now: Date,
): { interrupted: LifecycleRecord[]; carriedOut: LifecycleRecord[] } {
  return db.transaction(() => {
    const rows = db
      .prepare("SELECT * FROM lifecycle_requests WHERE status = 'claimed' ORDER BY claimed_at")
      .all() as LifecycleRecord[];
    const interrupted: LifecycleRecord[] = [];
    const carriedOut: LifecycleRecord[] = [];
    const settle = db.prepare(
      "UPDATE lifecycle_requests SET status = ?, finished_at = ?, detail = ? WHERE id = ? AND status = 'claimed'",
    );
    for (const row of rows) {
      if (row.to_generation !== null && generationOf(row.identity) === row.to_generation) {
        const detail = `carried out (the agent runs generation ${row.to_generation}, started for it); the daemon stopped before recording it`;
        settle.run("done", now.toISOString(), detail, row.id);
        carriedOut.push({ ...row, status: "done", detail });
      } else {
        const detail = "the daemon stopped between claim and execution";
        settle.run("interrupted", now.toISOString(), detail, row.id);
        interrupted.push({ ...row, status: "interrupted", detail });
      }
    }
    return { interrupted, carriedOut };
  })();
}

export function listRequests(db: Db, limit = 1000): LifecycleRecord[] {
  return db
    .prepare("SELECT * FROM lifecycle_requests ORDER BY claimed_at DESC LIMIT ?")
    .all(limit) as LifecycleRecord[];
}

/** Removes a request mail that will not be executed, and tells its sender why — in one transaction. */
export function dropRequestMail(db: Db, message: Message, why: string, replyFrom: string, now: Date): void {
  db.transaction(() => {
    db.prepare("DELETE FROM mail WHERE id = ?").run(message.id);
    sendMail(
      db,
      fitMail({
        from: replyFrom,
        to: message.from,
        subject: `LIFECYCLE REJECTED: ${message.subject.slice(0, 120)}`,
        body: `Your lifecycle request ${message.id} was not executed: ${why}`,
        type: "reply",
      }),
      now,
    );
  })();
}

/** True the first time (identity, kind, episode) is seen: one notice per episode, not one per pass. */
export function firstNotice(db: Db, identity: string, kind: string, episode: string, now: Date): boolean {
  return (
    db
      .prepare("INSERT OR IGNORE INTO notices (identity, kind, episode, sent_at) VALUES (?, ?, ?, ?)")
      .run(identity, kind, episode, now.toISOString()).changes > 0
  );
}
