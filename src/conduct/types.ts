import type { ActivityStateName, UsageLimitKind } from "../activity/state.js";
import type { Verdict } from "../policy/plan.js";
import type { Role } from "../town/identity.js";

/**
 * Conduct: what townd does about what a live agent is doing (issue "act on activity"). Every activity state
 * that needs something ends in an action, bounded and recorded: a usage-limit wall is woken after its reset,
 * a long permission wait is told to a person once, an idle patrol is nudged, a stalled turn climbs a
 * ladder (nudge → Escape → resume → fresh → needs-human), a full context is cycled. All of it is pure: the
 * supervisor feeds observations in daemon time and carries out what comes back.
 */

/** One tool a setting lets townd approve by itself: the tool's name and a pattern its command must match. */
export interface ApprovalRule {
  readonly tool: string;
  readonly command: RegExp;
}

export interface ConductLimits {
  readonly wall: {
    /** Wake this long after the announced reset (clocks differ; the window opens a little late). */
    readonly skewMs: number;
    /** Walled agents are woken one at a time, this far apart, so they do not race into the new window. */
    readonly staggerMs: number;
    /** Agents walled within this of each other are one wall: one alert. */
    readonly groupWindowMs: number;
    /** With no reset time known, a wake is tried this often. */
    readonly unknownRetryMs: number;
    /** How long after a wake the agent has to leave the wall before the wake counts as failed. */
    readonly checkAfterMs: number;
    /** Failed wakes before one alert escalates the wall to a person (wakes go on at the slow cadence). */
    readonly maxWakes: number;
  };
  readonly permission: {
    /** A permission wait this long is told to a person (once per wait). */
    readonly notifyAfterMs: number;
    /** What townd may approve by itself; empty by default: it approves nothing. */
    readonly autoApprove: readonly ApprovalRule[];
  };
  /** A patrol agent idle at its prompt this long gets its patrol nudge again; 0 turns it off. */
  readonly idlePatrolNudgeAfterMs: number;
  readonly stuck: {
    /** A working agent without progress this long is stuck (roles with a watchdog use its very-stale limit). */
    readonly afterMs: number;
    /** How long each rung of the ladder is given to bring progress back before the next one. */
    readonly rungWaitMs: number;
  };
  /** Context use (percent) at which an agent is cycled with a handoff, by role; null: never. */
  readonly contextCyclePercent: (role: Role) => number | null;
}

/** What the daemon knows of an agent's activity, in daemon time. */
export interface ActivityView {
  readonly state: ActivityStateName;
  readonly since: number;
  readonly detail: string;
  /** For rate-limited: when the wall lifts, null when unknown (never invented). */
  readonly resetsAt: number | null;
  readonly limit: UsageLimitKind | null;
}

/** One agent as conduct sees it in a pass. */
export interface ConductAgent {
  readonly identity: string;
  readonly role: Role;
  readonly wanted: boolean;
  readonly verdict: Verdict;
  readonly generation: string | null;
  /** When the current generation started (daemon time), null when unknown. */
  readonly startedAt: number | null;
  readonly activity: ActivityView | undefined;
  /** The last sign of progress: a hook event, transcript growth, a heartbeat, a changed screen (daemon time). */
  readonly progressAt: number | null;
  /** Context window use in percent, from the statusline; null where the runtime reports none. */
  readonly contextPercent: number | null;
  /** The conversation a resume would continue (Claude's session id), null when unknown. */
  readonly resumeSession: string | null;
  /** This agent's stuck limit (its watchdog's very-stale limit when it has one). */
  readonly stuckAfterMs: number;
  /** Nothing is done to an agent whose start-up sequence still runs. */
  readonly starting: boolean;
  /** The heartbeat watchdog has already nudged this stall (its HEALTH_CHECK): the ladder starts at Escape. */
  readonly staleNudged?: boolean;
}

/** What conduct remembers of one agent between passes. */
export interface AgentConduct {
  readonly wall: WallMemory | null;
  /** The `since` of the permission wait already told to a person, and of the one already approved. */
  readonly permissionNotified: number | null;
  readonly permissionApproved: number | null;
  readonly idle: { readonly since: number; readonly nudges: number } | null;
  readonly ladder: LadderMemory | null;
  /** The generation already cycled for its context: at most once per generation. */
  readonly contextCycledFor: string | null;
}

export interface WallMemory {
  /** The wall group (one alert per group). */
  readonly group: number;
  readonly since: number;
  readonly resetsAt: number | null;
  readonly limit: UsageLimitKind | null;
  /** When the next wake is due. */
  readonly wakeAt: number;
  readonly wakes: number;
  readonly lastWakeAt: number | null;
  /** The escalation alert went out. */
  readonly escalated: boolean;
  /** When the agent was first seen out of the wall (any state but rate-limited); null while walled. */
  readonly outSince?: number | null;
}

/** The stuck ladder: 1 nudge, 2 Escape, 3 resume, 4 fresh, 5 needs-human. */
export interface LadderMemory {
  readonly rung: number;
  /** When the current rung was taken. */
  readonly at: number;
  /** The generation that was stuck when the rung was taken. */
  readonly generation: string | null;
  /** Progress came back after the rung: the ladder rests, and resumes one rung up if the stall returns soon. */
  readonly resolvedAt: number | null;
}

export interface WallGroup {
  readonly id: number;
  readonly startedAt: number;
  /** The agents still walled. */
  readonly identities: readonly string[];
  /** Every agent this wall walled, for the one alert when it lifts. */
  readonly walled: readonly string[];
  readonly resetsAt: number | null;
  readonly alerted: boolean;
}

export interface ConductState {
  readonly agents: ReadonlyMap<string, AgentConduct>;
  readonly walls: readonly WallGroup[];
  readonly nextGroup: number;
  /** The latest wake slot handed out: the next walled agent wakes a stagger after it. */
  readonly lastWakeSlot: number | null;
}

export const EMPTY_CONDUCT: ConductState = {
  agents: new Map(),
  walls: [],
  nextGroup: 1,
  lastWakeSlot: null,
};

export const NO_CONDUCT: AgentConduct = {
  wall: null,
  permissionNotified: null,
  permissionApproved: null,
  idle: null,
  ladder: null,
  contextCycledFor: null,
};

/** Keys conduct sends to an agent's pane; the executor reads the screen before each. */
export type ConductKeys =
  /** Answer a usage-limit menu with its wait option (when it shows), then a continuation nudge. */
  | "wall-wake"
  /** Interrupt the turn. */
  | "escape"
  /** Choose "Yes" in the permission menu on screen (only ever by an approval rule). */
  | "approve";

/** What conduct asks of one agent this pass. */
export type ConductAct =
  | { readonly kind: "nudge"; readonly message: string; readonly reason: string }
  | { readonly kind: "keys"; readonly keys: ConductKeys; readonly message?: string; readonly reason: string };

export type ConductAlertKind =
  "usage_limit" | "usage_limit_lifted" | "usage_limit_wake_failed" | "permission_wait" | "stuck";

export interface ConductAlert {
  readonly kind: ConductAlertKind;
  readonly message: string;
  readonly identities: readonly string[];
}
