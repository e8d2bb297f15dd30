import type { ConductAlertKind, ConductKeys } from "../conduct/types.js";
import type { AlertKind, Verdict } from "../policy/plan.js";
import type { StallCure } from "./behaviour.js";

/** What a hooked agent is doing, as the world knows it (its hooks report all but starting and dead). */
export type SimActivityState =
  "starting" | "idle" | "working" | "awaiting-permission" | "rate-limited" | "dead";

/**
 * What happened during a simulated run, in time order: the world's facts (a process started, exited or
 * hung, a session opened or closed, the tmux server died) and the daemon's acts (kills, nudges, alerts).
 * The invariant checker reads only this, so a hand-made trace can test the checker itself.
 */
export type TraceEvent =
  /** One reconcile pass and what triggered it. */
  | {
      readonly type: "pass";
      readonly at: number;
      readonly reasons: readonly string[];
      /** The pass found the tmux server gone and started it again. */
      readonly serverRestarted: boolean;
    }
  /** A new generation runs: the daemon spawned (new session) or respawned (same session) the agent. */
  | {
      readonly type: "start";
      readonly at: number;
      readonly identity: string;
      readonly role: string;
      readonly generation: string;
      readonly action: "spawn" | "respawn";
      readonly manual: boolean;
      /** The planner's verdict on the agent in the pass that decided this start. */
      readonly verdict: Verdict | "hung";
      /** The pass ran right after the tmux server was found gone and started again. */
      readonly serverRestart: boolean;
      readonly reason: string;
      /** tmux started it from the pane's armed pane-died hook, before any pass (src/policy/arming.ts). */
      readonly armed?: true;
    }
  | {
      readonly type: "spawn-failed";
      readonly at: number;
      readonly identity: string;
      readonly action: "spawn" | "respawn";
      readonly error: string;
    }
  /** The daemon ended a live process (a kill action, or respawn-pane -k over a live pane). */
  | {
      readonly type: "kill";
      readonly at: number;
      readonly identity: string;
      readonly role: string;
      readonly generation: string;
      readonly automatic: boolean;
      readonly verdict: Verdict | "hung";
      readonly reason: string;
      /** For a watched agent: its heartbeat's age when it was killed (null: it has none). */
      readonly heartbeatAgeMs: number | null;
    }
  /** A process ended by itself (or with its tmux server); `toShell`: it left its shell behind (a zombie). */
  | {
      readonly type: "exit";
      readonly at: number;
      readonly identity: string;
      readonly generation: string;
      readonly status: number | null;
      readonly cause: "agent" | "mass-death" | "server-lost";
      readonly toShell: boolean;
    }
  /** The process lives on but stopped working: no heartbeats, no answers. */
  | { readonly type: "hang"; readonly at: number; readonly identity: string; readonly generation: string }
  | {
      readonly type: "session-open";
      readonly at: number;
      readonly identity: string;
      readonly session: string;
      /** tmux refused it: a session of that name already existed. */
      readonly refused: boolean;
    }
  | {
      readonly type: "session-close";
      readonly at: number;
      readonly identity: string;
      readonly session: string;
      readonly cause: "killed" | "server-lost";
    }
  | { readonly type: "server-down"; readonly at: number }
  | {
      readonly type: "nudge";
      readonly at: number;
      readonly identity: string;
      readonly reason: string;
      /** Whether the agent will answer with a heartbeat. */
      readonly answered: boolean;
      /** Age of the heartbeat the daemon judged, when it has one. */
      readonly heartbeatAgeMs: number | null;
    }
  /** The planner counted a death (once per generation, never for a tmux server restart). */
  | {
      readonly type: "death-counted";
      readonly at: number;
      readonly identity: string;
      readonly reason: string;
    }
  | {
      readonly type: "alert";
      readonly at: number;
      readonly kind: AlertKind | ConductAlertKind;
      readonly identities: readonly string[];
      readonly message: string;
    }
  /** A decision to wait (backoff, crash-loop, spawn budget, mass death), recorded when it first appears. */
  | {
      readonly type: "wait";
      readonly at: number;
      readonly identity: string;
      readonly holdBy: string;
      readonly reason: string;
    }
  | ActivityTraceEvent;

/** The activity events: what hooked agents did, and what conduct did about it. */
export type ActivityTraceEvent =
  /** A hooked agent's activity changed (the truth its hooks report). */
  | {
      readonly type: "activity";
      readonly at: number;
      readonly identity: string;
      readonly generation: string;
      readonly state: SimActivityState;
      readonly detail: string;
      /** For rate-limited: the reset it announces (null: none shown). */
      readonly resetsAt: number | null;
    }
  /** The account hit a usage-limit wall: it announces `resetsAt` (null: none) and really lifts at `liftsAt`. */
  | {
      readonly type: "wall";
      readonly at: number;
      readonly resetsAt: number | null;
      readonly liftsAt: number;
    }
  /** A working agent's turn stopped making progress; `cure` is what will end it. */
  | {
      readonly type: "stall";
      readonly at: number;
      readonly identity: string;
      readonly generation: string;
      readonly cure: StallCure;
    }
  /** A stall ended within its generation (by a nudge, or Escape interrupting the turn). */
  | {
      readonly type: "stall-cured";
      readonly at: number;
      readonly identity: string;
      readonly generation: string;
      readonly by: "nudge" | "escape";
    }
  /** Conduct's keys or nudge reached an agent (`effect`: what the world made of it). */
  | {
      readonly type: "conduct";
      readonly at: number;
      readonly identity: string;
      readonly act: "nudge" | ConductKeys;
      readonly reason: string;
      readonly effect: string;
    }
  /** The stuck ladder took a rung for an agent (`resumable`: its conversation could be resumed). */
  | {
      readonly type: "rung";
      readonly at: number;
      readonly identity: string;
      readonly generation: string | null;
      readonly rung: number;
      readonly resumable: boolean;
      readonly reason: string;
    };

export type TraceType = TraceEvent["type"];
