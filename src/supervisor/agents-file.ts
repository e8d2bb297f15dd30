import { z } from "zod";
import type { ActivityJson } from "../activity/state.js";
import { MAX_STATUS_TEXT_BYTES, clipNullable } from "../util/text-limits.js";
import type { TownPaths } from "../town/paths.js";
import { readJsonIfExists } from "../util/json-file.js";
import { writeJsonPrivateSync } from "../util/private-file.js";
import { EMPTY_TOWN_STATE, type AgentRecord, type TownPolicyState } from "../policy/record.js";

/** One agent as `townd status` shows it; also the daemon's memory across restarts. */
export const agentStatusSchema = z.looseObject({
  identity: z.string(),
  session: z.string(),
  role: z.string(),
  rig: z.string().nullable(),
  state: z.string(),
  pid: z.number().int().nullable(),
  generation: z.string().nullable(),
  restarts: z.number().int(),
  restarts_auto: z.number().int(),
  restarts_manual: z.number().int(),
  started_at: z.string().nullable(),
  failures: z.number().int(),
  death_counted: z.string().nullable(),
  last_death_at: z.string().nullable(),
  last_exit: z.string().nullable(),
  next_attempt_at: z.string().nullable(),
  last_reason: z.string().nullable(),
  zombie_since: z.string().nullable().optional(),
  restart_times: z.array(z.string()).optional(),
  crash_loop_since: z.string().nullable().optional(),
  stale_nudged_for: z.string().nullable().optional(),
  stopped_reason: z.string().nullable().optional(),
  /** Set while the agent's CLI cannot start: a configuration problem with its fix. */
  failed_to_start: z
    .object({ cause: z.string(), fix: z.string(), line: z.string().nullable(), since: z.string() })
    .nullable()
    .optional(),
  heartbeat_seen: z.boolean().optional(),
  /** The agent's latest heartbeat (its heartbeat file, or any hook event of its generation). */
  heartbeat_at: z.string().nullable().optional(),
  /** Why the agent needs a person (a dialog townd does not answer), or why it failed to start. */
  detail: z.string().nullable().optional(),
  /** The Claude session the agent's current generation runs, as its hooks reported it. */
  claude_session: z
    .object({ session_id: z.string().nullable(), transcript_path: z.string().nullable() })
    .nullable()
    .optional(),
  /** What the agent is doing (src/activity/state.ts ActivityJson), null until first seen. */
  activity: z
    .looseObject({
      state: z.string(),
      since: z.string(),
      source: z.string(),
      observed_at: z.string(),
      detail: z.string(),
      resets_at: z.string().nullable(),
      limit: z.string().nullable(),
    })
    .nullable()
    .optional(),
  request_times: z.array(z.string()).optional(),
  /**
   * What holds a waiting agent back (backoff, crash-loop, mass-death, spawn-budget) and until when; or the
   * operator's hold (`operator`, `town-stopped`), with no end: the daemon reads it back at its start.
   */
  held_by: z.string().nullable().optional(),
  held_until: z.string().nullable().optional(),
  /** tmux itself respawns the agent the moment it dies (its pane-died hook is armed; src/policy/arming.ts). */
  respawn_armed: z.boolean().optional(),
});
export type AgentStatus = z.output<typeof agentStatusSchema>;

const townStateSchema = z.looseObject({
  spawn_times: z.array(z.string()),
  budget_exhausted_since: z.string().nullable(),
  deaths: z.array(z.object({ at: z.string(), identity: z.string() })),
  mass_death_until: z.string().nullable(),
});

export const agentsFileSchema = z.looseObject({
  version: z.literal(1),
  updated_at: z.string(),
  agents: z.array(agentStatusSchema),
  town: townStateSchema.optional(),
});
export type AgentsFile = z.output<typeof agentsFileSchema>;

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const epoch = (text: string | null): number | null => {
  if (text === null) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
};

