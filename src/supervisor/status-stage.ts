import { pruneStatuslines } from "../activity/hooks/statusline.js";
import { runtimeProfile, type RuntimeProfile } from "../activity/profiles.js";
import type { Logger } from "../daemon/logger.js";
import { fsErrorMessage } from "../errors.js";
import type { Decision } from "../policy/plan.js";
import { emptyRecord, type AgentRecord, type TownPolicyState } from "../policy/record.js";
import type { TownConfig } from "../town/config.js";
import type { TownPaths } from "../town/paths.js";
import { clockSkew, type DaemonClock } from "../util/monotonic-clock.js";
import type { ActivityTracker } from "./activity-tracker.js";
import { agentState, failedStartDetail } from "./agent-state.js";
import { recordToStatus, writeAgentsFile, type AgentStatus } from "./agents-file.js";
import type { ConductStage } from "./conduct-stage.js";
import type { HookActivity } from "./hook-activity.js";
import type { ObservedAgent } from "./observe.js";
import { shiftRecord, shiftTown } from "./persisted-times.js";
import { runtimeFor } from "./spawn-spec.js";
import type { Startups } from "./startups.js";

export interface StatusStageDeps {
  readonly paths: TownPaths;
  readonly clock: DaemonClock;
  readonly startups: Startups;
  readonly conduct: ConductStage;
  readonly tracker: ActivityTracker;
  readonly hooks: HookActivity;
  readonly statuslineDir: string;
  readonly logger: () => Logger;
  /** Told after every write: the dashboard's live view follows it. */
  readonly changed: () => void;
  /** Whether tmux itself respawns the agent when it dies (its pane's hook is armed). */
  readonly armed: (identity: string) => boolean;
}

export interface StatusInput {
  readonly observed: readonly ObservedAgent[];
  readonly decisions: readonly Decision[];
  readonly records: ReadonlyMap<string, AgentRecord>;
  readonly town: TownPolicyState;
  readonly config: TownConfig;
  readonly signal: AbortSignal;
}

/**
 * The record stage's status: every agent's state, detail and activity (its screen read now, where its
 * hooks are quiet), written to daemon/agents.json and kept for the control API. A disk that refuses the
 * write is said once per distinct error; supervision goes on from memory.
 */
export class StatusStage {
  private readonly deps: StatusStageDeps;
  private writeError = "";
  statuses: AgentStatus[] = [];
  statusesAt: string | null = null;

  constructor(deps: StatusStageDeps) {
    this.deps = deps;
  }

  /** Writes every agent's status; returns when a screen wants a second look. */
  async write(input: StatusInput): Promise<number | null> {
    const { startups, conduct, tracker, hooks, clock, paths } = this.deps;
    const decisionOf = new Map<string, Decision>();
    for (const decision of input.decisions)
      if (decision.requestId === undefined || !decisionOf.has(decision.identity))
        decisionOf.set(decision.identity, decision);
    const toWall = -clockSkew(clock);
    const views = input.observed.map((agent) => {
      const identity = agent.desired.identity;
      const record = input.records.get(identity) ?? emptyRecord(identity, agent.desired.session);
      const conducted = conduct.of(identity);
      const blockedBy = startups.blockedBy(identity);
      const decision = decisionOf.get(identity);
      const starting = startups.isStarting(identity);
      // What the process and start-up say (the activity's source), then what conduct adds: a stall the
      // whole ladder did not cure needs a person too, while its activity stays what it is.
      const processState = agentState(agent, decision, starting, record, blockedBy);
      const stuck = conducted?.needsHuman ?? null;
      const state = stuck === null ? processState : agentState(agent, decision, starting, record, stuck);
      const detail =
        blockedBy ??
        stuck ??
        failedStartDetail(record) ??
        (agent.verdict === "alive" && agent.watchdog !== undefined && !record.heartbeatSeen
          ? "no heartbeat yet"
          : null) ??
        conducted?.note ??
        null;
      return { agent, record, state, processState, detail, profile: profileOf(agent, input.config) };
    });
    pruneStatuslines(
      this.deps.statuslineDir,
      new Set(input.observed.flatMap((agent) => (agent.generation === null ? [] : [agent.generation]))),
    );
    const looked = await tracker.observe(
      views.map((v) => ({ observed: v.agent, state: v.processState, detail: v.detail, profile: v.profile })),
      input.signal,
    );
    const statuses = views.map(({ agent, record, state, detail }) => {
      const identity = agent.desired.identity;
      const decision = decisionOf.get(identity);
      const held = decision?.action === "wait" && decision.holdBy !== "zombie-check" ? decision : undefined;
      return recordToStatus(shiftRecord(record, toWall), {
        role: agent.desired.id.role,
        rig: agent.desired.id.rig ?? null,
        state,
        detail,
        activity: tracker.json(identity),
        session: hooks.session(identity, agent.generation),
        pid: agent.pane !== undefined && !agent.pane.dead ? agent.pane.panePid : null,
        heartbeatAt: heartbeatOf(agent, hooks.lastBeat(identity, agent.generation), toWall),
        respawnArmed: this.deps.armed(identity),
        hold:
          held?.holdBy === undefined || held.until === undefined
            ? undefined
            : { by: held.holdBy, until: held.until + toWall },
      });
    });
    try {
      writeAgentsFile(paths, statuses, shiftTown(input.town, toWall), clock.wall());
      this.writeError = "";
    } catch (error) {
      // A full or read-only disk: keep supervising from memory, and say so once per distinct error.
      const message = `Cannot write ${paths.agentsFile}: ${fsErrorMessage(error)}`;
      if (message !== this.writeError) this.deps.logger().error(`${message}; supervision goes on`);
      this.writeError = message;
    }
    this.statuses = statuses;
    this.statusesAt = new Date(clock.wall()).toISOString();
    this.deps.changed();
    return looked.wakeAt;
  }
}

/** The agent's latest heartbeat (its file or a hook event), as a wall-clock time; null when none. */
function heartbeatOf(agent: ObservedAgent, hookBeat: number | null, toWall: number): number | null {
  const at = agent.heartbeatAt ?? hookBeat;
  return at === null ? null : at + toWall;
}

/** The profile an agent's screen is read with; null when its runtime cannot be resolved. */
export function profileOf(agent: ObservedAgent, config: TownConfig): RuntimeProfile | null {
  try {
    return runtimeProfile(runtimeFor(agent.desired.id, config).profile);
  } catch {
    return null;
  }
}
