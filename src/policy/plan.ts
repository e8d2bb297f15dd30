import type { ActivityStateName } from "../activity/state.js";
import type { ConductKeys } from "../conduct/types.js";
import type { DesiredAgent } from "./desired.js";
import { HEALTH_CHECK_NUDGE, type PolicyLimits, type WatchdogLimits } from "./limits.js";
import { EMPTY_TOWN_STATE, emptyRecord, type AgentRecord, type TownPolicyState } from "./record.js";
import type { OperatorHold } from "./record.js";

export { ZOMBIE_CONFIRM_MS } from "./assess.js";
import { assess, countDeath, pruneTown, resetRecord } from "./assess.js";
import { gateRestart } from "./restart-gate.js";
import { recordArmedRespawn } from "./arming.js";
import {
  failedStartMessage,
  noteFailedStart,
  noteUnavailable,
  type ObservedStartFailure,
} from "./start-failure.js";
import { formatDuration } from "../util/duration.js";
import { isBoot, planBootIn, type BootSettings } from "./boot.js";

/** The observed condition of an agent's session in this pass. */
export type Verdict = "alive" | "dead" | "zombie" | "missing";

export interface AgentObservation {
  readonly desired: DesiredAgent;
  readonly verdict: Verdict;
  /** Human-readable, e.g. "pane died (exit status 3)" or 'pane runs "bash" with no agent process (zombie)'. */
  readonly verdictReason: string;
  /** Generation of the observed session (its @townd_generation), null for a foreign or missing session. */
  readonly generation: string | null;
  /** For watched agents: the heartbeat's time (epoch ms), null when there is none or it is unreadable. */
  readonly heartbeatAt?: number | null;
  /** Whether a heartbeat FILE was read (heartbeatAt may also come from hook events, which do not arm it). */
  readonly heartbeatFileSeen?: boolean;
  /** Present when this agent's heartbeat is watched. */
  readonly watchdog?: WatchdogLimits | undefined;
  /** A dead pane whose CLI exited soon after its start with a message its profile knows. */
  readonly startFailure?: ObservedStartFailure | undefined;
  /** What the agent is doing, as far as the daemon knows (hooks, screen): I9 guards on it. */
  readonly activity?: ActivityStateName | undefined;
  /** The agent's runtime cannot be spawned at all (its command is not on the daemon's PATH). */
  readonly unavailable?: ObservedStartFailure | undefined;
  /** The stuck ladder's respawn rung (conduct/ladder.ts): replaced like a hung agent, resuming if it can. */
  readonly stuck?: {
    readonly reason: string;
    readonly resume: string | null;
    readonly resumeFailed: boolean;
  };
  /** Walled by a usage limit (conduct/walls.ts): its exit is no death, and it comes back at `until`. */
  readonly wall?: { readonly until: number; readonly reason: string };
  /**
   * Its pane died and its armed pane-died hook has already respawned it with this generation (arming.ts):
   * the verdict is "dead" (the death is counted) and the planner records the respawn tmux made.
   */
  readonly armedRespawn?: string;
}

interface ActionBase {
  readonly identity: string;
  readonly session: string;
  readonly reason: string;
  /** The lifecycle request this action carries out, if any. */
  readonly requestId?: string | undefined;
}

/** The startup beacon's topic (§13): `patrol` for supervision, `handoff` for a cycle, `lifecycle-restart`. */
export type StartTopic = "patrol" | "handoff" | "lifecycle-restart";

export type Action =
  | (ActionBase & { readonly kind: "spawn"; readonly manual: boolean; readonly topic: StartTopic })
  | (ActionBase & {
      readonly kind: "respawn";
      readonly manual: boolean;
      readonly topic: StartTopic;
      /** A zombie's or a hung agent's process tree must be killed first; a dead pane has nothing left. */
      readonly killTree: boolean;
      /** Resume this conversation (a stuck agent's) instead of starting a new one. */
      readonly resume?: string;
      /** tmux already started this generation from the agent's armed hook: record it, start nothing. */
      readonly armed?: string;
    })
  | (ActionBase & { readonly kind: "kill" })
  | (ActionBase & { readonly kind: "nudge"; readonly message: string })
  /** Conduct's keys (conduct/types.ts): a wall's wake, an interrupt, an approval by rule. */
  | (ActionBase & { readonly kind: "keys"; readonly keys: ConductKeys; readonly message?: string });

export type AlertKind = "crash_loop" | "spawn_budget_exhausted" | "mass_death" | "failed_to_start";

/** Something an operator must hear about: raised once per episode, never once per pass. */
export interface Alert {
  readonly kind: AlertKind;
  readonly message: string;
  readonly identities: readonly string[];
}

