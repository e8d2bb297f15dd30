import type { AlertKind, Verdict } from "../policy/plan.js";

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
      readonly kind: AlertKind;
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
    };

export type TraceType = TraceEvent["type"];
