import { readStatusline } from "../activity/hooks/statusline.js";
import { TranscriptProgress } from "../activity/progress.js";
import type { Activity } from "../activity/state.js";
import type { AgentConductPlan, ConductPlan } from "../conduct/conduct.js";
import { activityView, conductAgent, ConductMemory, observedWithConduct } from "../conduct/pass.js";
import type { AgentObservation } from "../policy/plan.js";
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
  private readonly memory = new ConductMemory();
  private readonly transcripts = new TranscriptProgress();

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
    const agents = observed.map((agent) => {
      const identity = agent.desired.identity;
      const generation = agent.generation;
      const activity = readable(tracker.activity(identity));
      const claude = this.deps.profileOf(agent) === "claude";
      const statusline =
        claude && generation !== null ? readStatusline(this.deps.statuslineDir, generation) : null;
      const session = hooks.session(identity, generation);
      const transcriptPath = session?.transcriptPath ?? statusline?.transcriptPath ?? null;
      const working = activity?.state === "working" || activity?.state === "compacting";
      const screenAt = tracker.screens.changedAt(identity, generation);
      return conductAgent(
        agent,
        records.get(identity),
        {
          activity: activity === undefined ? undefined : activityView(activity, toDaemon),
          transcriptGrewAt: working ? this.transcripts.note(identity, transcriptPath, now) : null,
          screenChangedAt: screenAt === null ? null : screenAt + toDaemon,
          hookAt: hooks.lastBeat(identity, generation),
          contextPercent: statusline?.contextPercent ?? null,
          resumeSession: claude ? (session?.sessionId ?? statusline?.sessionId ?? null) : null,
          starting: this.deps.isStarting(identity),
        },
        limits,
      );
    });
    return this.memory.plan({ now, agents, limits, formatTime: (at) => clockTime(at - toDaemon) });
  }

  /** What conduct decided for an agent in the last pass. */
  of(identity: string): AgentConductPlan | undefined {
    return this.memory.of(identity);
  }
}

/** The observation the planner gets: stuck rungs and walls from conduct, and an activity it can trust. */
export function withConduct(
  agent: ObservedAgent,
  tracker: ActivityTracker,
  plan: AgentConductPlan | undefined,
): AgentObservation & ObservedAgent {
  return observedWithConduct(agent, readable(tracker.activity(agent.desired.identity))?.state, plan);
}

/** A screen that shows nothing townd knows is no activity at all: the watchdog judges such an agent. */
function readable(activity: Activity | undefined): Activity | undefined {
  return activity?.source === "screen" && activity.detail === UNREADABLE_SCREEN ? undefined : activity;
}

/** "15:42" in the daemon's zone, with the date when it is not today. */
function clockTime(wall: number): string {
  const at = new Date(wall);
  const time = at.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
  return at.toDateString() === new Date().toDateString() ? time : `${at.toISOString().slice(0, 10)} ${time}`;
}