export type HoldBy = PolicyHold | OperatorHold;
type PolicyHold =
  | "backoff"
  | "crash-loop"
  | "spawn-budget"
  | "mass-death"
  | "zombie-check"
  | "failed-to-start"
  | "usage-limit";

/** Every decision with its reason, including "do nothing", for the log and `townd why`. */
export interface Decision {
  readonly identity: string;
  readonly verdict: Verdict | "hung";
  readonly action: Action["kind"] | "none" | "wait";
  readonly reason: string;
  /** For waits: which limit holds the agent back. */
  readonly holdBy?: HoldBy;
  /** For waits: when that limit lets go (epoch ms); the planner wakes the daemon then. */
  readonly until?: number;
  /** The request this decision answers, if any. */
  readonly requestId?: string | undefined;
  /** This decision answers an explicit request (operator or agent): always recorded, even when it is "none". */
  readonly requested?: boolean;
}

/**
 * An operator's or agent's explicit request, not held back by backoff or budgets (but counted):
 * `restart` and `cycle` respawn now (cycle with a handoff beacon), `shutdown` stops the agent until `start`
 * or a restart/cycle, `reset` forgets its backoff and crash loop; `stop` (the operator's) is holds.ts's.
 */
export interface ManualRequest {
  readonly identity: string;
  readonly kind: "restart" | "cycle" | "shutdown" | "start" | "reset" | "stop";
  readonly reason: string;
  readonly requestId?: string | undefined;
}

export interface PlanInput {
  readonly now: number;
  readonly agents: readonly AgentObservation[];
  readonly records: ReadonlyMap<string, AgentRecord>;
  readonly town?: TownPolicyState;
  readonly limits: PolicyLimits;
  readonly requests?: readonly ManualRequest[];
  /**
   * The tmux server was gone and has just been started again: every session vanished at once through no
   * fault of the agents. Those losses are not deaths (no backoff, no crash-loop, no mass death) and their
   * respawns are not held by the spawn budget, so every agent is back within this pass.
   */
  readonly serverRestarted?: boolean;
  /** How Boot, the Deacon's triage dog, runs (src/policy/boot.ts); defaults when absent. */
  readonly boot?: BootSettings;
}

export interface Plan {
  readonly actions: readonly Action[];
  readonly decisions: readonly Decision[];
  readonly alerts: readonly Alert[];
  /** Records after this pass; the executor adds the outcome of spawns. */
  readonly records: ReadonlyMap<string, AgentRecord>;
  readonly town: TownPolicyState;
  /** The earliest time something waiting may proceed: the daemon schedules a pass then. */
  readonly wakeAt: number | null;
  /** Why a degraded Boot triage runs in this pass, or null (see triageOutcome in src/policy/boot.ts). */
  readonly bootTriage: string | null;
}

/**
 * The pure heart of the daemon: (desired, observation, history, now) → actions, each with a reason.
 * No I/O, no clock, no randomness, so days of behaviour replay in a simulator. Every automatic spawn
 * passes the restart policy here (I3): mass-death cool-down, crash-loop budget, backoff, spawn budget.
 */