export function recordToStatus(
  record: AgentRecord,
  view: {
    role: string;
    rig: string | null;
    state: string;
    pid: number | null;
    hold?: { by: string; until: number } | undefined;
    detail?: string | null;
    activity?: ActivityJson | null;
    heartbeatAt?: number | null;
    session?: { sessionId: string | null; transcriptPath: string | null } | undefined;
    respawnArmed?: boolean;
  },
): AgentStatus {
  return {
    identity: record.identity,
    session: record.session,
    role: view.role,
    rig: view.rig,
    state: view.state,
    pid: view.pid,
    generation: record.generation,
    restarts: record.autoRestarts + record.manualRestarts,
    restarts_auto: record.autoRestarts,
    restarts_manual: record.manualRestarts,
    started_at: iso(record.startedAt),
    failures: record.failures,
    death_counted: record.deathCounted,
    last_death_at: iso(record.lastDeathAt),
    // Rewritten every pass: long reasons (quoting an agent's request or process title) are cut here.
    last_exit: clipNullable(record.lastExit, MAX_STATUS_TEXT_BYTES),
    next_attempt_at: iso(record.nextAttemptAt),
    last_reason: clipNullable(record.lastReason, MAX_STATUS_TEXT_BYTES),
    zombie_since: iso(record.zombieSince),
    restart_times: record.restartTimes.map((t) => new Date(t).toISOString()),
    crash_loop_since: iso(record.crashLoopSince),
    stale_nudged_for: iso(record.staleNudgedFor),
    stopped_reason: clipNullable(record.stoppedReason, MAX_STATUS_TEXT_BYTES),
    failed_to_start:
      record.failedToStart === null
        ? null
        : { ...record.failedToStart, since: new Date(record.failedToStart.since).toISOString() },
    heartbeat_seen: record.heartbeatSeen,
    heartbeat_at: iso(view.heartbeatAt ?? null),
    detail: clipNullable(view.detail ?? null, MAX_STATUS_TEXT_BYTES),
    claude_session:
      view.session === undefined
        ? null
        : { session_id: view.session.sessionId, transcript_path: view.session.transcriptPath },
    activity:
      view.activity === undefined || view.activity === null
        ? null
        : { ...view.activity, detail: clipNullable(view.activity.detail, MAX_STATUS_TEXT_BYTES) ?? "" },
    request_times: record.requestTimes.map((t) => new Date(t).toISOString()),
    // An operator's hold is what holds the agent whatever else does; it has no end but a command.
    held_by: record.operatorHold ?? view.hold?.by ?? null,
    held_until: record.operatorHold === null ? iso(view.hold?.until ?? null) : null,
    respawn_armed: view.respawnArmed ?? false,
  };
}

export function statusToRecord(status: AgentStatus): AgentRecord {
  return {
    identity: status.identity,
    session: status.session,
    generation: status.generation,
    startedAt: epoch(status.started_at),
    autoRestarts: status.restarts_auto,
    manualRestarts: status.restarts_manual,
    failures: status.failures,
    deathCounted: status.death_counted,
    lastDeathAt: epoch(status.last_death_at),
    lastExit: status.last_exit,
    nextAttemptAt: epoch(status.next_attempt_at),
    lastReason: status.last_reason,
    zombieSince: epoch(status.zombie_since ?? null),
    restartTimes: (status.restart_times ?? []).flatMap((t) => epoch(t) ?? []),
    crashLoopSince: epoch(status.crash_loop_since ?? null),
    staleNudgedFor: epoch(status.stale_nudged_for ?? null),
    stoppedReason: status.stopped_reason ?? null,
    failedToStart: failedFromStatus(status.failed_to_start ?? null),
    heartbeatSeen: status.heartbeat_seen ?? false,
    requestTimes: (status.request_times ?? []).flatMap((t) => epoch(t) ?? []),
    // The operator's hold is kept as the status's held_by: the one field that names it.
    operatorHold: status.held_by === "operator" || status.held_by === "town-stopped" ? status.held_by : null,
  };
}

function failedFromStatus(
  failed: { cause: string; fix: string; line: string | null; since: string } | null,
): AgentRecord["failedToStart"] {
  if (failed === null) return null;
  return { cause: failed.cause, fix: failed.fix, line: failed.line, since: epoch(failed.since) ?? 0 };
}

export function readAgentsFile(paths: TownPaths): AgentsFile | undefined {
  return readJsonIfExists(paths.agentsFile, agentsFileSchema, { noFollow: true });
}

export function townStateFromFile(file: AgentsFile | undefined): TownPolicyState {
  const town = file?.town;
  if (town === undefined) return EMPTY_TOWN_STATE;
  return {
    spawnTimes: town.spawn_times.flatMap((t) => epoch(t) ?? []),
    budgetExhaustedSince: epoch(town.budget_exhausted_since),
    deaths: town.deaths.flatMap((d) => {
      const at = epoch(d.at);
      return at === null ? [] : [{ at, identity: d.identity }];
    }),
    massDeathUntil: epoch(town.mass_death_until),
  };
}

export function writeAgentsFile(
  paths: TownPaths,
  agents: readonly AgentStatus[],
  town: TownPolicyState,
  now: number,
): void {
  writeJsonPrivateSync(paths.agentsFile, {
    version: 1,
    updated_at: new Date(now).toISOString(),
    agents,
    town: {
      spawn_times: town.spawnTimes.map((t) => new Date(t).toISOString()),
      budget_exhausted_since: iso(town.budgetExhaustedSince),
      deaths: town.deaths.map((d) => ({ at: new Date(d.at).toISOString(), identity: d.identity })),
      mass_death_until: iso(town.massDeathUntil),
    },
  });
}
