import { conductContext } from "./context.js";
import { conductIdle } from "./idle.js";
import { conductLadder } from "./ladder.js";
import { conductPermission } from "./permission.js";
import {
  NO_CONDUCT,
  type AgentConduct,
  type ConductAct,
  type ConductAgent,
  type ConductAlert,
  type ConductLimits,
  type ConductState,
} from "./types.js";
import { conductWall, WallDesk } from "./walls.js";

export interface ConductInput {
  readonly now: number;
  readonly agents: readonly ConductAgent[];
  readonly state: ConductState;
  readonly limits: ConductLimits;
  /** How a time reads in messages, e.g. "15:42" (the supervisor formats in the daemon's zone). */
  readonly formatTime: (at: number) => string;
}

/** What conduct asks for one agent this pass. */
export interface AgentConductPlan {
  /** Keys or a nudge, carried out only when the planner leaves the agent alone this pass. */
  readonly act?: ConductAct;
  /** The stuck ladder's respawn: the planner treats the agent as hung (resume: the conversation to resume). */
  readonly stuck?: {
    readonly reason: string;
    readonly resume: string | null;
    readonly resumeFailed: boolean;
  };
  /** A walled agent that died: no death counted, no respawn before `until`. */
  readonly wall?: { readonly until: number; readonly reason: string };
  /** A cycle with a handoff to request (context nearly full). */
  readonly cycle?: string;
  /** A person is needed; the agent shows needs-human. */
  readonly needsHuman?: string;
  /** What `why` says about it. */
  readonly note?: string;
}

export interface ConductPlan {
  readonly agents: ReadonlyMap<string, AgentConductPlan>;
  readonly alerts: readonly ConductAlert[];
  readonly state: ConductState;
  /** When something here is due next (daemon time). */
  readonly wakeAt: number | null;
}

/**
 * Decides, for every agent, the action its activity calls for (see types.ts). Pure: no I/O, no clock.
 * One act per agent per pass; a context cycle goes before an idle nudge.
 */
export function planConduct(input: ConductInput): ConductPlan {
  const { now, limits } = input;
  const desk = new WallDesk(input.state, limits.wall, input.formatTime);
  const memories = new Map<string, AgentConduct>();
  const plans = new Map<string, AgentConductPlan>();
  const alerts: ConductAlert[] = [];
  let wakeAt: number | null = null;
  const wakeBy = (at: number | undefined): void => {
    if (at !== undefined) wakeAt = wakeAt === null ? at : Math.min(wakeAt, at);
  };

  for (const agent of input.agents) {
    const memory = input.state.agents.get(agent.identity) ?? NO_CONDUCT;
    if (!agent.wanted) {
      memories.set(agent.identity, memory);
      continue;
    }
    const wall = conductWall(agent, memory.wall, desk, limits.wall, now, input.formatTime);
    const permission = conductPermission(
      agent,
      { notified: memory.permissionNotified, approved: memory.permissionApproved },
      limits.permission,
      now,
    );
    const ladder = conductLadder(agent, memory.ladder, limits.stuck, now);
    const idle = conductIdle(agent, memory.idle, limits, now);
    const context = conductContext(agent, memory.contextCycledFor, limits);
    memories.set(agent.identity, {
      wall: wall.memory,
      permissionNotified: permission.notified,
      permissionApproved: permission.approved,
      idle: context.cycle === undefined ? idle.idle : memory.idle,
      ladder: ladder.ladder,
      contextCycledFor: context.cycledFor,
    });
    for (const step of [wall, permission, ladder, idle]) {
      wakeBy(step.recheckAt);
      if (step.alert !== undefined) alerts.push(step.alert);
    }
    // Nothing is typed into an agent whose start-up sequence still runs; it has its own nudges.
    const act = agent.starting
      ? undefined
      : (wall.act ?? permission.act ?? ladder.act ?? (context.cycle === undefined ? idle.act : undefined));
    const note = wall.note ?? permission.note ?? ladder.note ?? context.note ?? idle.note;
    const plan: AgentConductPlan = {
      ...(act === undefined ? {} : { act }),
      ...(ladder.stuck === undefined ? {} : { stuck: ladder.stuck }),
      ...(wall.hold === undefined ? {} : { wall: wall.hold }),
      ...(context.cycle === undefined || agent.starting ? {} : { cycle: context.cycle }),
      ...(ladder.needsHuman === undefined ? {} : { needsHuman: ladder.needsHuman }),
      ...(note === undefined ? {} : { note }),
    };
    if (Object.keys(plan).length > 0) plans.set(agent.identity, plan);
  }
  wakeBy(desk.close(now, new Set(input.agents.map((a) => a.identity))) ?? undefined);
  alerts.unshift(...desk.alerts);
  return {
    agents: plans,
    alerts,
    state: { agents: memories, ...desk.state() },
    wakeAt,
  };
}
