/**
 * What happened between two looks at the agents' statuses, for counters and histograms: deaths, restarts,
 * how long a dead agent waited for its respawn, how long a new agent took to be ready. The statuses are the
 * daemon's own record (daemon/agents.json), so each counts what the daemon counted: a failed start or a lost
 * tmux server is no death here either. Pure apart from its memory of the previous look.
 */

/** The fields of an agent's status this reads. */
export interface AgentFacts {
  readonly identity: string;
  readonly role: string;
  readonly state: string;
  readonly generation: string | null;
  readonly started_at: string | null;
  readonly last_death_at: string | null;
  readonly restarts_auto: number;
  readonly restarts_manual: number;
}

export interface StatusChanges {
  readonly deaths: { readonly role: string }[];
  readonly restarts: { readonly role: string; readonly kind: "auto" | "manual"; readonly count: number }[];
  /** Death → the respawn that replaced it, in seconds. */
  readonly respawnSeconds: { readonly role: string; readonly seconds: number }[];
  /** Spawn → the agent ready (state `running`: its start-up sequence done), in seconds. */
  readonly readySeconds: { readonly role: string; readonly seconds: number }[];
}

interface Memory {
  readonly facts: AgentFacts;
  /** The generation already counted as ready (or running when first seen: not timed). */
  readonly readyFor: string | null;
}

const time = (iso: string | null): number | null => {
  if (iso === null) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
};

export class StatusChangeTracker {
  private memory = new Map<string, Memory>();

  /**
   * Compares `agents` with the previous look. An agent seen for the first time is a baseline: what it did
   * before (deaths and restarts counted by an earlier daemon) is not counted again.
   */
  observe(agents: readonly AgentFacts[], now: number): StatusChanges {
    const changes: StatusChanges = { deaths: [], restarts: [], respawnSeconds: [], readySeconds: [] };
    const next = new Map<string, Memory>();
    for (const agent of agents) {
      const before = this.memory.get(agent.identity);
      const running = agent.state === "running" && agent.generation !== null;
      if (before === undefined) {
        next.set(agent.identity, { facts: agent, readyFor: running ? agent.generation : null });
        continue;
      }
      compare(before.facts, agent, changes);
      let readyFor = before.readyFor;
      const startedAt = time(agent.started_at);
      if (running && readyFor !== agent.generation) {
        readyFor = agent.generation;
        if (startedAt !== null && now >= startedAt)
          changes.readySeconds.push({ role: agent.role, seconds: (now - startedAt) / 1000 });
      }
      next.set(agent.identity, { facts: agent, readyFor });
    }
    this.memory = next;
    return changes;
  }
}

function compare(before: AgentFacts, now: AgentFacts, changes: StatusChanges): void {
  const { role } = now;
  const deathBefore = time(before.last_death_at);
  const death = time(now.last_death_at);
  if (death !== null && (deathBefore === null || death > deathBefore)) changes.deaths.push({ role });
  for (const kind of ["auto", "manual"] as const) {
    const count = now[`restarts_${kind}`] - before[`restarts_${kind}`];
    if (count > 0) changes.restarts.push({ role, kind, count });
  }
  // A new generation that replaced a dead one: the death came after the previous generation's start.
  const startedAt = time(now.started_at);
  const previousStart = time(before.started_at);
  if (
    now.generation !== null &&
    now.generation !== before.generation &&
    startedAt !== null &&
    death !== null &&
    startedAt >= death &&
    (previousStart === null || death >= previousStart)
  )
    changes.respawnSeconds.push({ role, seconds: (startedAt - death) / 1000 });
}
