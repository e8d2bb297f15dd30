import { readStatusline } from "../activity/hooks/statusline.js";
import { TranscriptProgress } from "../activity/progress.js";
import type { Activity, ActivityStateName } from "../activity/state.js";
import { planConduct, type AgentConductPlan, type ConductPlan } from "../conduct/conduct.js";
import { EMPTY_CONDUCT, type ActivityView, type ConductAgent, type ConductState } from "../conduct/types.js";
import type { Action, AgentObservation, Decision, ManualRequest } from "../policy/plan.js";
import type { DesiredAgent } from "../policy/desired.js";
import type { AgentRecord } from "../policy/record.js";
import type { TownConfig } from "../town/config.js";
import { clockSkew, type DaemonClock } from "../util/monotonic-clock.js";
import { UNREADABLE_SCREEN, type ActivityTracker } from "./activity-tracker.js";
import type { HookActivity } from "./hook-activity.js";
import type { ObservedAgent } from "./observe.js";

export interface ConductStageDeps {
  readonly tracker: ActivityTracker;
  readonly hooks: Pick<HookActivity, "session" | "lastBeat">;
  /** daemon/statusline: each Claude generation's last statusline JSON (context use, session). */
  readonly statuslineDir: string;
  readonly clock: DaemonClock;
  /** The runtime profile an agent runs under ("claude" can resume a conversation), null when unknown. */
  readonly profileOf: (agent: ObservedAgent) => string | null;
  readonly isStarting: (identity: string) => boolean;
}

/**
 * The intake stage of conduct: turns what the daemon knows of each agent (activity, hook beats, screen
 * and transcript progress, statusline) into conduct's input in daemon time, keeps conduct's memory from
 * pass to pass, and hands the planner what it must know (stuck rungs, walls, cycles).
 */
export class ConductStage {
  private readonly deps: ConductStageDeps;
  private state: ConductState = EMPTY_CONDUCT;
  private readonly transcripts = new TranscriptProgress();
  private last: ConductPlan | undefined;

  constructor(deps: ConductStageDeps) {
    this.deps = deps;
  }

  plan(
    observed: readonly ObservedAgent[],
    records: ReadonlyMap<string, AgentRecord>,
    config: TownConfig,
  ): ConductPlan {
    const { clock, tracker, hooks } = this.deps;
    const now = clock.now();
    // Activity times are wall-clock; conduct runs on daemon time like the planner.
    const toDaemon = clockSkew(clock);
    const limits = config.daemon.conduct;
    this.transcripts.retain(new Set(observed.map((a) => a.desired.identity)));
    const agents = observed.map((agent): ConductAgent => {
      const identity = agent.desired.identity;
      const generation = agent.generation;
      const activity = readable(tracker.activity(identity));
      const claude = this.deps.profileOf(agent) === "claude";
      const statusline =
        claude && generation !== null ? readStatusline(this.deps.statuslineDir, generation) : null;
      const session = hooks.session(identity, generation);
      const transcriptPath = session?.transcriptPath ?? statusline?.transcriptPath ?? null;
      const working = activity?.state === "working" || activity?.state === "compacting";
      const grewAt = working ? this.transcripts.note(identity, transcriptPath, now) : null;
      const screenAt = tracker.screens.changedAt(identity, generation);
      return {
        identity,
        role: agent.desired.id.role,
        wanted: agent.desired.wanted,
        verdict: agent.verdict,
        generation,
        startedAt: records.get(identity)?.startedAt ?? null,
        activity: activity === undefined ? undefined : view(activity, toDaemon),
        // Any hook event is progress, whether or not the role has a heartbeat watchdog to count it.
        progressAt: latest(
          agent.heartbeatAt ?? null,
          hooks.lastBeat(identity, generation),
          grewAt,
          screenAt === null ? null : screenAt + toDaemon,
        ),
        contextPercent: statusline?.contextPercent ?? null,
        resumeSession: claude ? (session?.sessionId ?? statusline?.sessionId ?? null) : null,
        stuckAfterMs: agent.watchdog?.veryStaleMs ?? limits.stuck.afterMs,
        starting: this.deps.isStarting(identity),
        staleNudged: records.get(identity)?.staleNudgedFor != null,
      };
    });
    const result = planConduct({
      now,
      agents,
      state: this.state,
      limits,
      formatTime: (at) => clockTime(at - toDaemon),
    });
    this.state = result.state;
    this.last = result;
    return result;
  }

  /**
   * A hook saying an agent is walled or waits for permission starts one of conduct's clocks (a wall's
   * alert and wake, a wait's notification): a pass right away sets it, rather than the next scheduled pass,
   * which may be minutes away. Other changes (a turn starting or ending) wait for their pass.
   */
  static startsClock(state: ActivityStateName): boolean {
    return state === "rate-limited" || state === "awaiting-permission";
  }

  /** What conduct decided for an agent in the last pass. */
  of(identity: string): AgentConductPlan | undefined {
    return this.last?.agents.get(identity);
  }
}

/** The observation the planner gets: stuck rungs and walls from conduct, and an activity it can trust. */
export function withConduct(
  agent: ObservedAgent,
  tracker: ActivityTracker,
  plan: AgentConductPlan | undefined,
): AgentObservation & ObservedAgent {
  const activity = readable(tracker.activity(agent.desired.identity));
  return {
    ...agent,
    activity: activity?.state,
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

/** A screen that shows nothing townd knows is no activity at all: the watchdog judges such an agent. */
function readable(activity: Activity | undefined): Activity | undefined {
  return activity?.source === "screen" && activity.detail === UNREADABLE_SCREEN ? undefined : activity;
}

function view(activity: Activity, toDaemon: number): ActivityView {
  return {
    state: activity.state,
    since: activity.since + toDaemon,
    detail: activity.detail,
    resetsAt:
      activity.resetsAt === undefined || activity.resetsAt === null ? null : activity.resetsAt + toDaemon,
    limit: activity.limit ?? null,
  };
}

function latest(...times: (number | null)[]): number | null {
  const known = times.filter((t): t is number => t !== null);
  return known.length === 0 ? null : Math.max(...known);
}

/** "15:42" in the daemon's zone, with the date when it is not today. */
function clockTime(wall: number): string {
  const at = new Date(wall);
  const time = at.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
  return at.toDateString() === new Date().toDateString() ? time : `${at.toISOString().slice(0, 10)} ${time}`;
}

/**
 * Conduct's keys and nudges, for the agents the planner leaves alone this pass: an agent being respawned,
 * killed, held or answered for a request gets none.
 */
export function conductActions(
  plan: ConductPlan,
  decisions: readonly Decision[],
  agents: ReadonlyMap<string, DesiredAgent>,
): Extract<Action, { kind: "nudge" | "keys" }>[] {
  const busy = new Set(
    decisions.flatMap((d) => (d.action !== "none" || d.requestId !== undefined ? [d.identity] : [])),
  );
  type ConductAction = Extract<Action, { kind: "nudge" | "keys" }>;
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
export function conductData(action: Extract<Action, { kind: "nudge" | "keys" }>): Record<string, unknown> {
  return action.kind === "nudge" ? { act: "nudge", message: action.message } : { act: action.keys };
}
