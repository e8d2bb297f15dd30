import { formatAge, formatDuration } from "../util/duration.js";
import { resetRecord } from "./assess.js";
import type { PolicyLimits } from "./limits.js";
import type { Action, AgentObservation, Alert, Decision, ManualRequest, PlanInput } from "./plan.js";
import { emptyRecord, type AgentRecord, type TownPolicyState } from "./record.js";
import { failedStartMessage, noteFailedStart, noteUnavailable } from "./start-failure.js";

/**
 * Boot, the Deacon's triage dog (reference §5.2, B38–B41, [HEAD] B132–B133): a short-lived agent started
 * with the prompt `gt boot triage` that looks at the Deacon and ends itself. It is no patrol agent: its exit
 * is not a death (no backoff, no crash-loop count, no mass death), and it runs only when needed:
 *
 * - never while its session runs an agent (B38);
 * - never twice within the cooldown (2 m, `boot_spawn_cooldown`), counted from its last run (B132);
 * - never while the Deacon's heartbeat is fresh (B133);
 * - in degraded mode (`GT_DEGRADED=true`, or Boot's agent cannot be started) a mechanical triage runs
 *   instead: the Deacon is started if it is missing — by the planner's own decision for the Deacon in the
 *   same pass, so never twice — and `deacon/dogs/boot/.boot-status.json` records what happened (B39, B41);
 * - otherwise Boot is started, held like every automatic start by the mass-death cool-down and an exhausted
 *   spawn budget (I3). Its runs do not use up the budget, which bounds restarts.
 *
 * Pure, like the planner that calls it.
 */

/** The reference's IsFresh (§14): a Deacon heartbeat younger than this needs no triage. */
export const DEACON_FRESH_MS = 5 * 60_000;

export interface BootSettings {
  /** `GT_DEGRADED=true` in the daemon's environment: mechanical triage instead of an agent. */
  readonly degraded: boolean;
  /** No run sooner than this after the last one (`operational.daemon.boot_spawn_cooldown`). */
  readonly cooldownMs: number;
}

export const DEFAULT_BOOT_SETTINGS: BootSettings = { degraded: false, cooldownMs: 2 * 60_000 };

export interface BootInput {
  readonly now: number;
  readonly boot: AgentObservation;
  readonly record: AgentRecord;
  /** The Deacon's observation this pass: its heartbeat decides whether Boot is needed. */
  readonly deacon: AgentObservation | undefined;
  readonly town: TownPolicyState;
  readonly limits: PolicyLimits;
  readonly settings: BootSettings;
  readonly requests: readonly ManualRequest[];
}

export interface BootPlan {
  readonly record: AgentRecord;
  readonly decisions: readonly Decision[];
  readonly action: Action | null;
  readonly alerts: readonly Alert[];
  readonly wakeAt: number | null;
  /**
   * Set when a degraded triage runs in this pass instead of Boot, to why. Its outcome is known only once the
   * Deacon's action of the same pass has run (triageOutcome).
   */
  readonly triage: string | null;
}

export function isBoot(obs: AgentObservation): boolean {
  return obs.desired.id.role === "boot";
}

/** The planner's Boot step: Boot's plan for this pass, after every other agent's (null without Boot). */
export function planBootIn(
  input: PlanInput,
  records: ReadonlyMap<string, AgentRecord>,
  town: TownPolicyState,
): BootPlan | null {
  const boot = input.agents.find(isBoot);
  if (boot === undefined) return null;
  const { identity, session } = boot.desired;
  return planBoot({
    now: input.now,
    boot,
    record: records.get(identity) ?? emptyRecord(identity, session),
    deacon: input.agents.find((obs) => obs.desired.id.role === "deacon"),
    town,
    limits: input.limits,
    settings: input.boot ?? DEFAULT_BOOT_SETTINGS,
    requests: input.requests ?? [],
  });
}

