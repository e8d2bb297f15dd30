import type { Db } from "./db.js";

/** What the store knows about an agent besides its session: the work on its hook and its own state. */
export interface AgentWork {
  identity: string;
  hookedWork: string | null;
  state: string | null;
  updatedAt: string;
}

interface AgentRow {
  identity: string;
  hooked_work: string | null;
  state: string | null;
  updated_at: string;
}

const toWork = (row: AgentRow): AgentWork => ({
  identity: row.identity,
  hookedWork: row.hooked_work,
  state: row.state,
  updatedAt: row.updated_at,
});

/** Any act of an agent moves its updated_at (the GUPP check's clock). */
function upsert(
  db: Db,
  identity: string,
  set: Partial<Pick<AgentRow, "hooked_work" | "state">>,
  now: Date,
): void {
  db.prepare(
    `INSERT INTO agents (identity, hooked_work, state, updated_at) VALUES (@identity, @hooked_work, @state, @updated_at)
     ON CONFLICT (identity) DO UPDATE SET
       hooked_work = CASE WHEN @set_hook THEN excluded.hooked_work ELSE agents.hooked_work END,
       state = CASE WHEN @set_state THEN excluded.state ELSE agents.state END,
       updated_at = excluded.updated_at`,
  ).run({
    identity,
    hooked_work: set.hooked_work ?? null,
    state: set.state ?? null,
    updated_at: now.toISOString(),
    set_hook: "hooked_work" in set ? 1 : 0,
    set_state: "state" in set ? 1 : 0,
  });
}

export function setHook(db: Db, identity: string, work: string | null, now = new Date()): void {
  upsert(db, identity, { hooked_work: work }, now);
}

export function setAgentState(db: Db, identity: string, state: string, now = new Date()): void {
  upsert(db, identity, { state }, now);
}

export function touchAgent(db: Db, identity: string, now = new Date()): void {
  upsert(db, identity, {}, now);
}

export function getAgentWork(db: Db, identity: string): AgentWork | undefined {
  const row = db.prepare("SELECT * FROM agents WHERE identity = ?").get(identity) as AgentRow | undefined;
  return row === undefined ? undefined : toWork(row);
}

export function agentsWithHookedWork(db: Db): AgentWork[] {
  const rows = db
    .prepare("SELECT * FROM agents WHERE hooked_work IS NOT NULL ORDER BY identity")
    .all() as AgentRow[];
  return rows.map(toWork);
}
