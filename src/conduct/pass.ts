import type { ActivityChange } from "../activity/book.js";
import type { Activity, ActivityStateName } from "../activity/state.js";
import type { DesiredAgent } from "../policy/desired.js";
import type { Action, AgentObservation, Decision, ManualRequest } from "../policy/plan.js";
import type { AgentRecord } from "../policy/record.js";
import { planConduct, type AgentConductPlan, type ConductInput, type ConductPlan } from "./conduct.js";
import {
  EMPTY_CONDUCT,
  type ActivityView,
  type ConductAgent,
  type ConductLimits,
  type ConductState,
} from "./types.js";

/**
 * Conduct inside a daemon pass, shared by the supervisor (supervisor/conduct-stage.ts) and the day
 * simulator (sim/conduct.ts), so both run one implementation: what goes into conduct for each agent,
 * its memory from pass to pass, and what comes out for the planner (stuck rungs, walls, cycles) and the
 * executor (keys and nudges). Pure: the caller reads hooks, transcripts and screens.
 */

/** What the daemon knows of one agent beside its observation, in daemon time. */
export interface ConductFacts {
  readonly activity: ActivityView | undefined;
  /** When its transcript last grew while it works; null when unknown or not working. */
  readonly transcriptGrewAt: number | null;
  /** When its screen last changed beyond the spinner; null when it is not read. */
  readonly screenChangedAt: number | null;
  /**
   * When its generation last fired a hook; a role with a heartbeat watchdog has it in its heartbeat already,
   * one without has it only here.
   */
  readonly hookAt?: number | null;
  readonly contextPercent: number | null;
  readonly resumeSession: string | null;
  readonly starting: boolean;
}

/** Conduct's view of one observed agent. */
export function conductAgent(
  agent: AgentObservation,
  record: AgentRecord | undefined,
  facts: ConductFacts,
  limits: ConductLimits,
): ConductAgent {
  return {
    identity: agent.desired.identity,
    role: agent.desired.id.role,
    wanted: agent.desired.wanted,
    verdict: agent.verdict,
    generation: agent.generation,
    startedAt: record?.startedAt ?? null,
    activity: facts.activity,
    // A heartbeat, a hook event, transcript growth, a changed screen: any of them is progress.
    progressAt: latest(
      agent.heartbeatAt ?? null,
      facts.hookAt ?? null,
      facts.transcriptGrewAt,
      facts.screenChangedAt,
    ),
    contextPercent: facts.contextPercent,
    resumeSession: facts.resumeSession,
    stuckAfterMs: agent.watchdog?.veryStaleMs ?? limits.stuck.afterMs,
    starting: facts.starting,
    staleNudged: record?.staleNudgedFor != null,
  };
}

/** An activity as conduct sees it: `toDaemon` moves its wall-clock times to daemon time. */
export function activityView(activity: Activity, toDaemon: number): ActivityView {
  return {
    state: activity.state,
    since: activity.since + toDaemon,
    detail: activity.detail,
    resetsAt:
      activity.resetsAt === undefined || activity.resetsAt === null ? null : activity.resetsAt + toDaemon,
    limit: activity.limit ?? null,
  };
}

/** Conduct's memory from pass to pass, and what it decided in the last one. */
export class ConductMemory {
  private state: ConductState = EMPTY_CONDUCT;
  private last: ConductPlan | undefined;

  plan(input: Omit<ConductInput, "state">): ConductPlan {
    const result = planConduct({ ...input, state: this.state });
    this.state = result.state;
    this.last = result;
    return result;
  }

  /** What conduct decided for an agent in the last pass. */
  of(identity: string): AgentConductPlan | undefined {
    return this.last?.agents.get(identity);
  }

  /** What conduct remembers now (the simulator reads the ladder's rungs from it). */
  get current(): ConductState {
    return this.state;
  }
}

/** The observation the planner gets: stuck rungs and walls from conduct, and the activity it can trust. */
export function observedWithConduct<T extends AgentObservation>(
  agent: T,
  activity: ActivityStateName | undefined,
  plan: AgentConductPlan | undefined,
): T {
  return {
    ...agent,
    activity,
    ...(plan?.stuck === undefined ? {} : { stuck: plan.stuck }),
    ...(plan?.wall === undefined ? {} : { wall: plan.wall }),
  };
}

/** Conduct's context cycles, as the requests an agent's own `cycle` would make. */
export function cycleRequests(plan: ConductPlan): ManualRequest[] {
  return [...plan.agents.entries()].flatMap(([identity, p]) =>
    p.cycle === undefined ? [] : [{ identity, kind: "cycle" as const, reason: p.cycle }],
  );
}

export type ConductAction = Extract<Action, { kind: "nudge" | "keys" }>;

/**
 * Conduct's keys and nudges, for the agents the planner leaves alone this pass: an agent being respawned,
 * killed, held or answered for a request gets none.
 */
export function conductActions(
  plan: ConductPlan,
  decisions: readonly Decision[],
  agents: ReadonlyMap<string, DesiredAgent>,
): ConductAction[] {
  const busy = new Set(
    decisions.flatMap((d) => (d.action !== "none" || d.requestId !== undefined ? [d.identity] : [])),
  );
  return [...plan.agents.entries()].flatMap(([identity, p]): ConductAction[] => {
    const session = agents.get(identity)?.session;
    if (p.act === undefined || session === undefined || busy.has(identity)) return [];
    const { act } = p;
    if (act.kind === "nudge")
      return [{ kind: "nudge", identity, session, reason: act.reason, message: act.message }];
    return [
      {
        kind: "keys",
        identity,
        session,
        reason: act.reason,
        keys: act.keys,
        ...(act.message === undefined ? {} : { message: act.message }),
      },
    ];
  });
}

/** The event data of one conduct act, for `events` and `why`. */
export function conductData(action: ConductAction): Record<string, unknown> {
  return action.kind === "nudge" ? { act: "nudge", message: action.message } : { act: action.keys };
}

function latest(...times: (number | null)[]): number | null {
  const known = times.filter((t): t is number => t !== null);
  return known.length === 0 ? null : Math.max(...known);
}

/** Activity states conduct answers in the pass right after they arrive (a hook event is no pass by itself). */
const ACTS_AT_ONCE: ReadonlySet<string> = new Set(["rate-limited", "awaiting-permission"]);

/**
 * Whether an activity change calls for a pass now: a wall or a permission prompt (grouped, woken, approved
 * by a rule, and the agent's armed respawn taken down), or the end of a wall. Other changes wait for the
 * pass their timers ask for.
 */
export function actsAtOnce(change: ActivityChange): boolean {
  return ACTS_AT_ONCE.has(change.to.state) || change.from?.state === "rate-limited";
}