export function planBoot(input: BootInput): BootPlan {
  const { now, boot: obs, settings, limits, town } = input;
  const { identity, session } = obs.desired;
  const decisions: Decision[] = [];
  const alerts: Alert[] = [];
  const decide = (decision: Omit<Decision, "identity" | "verdict">): void => {
    decisions.push({ identity, verdict: obs.verdict, ...decision });
  };
  let record = input.record;
  const done = (
    rest: { action?: Action | null; wakeAt?: number | null; triage?: string | null } = {},
  ): BootPlan => ({
    record,
    decisions,
    alerts,
    action: rest.action ?? null,
    wakeAt: rest.wakeAt ?? null,
    triage: rest.triage ?? null,
  });
  const running = obs.verdict === "alive";

  const mine = input.requests.filter((r) => r.identity === identity);
  const reset = mine.find((r) => r.kind === "reset");
  const manual = mine.find((r) => r.kind === "restart" || r.kind === "cycle" || r.kind === "start");
  const shutdown = mine.find((r) => r.kind === "shutdown");
  if (reset !== undefined) {
    // Forget the failed start, the backoff and the cooldown: the next triage may run now.
    record = { ...resetRecord(record), startedAt: null };
    decide({ action: "none", reason: `reset: ${reset.reason}`, requestId: reset.requestId, requested: true });
  }

  if (!obs.desired.wanted) {
    if (running && limits.stopDisabled) {
      const reason = `${obs.desired.heldReason} and operational.daemon.stop_disabled is true`;
      decide({ action: "kill", reason });
      return done({ action: { kind: "kill", identity, session, reason } });
    }
    decide({ action: "none", reason: `no triage: ${obs.desired.heldReason}` });
    return done();
  }
  if (shutdown !== undefined && manual === undefined) {
    // Boot asks to end early: its session goes; it runs again at a later triage, as after any run.
    const reason = `shutdown requested: ${shutdown.reason}`;
    const { requestId } = shutdown;
    if (!running) {
      decide({ action: "none", reason: `${reason} (not running)`, requestId });
      return done();
    }
    decide({ action: "kill", reason, requestId });
    return done({ action: { kind: "kill", identity, session, reason, requestId } });
  }

  // Boot's agent cannot be started: its CLI refused at once, or its command is missing. Degraded triage
  // takes over until the slow retry (crash_loop_retry) or until the command is there.
  if (obs.startFailure !== undefined) {
    const noted = noteFailedStart(record, obs.startFailure, now, limits);
    record = noted.record;
    if (noted.alert) alerts.push(failedStartAlert(identity, obs.startFailure, limits));
  }
  if (obs.unavailable !== undefined) {
    const noted = noteUnavailable(record, obs.unavailable, now);
    record = noted.record;
    if (noted.alert) alerts.push(failedStartAlert(identity, obs.unavailable, limits));
  } else if (ranAndEnded(obs, record)) {
    record = { ...record, failedToStart: null };
  }

  if (manual !== undefined) {
    const reason = `${manual.kind} requested: ${manual.reason}`;
    record = { ...record, nextAttemptAt: null };
    return done({ action: start(obs, reason, true, manual.requestId, decide) });
  }
  if (running) {
    decide({ action: "none", reason: "Boot already running, skipping spawn" });
    return done();
  }

  const lastRun = record.startedAt;
  if (lastRun !== null && now - lastRun < settings.cooldownMs) {
    const next = lastRun + settings.cooldownMs;
    decide({
      action: "none",
      reason: `Boot ran ${formatAge(now - lastRun)} ago; it runs at most once per ${formatDuration(settings.cooldownMs)}`,
    });
    return done({ wakeAt: next });
  }

  const beat = input.deacon?.heartbeatAt ?? null;
  const freshMs = input.deacon?.watchdog?.staleMs ?? DEACON_FRESH_MS;
  if (beat !== null && now - beat < freshMs) {
    decide({
      action: "none",
      reason: `the Deacon's heartbeat is fresh (${formatAge(now - beat)} old): no triage needed`,
    });
    return done({ wakeAt: beat + freshMs });
  }

  const degraded = degradedReason(obs, record, settings, now);
  if (degraded !== null) {
    record = { ...record, startedAt: now, lastReason: `degraded triage: ${degraded}` };
    decide({ action: "none", reason: `degraded triage: ${degraded}` });
    return done({ wakeAt: now + settings.cooldownMs, triage: degraded });
  }

  if (town.massDeathUntil !== null && now < town.massDeathUntil) {
    decide({
      action: "wait",
      reason: "mass-death cool-down: no triage",
      holdBy: "mass-death",
      until: town.massDeathUntil,
    });
    return done({ wakeAt: town.massDeathUntil });
  }
  if (town.spawnTimes.length >= limits.spawnBudget.count) {
    const freeAt = (town.spawnTimes[0] ?? now) + limits.spawnBudget.windowMs;
    decide({
      action: "wait",
      reason: "spawn budget exhausted: no triage",
      holdBy: "spawn-budget",
      until: freeAt,
    });
    return done({ wakeAt: freeAt });
  }
  const why =
    beat === null
      ? "Spawning Boot for triage: the Deacon has no heartbeat"
      : `Spawning Boot for triage: the Deacon's heartbeat is ${formatAge(now - beat)} old`;
  return done({ action: start(obs, why, false, undefined, decide) });
}

