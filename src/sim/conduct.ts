import { ActivityBook, type ActivityChange } from "../activity/book.js";
import type { Activity, ActivityReading, ActivityStateName } from "../activity/state.js";
import type { ConductPlan } from "../conduct/conduct.js";
import { activityView, conductAgent, ConductMemory } from "../conduct/pass.js";
import type { ConductState } from "../conduct/types.js";
import type { AgentRecord } from "../policy/record.js";
import type { ObservedAgent } from "../supervisor/observe.js";
import type { TownConfig } from "../town/config.js";
import { DAY } from "./clock.js";
import { clockText } from "./agent-activity.js";
import type { TraceEvent } from "./trace.js";
import type { SimWorld } from "./world.js";

export interface SimConductOptions {
  readonly world: SimWorld;
  readonly config: TownConfig;
  readonly trace: TraceEvent[];
  /** When the run started: times in conduct's messages read as "1d 15:42". */
  readonly start: number;
  /** The runtime profile an agent runs under ("claude" can resume a conversation). */
  readonly profileOf: (agent: ObservedAgent) => string | null;
  readonly isStarting: (identity: string) => boolean;
}

/**
 * Conduct in the simulated daemon, through the supervisor's own code (conduct/pass.ts): the activity
 * book the real tracker keeps (hook events as they arrive; the process's `starting` and `dead` once a pass
 * has planned, as the tracker notes them when it writes the status), conduct's memory, and the trace of
 * the ladder's rungs.
 */
export class SimConduct {
  readonly #o: SimConductOptions;
  readonly #book = new ActivityBook();
  readonly #memory = new ConductMemory();

  constructor(options: SimConductOptions) {
    this.#o = options;
  }

  /** A hook event arrives (the real daemon applies them as they come, not once per pass). */
  noteHook(
    identity: string,
    generation: string,
    reading: ActivityReading,
    at: number,
  ): ActivityChange | null {
    return this.#book.note(identity, generation, reading, at);
  }

  /** The activity the planner may trust: none for an agent without hooks whose screen says nothing. */
  activityState(agent: ObservedAgent): ActivityStateName | undefined {
    return this.#activity(agent)?.state;
  }

  plan(
    observed: readonly ObservedAgent[],
    records: ReadonlyMap<string, AgentRecord>,
    now: number,
  ): ConductPlan {
    const { world, config } = this.#o;
    const limits = config.daemon.conduct;
    const before = this.#memory.current;
    const agents = observed.map((agent) => {
      const identity = agent.desired.identity;
      const activity = this.#activity(agent);
      const working = activity?.state === "working" || activity?.state === "compacting";
      const claude = this.#o.profileOf(agent) === "claude";
      return conductAgent(
        agent,
        records.get(identity),
        {
          activity: activity === undefined ? undefined : activityView(activity, 0),
          transcriptGrewAt: working ? world.activity.transcriptGrewAt(identity, agent.generation) : null,
          screenChangedAt: null,
          contextPercent: null,
          resumeSession: claude ? world.activity.session(identity) : null,
          starting: this.#o.isStarting(identity),
        },
        limits,
      );
    });
    const result = this.#memory.plan({
      now,
      agents,
      limits,
      formatTime: (at) => `${Math.floor((at - this.#o.start) / DAY)}d ${clockText(at)}`,
    });
    this.#traceRungs(before, result.state, now, agents);
    return result;
  }

  /** What conduct decided for an agent in the last pass. */
  needsHuman(identity: string): string | undefined {
    return this.#memory.of(identity)?.needsHuman;
  }

  /** The tracker's process readings, noted after the plan (Supervisor.writeStatus). */
  afterPass(observed: readonly ObservedAgent[], now: number): void {
    for (const agent of observed) {
      const { identity } = agent.desired;
      if (this.#o.isStarting(identity)) {
        this.#book.note(identity, agent.generation, starting, now);
      } else if (agent.verdict !== "alive") {
        this.#book.note(identity, agent.generation, { ...dead, detail: agent.verdictReason }, now);
      }
    }
  }

  #activity(agent: ObservedAgent): Activity | undefined {
    const { identity } = agent.desired;
    // A live agent without hooks: the real tracker reads a screen it cannot classify, which says nothing.
    if (
      agent.verdict === "alive" &&
      !this.#o.isStarting(identity) &&
      !this.#o.world.activity.hooked(identity)
    )
      return undefined;
    return this.#book.get(identity);
  }

  /** A rung taken in this pass goes to the trace, for the invariant that the ladder climbs one at a time. */
  #traceRungs(
    before: ConductState,
    after: ConductState,
    now: number,
    agents: readonly { identity: string; generation: string | null; resumeSession: string | null }[],
  ): void {
    for (const agent of agents) {
      const ladder = after.agents.get(agent.identity)?.ladder ?? null;
      if (ladder === null || ladder.at !== now || ladder.resolvedAt !== null) continue;
      const previous = before.agents.get(agent.identity)?.ladder ?? null;
      if (previous !== null && previous.at === now && previous.rung === ladder.rung) continue;
      this.#o.trace.push({
        type: "rung",
        at: now,
        identity: agent.identity,
        generation: agent.generation,
        rung: ladder.rung,
        resumable: agent.resumeSession !== null,
        reason: this.#memory.of(agent.identity)?.note ?? "",
      });
    }
  }
}

const starting: ActivityReading = {
  state: "starting",
  source: "process",
  detail: "start-up sequence running",
};
const dead: ActivityReading = { state: "dead", source: "process", detail: "" };
