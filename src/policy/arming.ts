import { START_SETTLED_MS, countDeath } from "./assess.js";
import type { PolicyLimits } from "./limits.js";
import type { AgentObservation, Alert, Decision, PlanInput } from "./plan.js";
import type { AgentRecord, TownPolicyState } from "./record.js";
import { gateRestart } from "./restart-gate.js";

/**
 * Pre-armed respawn. tmux itself can respawn a dead pane from the pane's own `pane-died` hook a few
 * milliseconds after the death, with nothing outside the server in between; the daemon would take a pass
 * (a wake-up, a snapshot, a plan, a tmux call) to do the same. The planner stays the only authority: after
 * each pass it arms exactly the agents whose death right now it would answer with an immediate respawn,
 * and gives tmux a town-wide count of respawns (`tokens`, at most one) that the armed hooks consume, so no
 * burst of deaths can spend more of the spawn budget or come nearer the mass-death pause than a pass would
 * allow, and deaths that come together are left to a pass that sees them together.
 * A fired hook disarms itself; the next pass records the death and the respawn as if it had made them
 * (recordArmedRespawn) and arms the agent again only if the policy still says "at once".
 */

/**
 * Roles whose want does not change without the daemon seeing it: patrol agents are wanted by the town's
 * configuration. A polecat is wanted while it holds work, which it can give up the moment before it exits,
 * so its exit is always left to a pass; Boot's exit is no death at all.
 */
const ARMABLE_ROLES: ReadonlySet<string> = new Set(["mayor", "deacon", "witness", "refinery", "crew"]);

/**
 * A generation is armed only once it has run this long (the daemon passes its start-failure window): a CLI
 * that exits during its start is a failed start, whose screen says why, and a respawn would wipe it.
 */
export const ARM_AFTER_MS = START_SETTLED_MS;

export interface ArmingInput extends Pick<PlanInput, "now" | "limits" | "serverRestarted"> {
  /** How long a generation must have run to be armed; ARM_AFTER_MS when absent. */
  readonly armAfterMs?: number;
  /** Agents whose start-up sequence still runs: not armed until it is done. */
  readonly starting?: (identity: string) => boolean;
}

/**
 * Activity states after which an exit is no death, or would be answered otherwise than by a respawn. A
 * start-up still running is the daemon's to say (ArmingInput.starting), not the activity's: an agent whose
 * screen no profile reads keeps the "starting" it was given at its start.
 */
const NOT_ARMED_ACTIVITY: ReadonlySet<string> = new Set(["rate-limited", "failed-to-start"]);

export interface ArmingPlan {
  /** The agents whose next death tmux answers at once. */
  readonly armed: ReadonlySet<string>;
  /** How many armed respawns the town allows before its next pass (0: none is armed). */
  readonly tokens: number;
  /** When an agent left out only because its generation is young may be armed: look again then. */
  readonly wakeAt: number | null;
}

export const NOTHING_ARMED: ArmingPlan = { armed: new Set(), tokens: 0, wakeAt: null };

/**
 * How many respawns tmux may make before the daemon's next pass, at most. One: deaths that come together
 * are the pattern the mass-death pause is for, and only a pass sees them together. So tmux answers the
 * first at once and leaves the others to the pass its hook wakes (a few milliseconds later), which counts
 * them all; two or more agents dying at once are answered as they would be without arming, but for one.
 */
export const AHEAD_OF_THE_DAEMON = 1;

/**
 * Which agents to arm after a pass, from the pass's own decisions and the records and town state it left.
 * An agent is armed when it was left alone alive in this pass (no action, no hold, no request), runs the
 * generation its record knows, has run for ARM_AFTER_MS, is not walled, stuck or held, and a death now
 * would pass every gate of the restart policy at once without an alert: the backoff (a first death after
 * a stable run), the crash-loop budget, the spawn budget and the mass-death count.
 */
