import { SECOND } from "./clock.js";

/** How one generation of a simulated agent behaves, from its start. Every field is optional. */
export interface Behaviour {
  /** `#{pane_current_command}` while the agent runs: what tmux shows as its title. */
  readonly title?: string;
  /** The agent runs below a shell: the pane shows `bash` and the agent is the shell's child. */
  readonly underShell?: boolean;
  /** When the ready prompt appears (the daemon's start-up sequence waits for it, then nudges). */
  readonly promptAfterMs?: number;
  /** The process exits this long after its start. */
  readonly exitAfterMs?: number;
  /** Exit status of that exit; null: killed by a signal. */
  readonly exitStatus?: number | null;
  /** Under a shell, the agent exits back to the shell: the pane lives on with no agent (a zombie). */
  readonly exitToShell?: boolean;
  /** The process stops working this long after its start: alive, but no heartbeats and no answers. */
  readonly hangAfterMs?: number;
  /** Heartbeats: the first this long after the start, then one every `everyMs`; null: never. */
  readonly heartbeat?: { readonly firstAfterMs: number; readonly everyMs: number } | null;
  /** A live, working agent answers a HEALTH_CHECK nudge by heartbeating this long after it; absent: it does not. */
  readonly answersNudgeAfterMs?: number;
  /**
   * What the agent does, as its hooks report it (agent-activity.ts), merged over the scripts before it
   * ("busy" unless one says otherwise); absent everywhere: no hooks, nothing is known.
   */
  readonly activity?: Partial<ActivityScript>;
}

/** What ends a stall: a nudge, Escape, a respawn resuming the conversation, a fresh one, or nothing. */
export type StallCure = "nudge" | "escape" | "resume" | "fresh" | "never";
export const STALL_CURES: readonly StallCure[] = ["nudge", "escape", "resume", "fresh", "never"];

/**
 * A Claude agent with townd's hooks: its turns, waits and walls. Its heartbeat file moves only while a
 * turn makes progress (a real CLI writes it from its patrol), and so do its hook events.
 */
export interface ActivityScript {
  /** "busy": once prompted it works without end; "patrol": each prompt starts a patrol of `patrolMs`. */
  readonly work: "busy" | "patrol";
  readonly patrolMs?: number;
  /** Typed input at its idle prompt starts a turn; false: only the start-up beacon does. Default true. */
  readonly answersNudges?: boolean;
  /**
   * Permission prompts: one `everyMs` (plus up to `jitterMs`) into each stretch of work, for each detail in
   * turn ("Bash: npm test"); the agent waits until approved. A person approves after `answeredAfterMs`
   * (null: never).
   */
  readonly permission?: {
    readonly everyMs: number;
    readonly jitterMs?: number;
    readonly details: readonly string[];
    readonly answeredAfterMs: number | null;
  };
  /**
   * A turn stops making progress `afterMs` (plus up to `jitterMs`) into a stretch of work (still
   * "working", no hook event, no heartbeat, no transcript growth). What cures it is drawn by weight.
   */
  readonly stall?: {
    readonly afterMs: number;
    readonly jitterMs?: number;
    readonly cures: Partial<Record<StallCure, number>>;
  };
  /** Share of walled agents that exit while walled, each at a random time within `withinMs` of the wall. */
  readonly wallExit?: { readonly share: number; readonly withinMs: number };
}

/** Behaviour for every generation of an agent, and optionally a different one for its first generation. */
export interface AgentScript {
  readonly every?: Behaviour;
  /** Applied over `every` for generation 1 only (e.g. a Deacon that hangs once). */
  readonly first?: Behaviour;
}

/** A behaviour with every field decided. */
export interface ResolvedBehaviour {
  readonly title: string;
  readonly underShell: boolean;
  readonly promptAfterMs: number;
  readonly exitAfterMs: number | null;
  readonly exitStatus: number | null;
  readonly exitToShell: boolean;
  readonly hangAfterMs: number | null;
  readonly heartbeat: { readonly firstAfterMs: number; readonly everyMs: number } | null;
  readonly answersNudgeAfterMs: number | null;
  readonly activity: ActivityScript | null;
}

/** A healthy agent: Claude's native build, titled by its version (#566), ready after 3 s, beating every 30 s. */
export const HEALTHY: ResolvedBehaviour = {
  title: "2.1.7",
  underShell: false,
  promptAfterMs: 3 * SECOND,
  exitAfterMs: null,
  exitStatus: 1,
  exitToShell: false,
  hangAfterMs: null,
  heartbeat: { firstAfterMs: 30 * SECOND, everyMs: 30 * SECOND },
  answersNudgeAfterMs: null,
  activity: null,
};

/** The behaviour of generation `generation` (1-based): HEALTHY, then each script's `every`, then its `first`. */
export function resolveBehaviour(
  scripts: readonly (AgentScript | undefined)[],
  generation: number,
): ResolvedBehaviour {
  let result: ResolvedBehaviour = HEALTHY;
  for (const script of scripts) {
    if (script === undefined) continue;
    result = merge(result, script.every);
    if (generation === 1) result = merge(result, script.first);
  }
  return result;
}

function merge(base: ResolvedBehaviour, over: Behaviour | undefined): ResolvedBehaviour {
  if (over === undefined) return base;
  return {
    title: over.title ?? base.title,
    underShell: over.underShell ?? base.underShell,
    promptAfterMs: over.promptAfterMs ?? base.promptAfterMs,
    exitAfterMs: over.exitAfterMs ?? base.exitAfterMs,
    exitStatus: over.exitStatus === undefined ? base.exitStatus : over.exitStatus,
    exitToShell: over.exitToShell ?? base.exitToShell,
    hangAfterMs: over.hangAfterMs ?? base.hangAfterMs,
    heartbeat: over.heartbeat === undefined ? base.heartbeat : over.heartbeat,
    answersNudgeAfterMs: over.answersNudgeAfterMs ?? base.answersNudgeAfterMs,
    activity:
      over.activity === undefined ? base.activity : { work: "busy", ...base.activity, ...over.activity },
  };
}
