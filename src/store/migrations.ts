/**
 * Schema versions, applied in order inside one transaction each and recorded in `pragma user_version`.
 * Never edit a shipped migration: add the next one.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: mail, agents (hooked work, state), events, lifecycle request claims, notice de-duplication.
  `
  CREATE TABLE mail (
    id TEXT PRIMARY KEY,
    from_id TEXT NOT NULL,
    to_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    read INTEGER NOT NULL DEFAULT 0,
    priority TEXT NOT NULL DEFAULT 'normal',
    type TEXT NOT NULL DEFAULT 'message'
  );
  CREATE INDEX mail_to ON mail (to_id, created_at);

  CREATE TABLE agents (
    identity TEXT PRIMARY KEY,
    hooked_work TEXT,
    state TEXT,
    updated_at TEXT NOT NULL
  );

  CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts TEXT NOT NULL,
    type TEXT NOT NULL,
    identity TEXT,
    generation TEXT,
    reason TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL DEFAULT '{}'
  );
  CREATE INDEX events_identity ON events (identity, id);
  CREATE INDEX events_ts ON events (ts);

  CREATE TABLE lifecycle_requests (
    id TEXT PRIMARY KEY,
    identity TEXT NOT NULL,
    action TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('claimed', 'done', 'failed', 'interrupted')),
    claimed_at TEXT NOT NULL,
    finished_at TEXT,
    detail TEXT NOT NULL DEFAULT ''
  );
  CREATE INDEX lifecycle_status ON lifecycle_requests (status);

  CREATE TABLE notices (
    identity TEXT NOT NULL,
    kind TEXT NOT NULL,
    episode TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    PRIMARY KEY (identity, kind, episode)
  );
  `,
  // 2: the generation the daemon is about to start for a request, written before the tmux call, so a daemon
  // that died after carrying a request out, but before recording it, is not reported as "send it again".
  `
  ALTER TABLE lifecycle_requests ADD COLUMN to_generation TEXT;
  `,
];