export function plan(input: PlanInput): Plan {
  const { now, limits } = input;
  const records = new Map(input.records);
  const requests = input.requests ?? [];
  const actions: Action[] = [];
  const decisions: Decision[] = [];
  const alerts: Alert[] = [];
  let town = pruneTown(input.town ?? EMPTY_TOWN_STATE, now, limits);
  let wakeAt: number | null = null;
  const wakeBy = (time: number): void => {
    wakeAt = wakeAt === null ? time : Math.min(wakeAt, time);
  };

  // Pass 1: what happened to each agent (deaths counted once, hangs found, streaks reset). Boot is no
  // patrol agent (its exit is no death): it is planned on its own below.
  const patrolAgents = input.agents.filter((obs) => !isBoot(obs));
  const situations = patrolAgents.map((obs) => {
    const { identity, session } = obs.desired;
    let record = records.get(identity) ?? emptyRecord(identity, session);
    const mine = requests.filter((r) => r.identity === identity);
    if (mine.some((r) => r.kind === "reset")) record = resetRecord(record);
    if (mine.some((r) => r.kind === "start" || r.kind === "restart" || r.kind === "cycle")) {
      record = { ...record, stoppedReason: null };
    }
    const situation = assess(obs, record, input);
    record = situation.record;
    // A pane that died because its command is missing is the same configuration problem.
    const failure = obs.verdict === "dead" ? (obs.startFailure ?? obs.unavailable) : undefined;
    if (failure !== undefined && record.stoppedReason === null) {
      // Not a death: no streak, no mass death; the slow retry and one alert per episode.
      const noted = noteFailedStart(record, failure, now, limits);
      record = noted.record;
      if (noted.alert)
        alerts.push({
          kind: "failed_to_start",
          message: failedStartMessage(identity, failure, limits.crashLoop.retryMs),
          identities: [identity],
        });
    } else if (
      situation.death !== null &&
      !input.serverRestarted &&
      record.stoppedReason === null &&
      // Neither an exit behind a usage limit nor a resume that failed at once is the agent's fault.
      obs.wall === undefined &&
      obs.stuck?.resumeFailed !== true
    ) {
      record = countDeath(record, situation.death, input);
      if (record.lastDeathAt === now && obs.desired.wanted) {
        town = { ...town, deaths: [...town.deaths, { at: now, identity }] };
      }
    }
    records.set(identity, record);
    return { obs, ...situation, record };
  });

  // Many agents dying at once is a town-wide failure, not many agent failures: pause before it becomes a
  // spawn storm. Distinct agents count, so one agent crashing fast is left to its own backoff.
  const dying = [...new Set(town.deaths.map((d) => d.identity))];
  if (
    dying.length >= limits.massDeath.count &&
    (town.massDeathUntil === null || now >= town.massDeathUntil)
  ) {
    const identities = dying;
    alerts.push({
      kind: "mass_death",
      message: `${identities.length} agents died within ${formatDuration(limits.massDeath.windowMs)}: ${identities.join(", ")}; automatic restarts paused for ${formatDuration(limits.massDeath.cooldownMs)}`,
      identities,
    });
    town = { ...town, deaths: [], massDeathUntil: now + limits.massDeath.cooldownMs };
  }

  // Pass 2: decide.
  for (const s of situations) {
    const { obs } = s;
    const { identity, session } = obs.desired;
    let record = records.get(identity) ?? s.record;
    const decide = (decision: Omit<Decision, "identity" | "verdict">): void => {
      decisions.push({ identity, verdict: s.hung ? "hung" : obs.verdict, ...decision });
    };
    /** Holds the agent back until `until`, and wakes the daemon then. */
    const hold = (holdBy: HoldBy, reason: string, until: number): void => {
      decide({ action: "wait", reason, holdBy, until });
      wakeBy(until);
    };
    const mine = requests.filter((r) => r.identity === identity);
    const manual = mine.find((r) => r.kind === "restart" || r.kind === "cycle");
    const topic: StartTopic =
      manual?.kind === "cycle" ? "handoff" : manual !== undefined ? "lifecycle-restart" : "patrol";
    for (const r of mine.filter((r) => r.kind === "reset" || r.kind === "start")) {
      decisions.push({
        identity,
        verdict: obs.verdict,
        action: "none",
        reason: `${r.kind}: ${r.reason}`,
        requestId: r.requestId,
        requested: true,
      });
    }
    const shutdown = manual === undefined ? mine.find((r) => r.kind === "shutdown") : undefined;
    if (shutdown !== undefined) {
      const why = `shutdown requested: ${shutdown.reason}`;
      records.set(identity, {
        ...record,
        stoppedReason: why,
        deathCounted: record.generation,
        nextAttemptAt: null,
      });
      if (obs.verdict === "missing") {
        decide({ action: "none", reason: `${why} (no session)`, requestId: shutdown.requestId });
      } else {
        actions.push({ kind: "kill", identity, session, reason: why, requestId: shutdown.requestId });
        decide({ action: "kill", reason: why, requestId: shutdown.requestId });
      }
      continue;
    }
    if (record.stoppedReason !== null && manual === undefined) {
      decide({
        action: "none",
        reason: `stopped (${record.stoppedReason}); 'townd start-agent ${identity}' starts it`,
      });
      continue;
    }

    if (s.confirmingZombie !== null && manual === undefined) {
      hold("zombie-check", `suspected zombie, confirming: ${obs.verdictReason}`, s.confirmingZombie);
      continue;
    }

    if (s.death === null) {
      // Alive and well (or in grace). A watched agent's verdict can change with time alone: look again then.
      if (s.watchdogRecheckAt !== null) wakeBy(s.watchdogRecheckAt);
      if (manual !== undefined) {
        const why = `${manual.kind} requested: ${manual.reason}`;
        const requestId = manual.requestId;
        actions.push({
          kind: "respawn",
          identity,
          session,
          reason: why,
          manual: true,
          killTree: true,
          topic,
          requestId,
        });
        decide({ action: "respawn", reason: why, requestId });
      } else if (!obs.desired.wanted && limits.stopDisabled) {
        const reason = `${obs.desired.heldReason} and operational.daemon.stop_disabled is true`;
        records.set(identity, { ...record, deathCounted: record.generation });
        actions.push({ kind: "kill", identity, session, reason });
        decide({ action: "kill", reason });
      } else if (s.nudge !== null) {
        actions.push({ kind: "nudge", identity, session, reason: s.nudge, message: HEALTH_CHECK_NUDGE });
        decide({ action: "nudge", reason: s.nudge });
      } else {
        decide({
          action: "none",
          reason: obs.desired.wanted ? s.aliveReason : `alive; left alone (${obs.desired.heldReason})`,
        });
      }
      continue;
    }

    const reason = s.death;
    // Starting a stopped agent is manual too; for a live agent `start` has nothing to do.
    const revive = manual ?? mine.find((r) => r.kind === "start");
    const requestId = revive?.requestId;
    const respawnOrSpawn = (manualSpawn: boolean, why: string): void => {
      const base = { identity, session, reason: why, manual: manualSpawn, topic, requestId };
      const resume = manualSpawn ? null : (obs.stuck?.resume ?? null);
      if (obs.verdict === "missing") actions.push({ kind: "spawn", ...base });
      else
        actions.push({
          kind: "respawn",
          ...base,
          // A pane its armed hook has already respawned runs a process again.
          killTree: obs.verdict !== "dead" || obs.armedRespawn !== undefined,
          ...(resume === null ? {} : { resume }),
        });
      decide({ action: obs.verdict === "missing" ? "spawn" : "respawn", reason: why, requestId });
    };

    if (revive !== undefined) {
      records.set(identity, { ...record, nextAttemptAt: null });
      respawnOrSpawn(true, `${revive.kind} requested: ${revive.reason}`);
      continue;
    }
    if (obs.armedRespawn !== undefined) {
      const armed = recordArmedRespawn(record, town, reason, now, limits);
      ({ record, town } = armed);
      records.set(identity, record);
      alerts.push(...armed.alerts);
      const base = { identity, session, reason: armed.reason, manual: false, topic };
      actions.push({ kind: "respawn", ...base, killTree: false, armed: obs.armedRespawn });
      decide({ action: "respawn", reason: armed.reason });
      continue;
    }
    if (obs.unavailable !== undefined && obs.desired.wanted) {
      const noted = noteUnavailable(record, obs.unavailable, now);
      records.set(identity, noted.record);
      if (noted.alert)
        alerts.push({
          kind: "failed_to_start",
          message: failedStartMessage(identity, obs.unavailable, limits.crashLoop.retryMs),
          identities: [identity],
        });
      decide({
        action: "none",
        reason: `cannot start: ${obs.unavailable.cause}; fix: ${obs.unavailable.fix}`,
        holdBy: "failed-to-start",
      });
      continue;
    }
    if (!obs.desired.wanted) {
      if (obs.verdict !== "missing" && limits.stopDisabled) {
        const why = `${obs.desired.heldReason}; removing its dead session`;
        records.set(identity, { ...record, deathCounted: record.generation });
        actions.push({ kind: "kill", identity, session, reason: why });
        decide({ action: "kill", reason: why });
      } else {
        decide({ action: "none", reason: `no new session: ${obs.desired.heldReason}` });
      }
      continue;
    }
    if (input.serverRestarted === true && record.crashLoopSince === null) {
      respawnOrSpawn(false, record.generation === null ? reason : "tmux server restarted");
      continue;
    }

    // Walled by a usage limit: its exit is no death (not counted above); it comes back at its wake.
    if (obs.wall !== undefined) {
      if (now < obs.wall.until) {
        hold("usage-limit", obs.wall.reason, obs.wall.until);
        continue;
      }
      respawnOrSpawn(false, `usage-limit wake: ${reason}`);
      continue;
    }
    const gate = gateRestart(record, town, reason, now, limits);
    ({ record, town } = gate);
    records.set(identity, record);
    alerts.push(...gate.alerts);
    if (!gate.go) {
      hold(gate.holdBy, gate.reason, gate.until);
      continue;
    }
    respawnOrSpawn(false, record.crashLoopSince !== null ? `crash-loop retry: ${reason}` : reason);
  }
  const boot = planBootIn(input, records, town);
  if (boot !== null) {
    records.set(boot.record.identity, boot.record);
    decisions.push(...boot.decisions);
    alerts.push(...boot.alerts);
    if (boot.action !== null) actions.push(boot.action);
    if (boot.wakeAt !== null) wakeBy(boot.wakeAt);
  }
  const bootTriage = boot?.triage ?? null;
  if (town.budgetExhaustedSince !== null && town.spawnTimes.length < limits.spawnBudget.count) {
    town = { ...town, budgetExhaustedSince: null };
  }
  return { actions, decisions, alerts, records, town, wakeAt, bootTriage };
}
