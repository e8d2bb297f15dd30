import { HEALTH_CHECK_NUDGE } from "./limits.js";
import { EMPTY_TOWN_STATE, emptyRecord } from "./record.js";
import { assess, countDeath, pruneTown, resetRecord } from "./assess.js";
import { gateRestart } from "./restart-gate.js";
import { recordArmedRespawn } from "./arming.js";
import { failedStartMessage, noteFailedStart, noteUnavailable } from "./start-failure.js";
import { formatDuration } from "../util/duration.js";
import { isBoot, planBootIn } from "./boot.js";
import type { Action, Alert, Decision, HoldBy, Plan, PlanInput, StartTopic } from "./plan-types.js";

export { ZOMBIE_CONFIRM_MS } from "./assess.js";
export type {
  Verdict,
  AgentObservation,
  StartTopic,
  Action,
  AlertKind,
  Alert,
  HoldBy,
  Decision,
  ManualRequest,
  PlanInput,
  Plan,
} from "./plan-types.js";

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
