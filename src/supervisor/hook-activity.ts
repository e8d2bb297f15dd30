import { HookIntake, type HookEvent } from "../activity/hooks/intake.js";
import { hookReading, hookSession } from "../activity/hooks/states.js";
import type { ActivityTracker } from "./activity-tracker.js";

/** What Claude reported about its conversation: for `--resume` and for reading its transcript. */
export interface AgentSession {
  readonly generation: string;
  readonly sessionId: string | null;
  readonly transcriptPath: string | null;
}

export interface HookActivityDeps {
  /** daemon/hook-events, appended to by the hooks of townd's Claude settings. */
  readonly file: string;
  readonly tracker: ActivityTracker;
  /** The agent whose CURRENT generation is `generation`, or undefined (an old or unknown one). */
  readonly identityOf: (generation: string) => string | undefined;
  /** Daemon time (monotonic): a hook event counts as a heartbeat on this clock. */
  readonly now: () => number;
  readonly onProblem: (message: string) => void;
}

/**
 * Takes Claude's hook events as they arrive (not by polling): each one moves its agent's activity at once,
 * counts as a heartbeat of its generation (a working Deacon never looks hung), and tells which Claude
 * session the agent runs. Events of a generation that no longer runs are dropped.
 */
export class HookActivity {
  private readonly deps: HookActivityDeps;
  private readonly intake: HookIntake;
  private readonly beats = new Map<string, { generation: string; at: number }>();
  private readonly sessions = new Map<string, AgentSession>();

  constructor(deps: HookActivityDeps) {
    this.deps = deps;
    this.intake = new HookIntake({
      file: deps.file,
      onEvents: (events) => {
        this.take(events);
      },
      onProblem: deps.onProblem,
    });
  }

  start(): void {
    this.intake.start();
  }

  stop(): void {
    this.intake.stop();
  }

  /** When `generation` of the agent last fired a hook (daemon time), or null. */
  lastBeat(identity: string, generation: string | null): number | null {
    const beat = this.beats.get(identity);
    return beat !== undefined && beat.generation === generation ? beat.at : null;
  }

  session(identity: string, generation: string | null): AgentSession | undefined {
    const session = this.sessions.get(identity);
    return session?.generation === generation ? session : undefined;
  }

  private take(events: readonly HookEvent[]): void {
    for (const event of events) {
      const identity = this.deps.identityOf(event.generation);
      if (identity === undefined) continue;
      this.beats.set(identity, { generation: event.generation, at: this.deps.now() });
      const reported = hookSession(event);
      if (reported.sessionId !== undefined || reported.transcriptPath !== undefined) {
        const known = this.session(identity, event.generation);
        this.sessions.set(identity, {
          generation: event.generation,
          sessionId: reported.sessionId ?? known?.sessionId ?? null,
          transcriptPath: reported.transcriptPath ?? known?.transcriptPath ?? null,
        });
      }
      const reading = hookReading(event);
      if (reading !== null) this.deps.tracker.noteHook(identity, event.generation, reading);
    }
  }
}
