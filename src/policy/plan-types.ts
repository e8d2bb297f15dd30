import type { ActivityStateName } from "../activity/state.js";
import type { ConductKeys } from "../conduct/types.js";
import type { BootSettings } from "./boot.js";
import type { DesiredAgent } from "./desired.js";
import type { PolicyLimits, WatchdogLimits } from "./limits.js";
import type { AgentRecord, OperatorHold, TownPolicyState } from "./record.js";
import type { ObservedStartFailure } from "./start-failure.js";

// The planner's vocabulary: what it is told (observations, requests, history) and what it answers
// (actions, decisions, alerts). plan.ts re-exports all of it.

/** The observed condition of an agent's session in this pass. */
export type Verdict = "alive" | "dead" | "zombie" | "missing";

export interface AgentObservation {
  readonly desired: DesiredAgent;
  readonly verdict: Verdict;
  /** Human-readable, e.g. "pane died (exit status 3)" or 'pane runs "bash" with no agent process (zombie)'. */
  readonly verdictReason: string;
  /** Generation of the observed session (its @townd_generation), null for a foreign or missing session. */
  readonly generation: string | null;
  /** For watched agents: the heartbeat's time (epoch ms), null when there is none or it is unreadable. */
  readonly heartbeatAt?: number | null;
  /** Whether a heartbeat FILE was read (heartbeatAt may also come from hook events, which do not arm it). */
  readonly heartbeatFileSeen?: boolean;
  /** Present when this agent's heartbeat is watched. */
  readonly watchdog?: WatchdogLimits | undefined;
  /** A dead pane whose CLI exited soon after its start with a message its profile knows. */
  readonly startFailure?: ObservedStartFailure | undefined;
  /** What the agent is doing, as far as the daemon knows (hooks, screen): I9 guards on it. */
  readonly activity?: ActivityStateName | undefined;
  /** The agent's runtime cannot be spawned at all (its command is not on the daemon's PATH). */
  readonly unavailable?: ObservedStartFailure | undefined;
  /** The stuck ladder's respawn rung (conduct/ladder.ts): replaced like a hung agent, resuming if it can. */
  readonly stuck?: {
    readonly reason: string;
    readonly resume: string | null;
    readonly resumeFailed: boolean;
  };
  /** Walled by a usage limit (conduct/walls.ts): its exit is no death, and it comes back at `until`. */
  readonly wall?: { readonly until: number; readonly reason: string };
  /**
   * Its pane died and its armed pane-died hook has already respawned it with this generation (arming.ts):
   * the verdict is "dead" (the death is counted) and the planner records the respawn tmux made.
   */
  readonly armedRespawn?: string;
}

interface ActionBase {
  readonly identity: string;
  readonly session: string;
  readonly reason: string;
  /** The lifecycle request this action carries out, if any. */
  readonly requestId?: string | undefined;
}

/** The startup beacon's topic (§13): `patrol` for supervision, `handoff` for a cycle, `lifecycle-restart`. */
export type StartTopic = "patrol" | "handoff" | "lifecycle-restart";

export type Action =
  | (ActionBase & { readonly kind: "spawn"; readonly manual: boolean; readonly topic: StartTopic })
  | (ActionBase & {
      readonly kind: "respawn";
      readonly manual: boolean;
      readonly topic: StartTopic;
      /** A zombie's or a hung agent's process tree must be killed first; a dead pane has nothing left. */
      readonly killTree: boolean;
      /** Resume this conversation (a stuck agent's) instead of starting a new one. */
      readonly resume?: string;
      /** tmux already started this generation from the agent's armed hook: record it, start nothing. */
      readonly armed?: string;
    })
  | (ActionBase & { readonly kind: "kill" })
  | (ActionBase & { readonly kind: "nudge"; readonly message: string })
  /** Conduct's keys (conduct/types.ts): a wall's wake, an interrupt, an approval by rule. */
  | (ActionBase & { readonly kind: "keys"; readonly keys: ConductKeys; readonly message?: string });

export type AlertKind = "crash_loop" | "spawn_budget_exhausted" | "mass_death" | "failed_to_start";

/** Something an operator must hear about: raised once per episode, never once per pass. */
export interface Alert {
  readonly kind: AlertKind;
  readonly message: string;
  readonly identities: readonly string[];
}

export type HoldBy = PolicyHold | OperatorHold;
type PolicyHold =
  | "backoff"
  | "crash-loop"
  | "spawn-budget"
  | "mass-death"
  | "zombie-check"
  | "failed-to-start"
  | "usage-limit";

/** Every decision with its reason, including "do nothing", for the log and `townd why`. */
export interface Decision {
  readonly identity: string;
  readonly verdict: Verdict | "hung";
  readonly action: Action["kind"] | "none" | "wait";
  readonly reason: string;
  /** For waits: which limit holds the agent back. */
  readonly holdBy?: HoldBy;
  /** For waits: when that limit lets go (epoch ms); the planner wakes the daemon then. */
  readonly until?: number;
  /** The request this decision answers, if any. */
  readonly requestId?: string | undefined;
  /** This decision answers an explicit request (operator or agent): always recorded, even when it is "none". */
  readonly requested?: boolean;
}

/**
 * An operator's or agent's explicit request, not held back by backoff or budgets (but counted):
 * `restart` and `cycle` respawn now (cycle with a handoff beacon), `shutdown` stops the agent until `start`
 * or a restart/cycle, `reset` forgets its backoff and crash loop; `stop` (the operator's) is holds.ts's.
 */
export interface ManualRequest {
  readonly identity: string;
  readonly kind: "restart" | "cycle" | "shutdown" | "start" | "reset" | "stop";
  readonly reason: string;
  readonly requestId?: string | undefined;
}

export interface PlanInput {
  readonly now: number;
  readonly agents: readonly AgentObservation[];
  readonly records: ReadonlyMap<string, AgentRecord>;
  readonly town?: TownPolicyState;
  readonly limits: PolicyLimits;
  readonly requests?: readonly ManualRequest[];
  /**
   * The tmux server was gone and has just been started again: every session vanished at once through no
   * fault of the agents. Those losses are not deaths (no backoff, no crash-loop, no mass death) and their
   * respawns are not held by the spawn budget, so every agent is back within this pass.
   */
  readonly serverRestarted?: boolean;
  /** How Boot, the Deacon's triage dog, runs (src/policy/boot.ts); defaults when absent. */
  readonly boot?: BootSettings;
}

export interface Plan {
  readonly actions: readonly Action[];
  readonly decisions: readonly Decision[];
  readonly alerts: readonly Alert[];
  /** Records after this pass; the executor adds the outcome of spawns. */
  readonly records: ReadonlyMap<string, AgentRecord>;
  readonly town: TownPolicyState;
  /** The earliest time something waiting may proceed: the daemon schedules a pass then. */
  readonly wakeAt: number | null;
  /** Why a degraded Boot triage runs in this pass, or null (see triageOutcome in src/policy/boot.ts). */
  readonly bootTriage: string | null;
}