export function planArming(
  input: ArmingInput,
  agents: readonly AgentObservation[],
  decisions: readonly Decision[],
  records: ReadonlyMap<string, AgentRecord>,
  town: TownPolicyState,
): ArmingPlan {
  const { now, limits } = input;
  if (input.serverRestarted === true) return NOTHING_ARMED;
  const tokens = Math.min(AHEAD_OF_THE_DAEMON, townTokens(town, now, limits));
  if (tokens <= 0) return NOTHING_ARMED;
  const decided = new Map<string, Decision[]>();
  for (const decision of decisions) {
    const list = decided.get(decision.identity) ?? [];
    list.push(decision);
    decided.set(decision.identity, list);
  }
  const armed = new Set<string>();
  let wakeAt: number | null = null;
  const armAfterMs = input.armAfterMs ?? ARM_AFTER_MS;
  for (const obs of agents) {
    const { identity } = obs.desired;
    const record = records.get(identity);
    if (record === undefined) continue;
    const mine = decided.get(identity) ?? [];
    if (mine.length !== 1 || mine[0]?.action !== "none" || mine[0].requested === true) continue;
    if (!armable(obs, record) || input.starting?.(identity) === true) continue;
    const settledAt = (record.startedAt ?? now) + armAfterMs;
    if (now < settledAt) {
      wakeAt = wakeAt === null ? settledAt : Math.min(wakeAt, settledAt);
      continue;
    }
    if (respawnsAtOnce(record, town, now, limits, input)) armed.add(identity);
  }
  return { armed, tokens: armed.size === 0 ? 0 : tokens, wakeAt };
}

function armable(obs: AgentObservation, record: AgentRecord): boolean {
  return (
    obs.verdict === "alive" &&
    obs.desired.wanted &&
    ARMABLE_ROLES.has(obs.desired.id.role) &&
    obs.generation !== null &&
    obs.generation === record.generation &&
    record.startedAt !== null &&
    record.stoppedReason === null &&
    record.operatorHold === null &&
    record.failedToStart === null &&
    // A crash loop's slow retries are the daemon's to watch, one at a time.
    record.crashLoopSince === null &&
    record.zombieSince === null &&
    obs.wall === undefined &&
    obs.stuck === undefined &&
    obs.armedRespawn === undefined &&
    (obs.activity === undefined || !NOT_ARMED_ACTIVITY.has(obs.activity))
  );
}

/** The planner's answer to this agent's death now, were it the only one: a respawn at once, no alert. */
function respawnsAtOnce(
  record: AgentRecord,
  town: TownPolicyState,
  now: number,
  limits: PolicyLimits,
  input: Pick<PlanInput, "now" | "limits">,
): boolean {
  const dead = countDeath(record, "pane died", { ...input, agents: [], records: new Map() });
  const gate = gateRestart(dead, town, "pane died", now, limits);
  return gate.go && gate.alerts.length === 0;
}

/**
 * Armed respawns the town can take before its next pass: what is left of the spawn budget, and the
 * deaths that may still come before the mass-death pause (each armed respawn answers a death, and the
 * pass that counts the death that completes the pause must find no armed respawn beyond it).
 */
export function townTokens(town: TownPolicyState, now: number, limits: PolicyLimits): number {
  if (town.massDeathUntil !== null && now < town.massDeathUntil) return 0;
  const budgetLeft =
    limits.spawnBudget.count - town.spawnTimes.filter((t) => now - t < limits.spawnBudget.windowMs).length;
  const dying = new Set(
    town.deaths.filter((d) => now - d.at < limits.massDeath.windowMs).map((d) => d.identity),
  );
  const deathsLeft = limits.massDeath.count - 1 - dying.size;
  return Math.max(0, Math.min(budgetLeft, deathsLeft));
}

/**
 * The restart policy's bookkeeping for a respawn tmux has already made (its death was counted in the pass's
 * first part, like any death): the restart counts in the crash-loop window and the spawn budget, and its
 * reason is the death's, as for a respawn the daemon makes. The gate is asked as for any restart; should it
 * hold (only when deaths the hook did not answer came in the same moment), the respawn is counted all the
 * same, and the reason says which gate the hook got ahead of.
 */
export function recordArmedRespawn(
  record: AgentRecord,
  town: TownPolicyState,
  reason: string,
  now: number,
  limits: PolicyLimits,
): { record: AgentRecord; town: TownPolicyState; alerts: Alert[]; reason: string } {
  const gate = gateRestart(record, town, reason, now, limits);
  if (gate.go) return { record: gate.record, town: gate.town, alerts: gate.alerts, reason };
  const recent = gate.record.restartTimes.filter((t) => now - t < limits.crashLoop.windowMs);
  return {
    record: { ...gate.record, restartTimes: [...recent, now] },
    town: { ...gate.town, spawnTimes: [...gate.town.spawnTimes, now] },
    alerts: gate.alerts,
    reason: `${reason}; respawned at once by its armed pane-died hook, before the daemon could hold it (${gate.reason})`,
  };
}
