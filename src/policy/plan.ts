import type { DesiredAgent } from "./desired.js";
import { backoffDelay, type RestartPolicy } from "./backoff.js";
import { emptyRecord, type AgentRecord } from "./record.js";

/** The observed condition of an agent's session in this pass. */
export type Verdict = "alive" | "dead" | "zombie" | "missing";

export interface AgentObservation {
  readonly desired: DesiredAgent;
  readonly verdict: Verdict;
  /** Human-readable, e.g. "exited with status 3" or 'pane runs "bash" with no agent process (zombie)'. */
  readonly verdictReason: string;
  /** Generation of the observed session (its @townd_generation), null for a foreign or missing session. */
  readonly generation: string | null;
}

export type Action =
  | { readonly kind: "spawn"; readonly identity: string; readonly session: string; readonly reason: string }
  | {
      readonly kind: "respawn";
      readonly identity: string;
      readonly session: string;
      readonly reason: string;
      /** A zombie's shell and children must be killed first; a dead pane has nothing left to kill. */
      readonly killTree: boolean;
    }
  | { readonly kind: "kill"; readonly identity: string; readonly session: string; readonly reason: string };

/** Every decision with its reason, including "do nothing", for the log and `townd why`. */
export interface Decision {
  readonly identity: string;
  readonly verdict: Verdict;
  readonly action: Action["kind"] | "none" | "wait";
  readonly reason: string;
}

export interface PlanInput {
  readonly now: number;
  readonly agents: readonly AgentObservation[];
  readonly records: ReadonlyMap<string, AgentRecord>;
  readonly policy: RestartPolicy;
  readonly stopDisabled: boolean;
}

/**
 * A zombie verdict rests on a /proc scan that can race a fork; a healthy agent must never be replaced on
 * one glimpse (I2), so a zombie is replaced only when a second observation this long after the first agrees.
 */
export const ZOMBIE_CONFIRM_MS = 2000;

export interface Plan {
  readonly actions: readonly Action[];
  readonly decisions: readonly Decision[];
  /** Records after this pass's observations (deaths counted, streaks reset); the executor adds spawns. */
  readonly records: ReadonlyMap<string, AgentRecord>;
  /** The earliest time a waiting agent may be retried: the daemon schedules a pass then. */
  readonly wakeAt: number | null;
}

/**
 * The pure heart of the daemon: (desired, observation, history, now) → actions, each with a reason.
 * No I/O, no clock, no randomness, so days of behaviour replay in a simulator.
 */
export function plan(input: PlanInput): Plan {
  const actions: Action[] = [];
  const decisions: Decision[] = [];
  const records = new Map(input.records);
  let wakeAt: number | null = null;

  for (const obs of input.agents) {
    const { identity, session } = obs.desired;
    let record = records.get(identity) ?? emptyRecord(identity, session);
    const decide = (action: Decision["action"], reason: string): void => {
      decisions.push({ identity, verdict: obs.verdict, action, reason });
    };

    if (obs.verdict === "zombie" && obs.desired.wanted) {
      if (record.zombieSince === null) {
        records.set(identity, { ...record, zombieSince: input.now });
      }
      const since = record.zombieSince ?? input.now;
      if (input.now - since < ZOMBIE_CONFIRM_MS) {
        decide("wait", `suspected zombie, confirming: ${obs.verdictReason}`);
        const confirmAt = since + ZOMBIE_CONFIRM_MS;
        wakeAt = wakeAt === null ? confirmAt : Math.min(wakeAt, confirmAt);
        continue;
      }
      record = { ...record, zombieSince: null };
    } else if (record.zombieSince !== null) {
      record = { ...record, zombieSince: null };
    }

    if (obs.verdict === "alive") {
      record = noteAlive(record, obs, input);
      records.set(identity, record);
      if (!obs.desired.wanted && input.stopDisabled) {
        const reason = `${obs.desired.heldReason} and operational.daemon.stop_disabled is true`;
        actions.push({ kind: "kill", identity, session, reason });
        decide("kill", reason);
      } else {
        decide(
          "none",
          obs.desired.wanted ? "agent is alive" : `alive; left alone (${obs.desired.heldReason})`,
        );
      }
      continue;
    }

    record = noteDeath(record, obs, input);
    records.set(identity, record);
    if (!obs.desired.wanted) {
      if (obs.verdict !== "missing" && input.stopDisabled) {
        const reason = `${obs.desired.heldReason}; removing its dead session`;
        actions.push({ kind: "kill", identity, session, reason });
        decide("kill", reason);
      } else {
        decide("none", `no new session: ${obs.desired.heldReason}`);
      }
      continue;
    }
    if (record.nextAttemptAt !== null && input.now < record.nextAttemptAt) {
      const waitMs = record.nextAttemptAt - input.now;
      decide("wait", `backoff: ${describeDeath(obs)}; next attempt in ${Math.ceil(waitMs / 1000)}s`);
      wakeAt = wakeAt === null ? record.nextAttemptAt : Math.min(wakeAt, record.nextAttemptAt);
      continue;
    }
    const reason = describeDeath(obs);
    if (obs.verdict === "missing") actions.push({ kind: "spawn", identity, session, reason });
    else actions.push({ kind: "respawn", identity, session, reason, killTree: obs.verdict === "zombie" });
    decide(obs.verdict === "missing" ? "spawn" : "respawn", reason);
  }
  return { actions, decisions, records, wakeAt };
}

function describeDeath(obs: AgentObservation): string {
  if (obs.verdict === "missing") return "no session";
  return obs.verdictReason;
}

/** A verified-healthy run of the stability period clears the failure streak. */
function noteAlive(record: AgentRecord, obs: AgentObservation, input: PlanInput): AgentRecord {
  const adopted =
    obs.generation !== null && obs.generation !== record.generation
      ? // A session we did not start in this record's memory (e.g. the records file was lost): adopt it.
        { ...record, generation: obs.generation, startedAt: record.startedAt ?? input.now }
      : record;
  if (
    adopted.failures > 0 &&
    adopted.startedAt !== null &&
    input.now - adopted.startedAt >= input.policy.stabilityPeriodMs
  ) {
    return { ...adopted, failures: 0, nextAttemptAt: null };
  }
  return adopted;
}

/**
 * Counts a death once per generation. A death after a stable run starts a new streak (restart at once);
 * a death soon after a start extends the streak and pushes the next attempt out.
 */
function noteDeath(record: AgentRecord, obs: AgentObservation, input: PlanInput): AgentRecord {
  if (record.generation === null || record.deathCounted === record.generation) return record;
  // A session observed with another generation than ours is not ours to count.
  if (obs.generation !== null && obs.generation !== record.generation) return record;
  const ranStably =
    record.startedAt !== null && input.now - record.startedAt >= input.policy.stabilityPeriodMs;
  const failures = ranStably ? 1 : record.failures + 1;
  return {
    ...record,
    failures,
    deathCounted: record.generation,
    lastDeathAt: input.now,
    lastExit: describeDeath(obs),
    nextAttemptAt: input.now + backoffDelay(failures, input.policy),
  };
}