function start(
  obs: AgentObservation,
  reason: string,
  manual: boolean,
  requestId: string | undefined,
  decide: (decision: Omit<Decision, "identity" | "verdict">) => void,
): Action {
  const { identity, session } = obs.desired;
  const base = { identity, session, reason, manual, topic: "patrol" as const, requestId };
  if (obs.verdict === "missing") {
    decide({ action: "spawn", reason, requestId });
    return { kind: "spawn", ...base };
  }
  decide({ action: "respawn", reason, requestId });
  // Its ended pane has nothing left to kill; a zombie's shell and anything under it are killed first.
  return { kind: "respawn", ...base, killTree: obs.verdict !== "dead" };
}

/** Boot's last generation came up and ended without a failed start: an earlier failed start is over. */
function ranAndEnded(obs: AgentObservation, record: AgentRecord): boolean {
  const failed = record.failedToStart;
  return (
    failed !== null &&
    obs.verdict !== "alive" &&
    obs.startFailure === undefined &&
    record.generation !== null &&
    record.deathCounted !== record.generation &&
    record.startedAt !== null &&
    record.startedAt > failed.since
  );
}

function degradedReason(
  obs: AgentObservation,
  record: AgentRecord,
  settings: BootSettings,
  now: number,
): string | null {
  if (settings.degraded) return "GT_DEGRADED=true";
  if (obs.unavailable !== undefined) return `Boot cannot start: ${obs.unavailable.cause}`;
  if (record.nextAttemptAt !== null && now < record.nextAttemptAt) {
    const cause = record.failedToStart?.cause ?? record.lastExit ?? "its last start failed";
    return `Boot cannot start: ${cause}; next attempt in ${formatAge(record.nextAttemptAt - now)}`;
  }
  return null;
}

function failedStartAlert(
  identity: string,
  failure: { cause: string; fix: string; line: string | null },
  limits: PolicyLimits,
): Alert {
  return {
    kind: "failed_to_start",
    message: `${failedStartMessage(identity, failure, limits.crashLoop.retryMs)}; meanwhile a degraded triage keeps the Deacon running`,
    identities: [identity],
  };
}

/** What a degraded triage did (reference §5.2 step 2): `.boot-status.json`'s `last_action`, `target`, `error`. */
export interface TriageOutcome {
  readonly lastAction: "start" | "nothing" | "error";
  readonly target?: string;
  readonly error?: string;
}

/**
 * The outcome of a degraded triage, from the planner's decision for the Deacon in the same pass and, when
 * that was a start, its result: a missing Deacon started is `start`, a running one `nothing`; a Deacon that
 * cannot be started now (a failed spawn, a backoff, a missing command) is `error`.
 */
export function triageOutcome(
  decision: Decision | undefined,
  result: { readonly ok: boolean; readonly detail: string } | undefined,
): TriageOutcome {
  if (decision === undefined) return { lastAction: "error", error: "the Deacon is not supervised" };
  if (decision.action === "spawn" || decision.action === "respawn") {
    if (result === undefined || result.ok) return { lastAction: "start", target: "deacon" };
    return { lastAction: "error", target: "deacon", error: result.detail };
  }
  const notRunning = decision.verdict !== "alive" && decision.verdict !== "hung";
  if (decision.action === "wait" || (notRunning && decision.holdBy !== undefined)) {
    return { lastAction: "error", target: "deacon", error: `the Deacon is not running: ${decision.reason}` };
  }
  return { lastAction: "nothing" };
}

/** `.boot-status.json` in the reference's shape: `target` and `error` only when set, times always. */
export function bootStatusJson(
  outcome: TriageOutcome,
  startedAt: Date,
  completedAt: Date,
): Record<string, unknown> {
  return {
    running: false,
    started_at: startedAt.toISOString(),
    completed_at: completedAt.toISOString(),
    last_action: outcome.lastAction,
    ...(outcome.target === undefined ? {} : { target: outcome.target }),
    ...(outcome.error === undefined ? {} : { error: outcome.error }),
  };
}
