import type { ActivityReading } from "../activity/state.js";
import type { ConductKeys } from "../conduct/types.js";
import { STALL_CURES, type ActivityScript, type StallCure } from "./behaviour.js";
import { SECOND, type SimClock } from "./clock.js";
import type { SimActivityState, TraceEvent } from "./trace.js";
import type { SimUsageWalls, SimWall } from "./usage-walls.js";
import type { SimProcess } from "./world.js";

export interface AgentActivityOptions {
  readonly clock: SimClock;
  readonly trace: TraceEvent[];
  readonly random: () => number;
  readonly walls: SimUsageWalls;
  /** A hook event reaches the daemon (as Claude's hooks would write it to daemon/hook-events). */
  readonly onHook: (identity: string, generation: string, reading: ActivityReading) => void;
  /** The agent process exits by itself (a walled agent giving up). */
  readonly exit: (proc: SimProcess) => void;
}

/** One generation's activity. */
interface Life {
  readonly proc: SimProcess;
  readonly script: ActivityScript;
  state: SimActivityState;
  since: number;
  detail: string;
  /** When its last hook event fired; a turn that makes progress fires them all the time. */
  lastHookAt: number | null;
  /** The turn stopped making progress (still "working"); `cure` ends it. */
  stall: { readonly since: number; readonly cure: StallCure } | null;
  /** The wall it hit, while rate-limited. */
  wall: SimWall | null;
  /** The start-up beacon came before the prompt showed: the first turn starts with the prompt. */
  beaconWaiting: boolean;
  /** Bumped at every change of state: what a stretch of work scheduled does not outlive it. */
  epoch: number;
  permissions: number;
}

/** The conversation an agent's generations continue: a respawn resuming it keeps what is stuck in it. */
interface Conversation {
  readonly id: string;
  /** A stall the conversation carries into a resumed (or, for "never", any) next generation. */
  poison: StallCure | null;
}

const HOOK_STATES: ReadonlySet<SimActivityState> = new Set([
  "idle",
  "working",
  "awaiting-permission",
  "rate-limited",
]);

/**
 * What hooked agents do (behaviour.ts ActivityScript), and what typed input and keys do to them: turns
 * that start at a prompt, patrols that end at the prompt, permission prompts that wait for a "Yes",
 * usage-limit walls that reject work until something is typed after they lift, and stalls that a nudge,
 * Escape or a respawn may cure. Every change goes to the trace (the truth) and to the daemon as a hook event.
 */
export class AgentActivity {
  readonly #o: AgentActivityOptions;
  readonly #lives = new Map<string, Life>();
  readonly #conversations = new Map<string, Conversation>();
  #conversationCount = 0;

  constructor(options: AgentActivityOptions) {
    this.#o = options;
  }

  /** A new generation starts; `resume`: it continues its predecessor's conversation. */
  begin(proc: SimProcess, resume: boolean): void {
    const script = proc.behaviour.activity;
    if (script === null) {
      this.#lives.delete(proc.identity);
      return;
    }
    const previous = this.#conversations.get(proc.identity);
    let conversation: Conversation;
    if (resume && previous !== undefined) {
      conversation = previous;
      // A stall only a fresh start (or nothing) cures comes back with the conversation.
      if (conversation.poison !== "fresh" && conversation.poison !== "never") conversation.poison = null;
    } else {
      this.#conversationCount += 1;
      const poison = previous?.poison === "never" ? "never" : null;
      conversation = { id: `conv-${String(this.#conversationCount).padStart(4, "0")}`, poison };
    }
    this.#conversations.set(proc.identity, conversation);
    const life: Life = {
      proc,
      script,
      state: "starting",
      since: proc.startedAt,
      detail: "",
      lastHookAt: null,
      stall: null,
      wall: null,
      beaconWaiting: false,
      epoch: 0,
      permissions: 0,
    };
    this.#lives.set(proc.identity, life);
    this.#record(life, "");
    this.#o.clock.at(proc.startedAt + proc.behaviour.promptAfterMs, () => {
      if (!this.#live(life) || life.state !== "starting") return;
      if (life.beaconWaiting) this.#work(life, "prompted at start-up");
      else this.#set(life, "idle", "at its prompt");
    });
  }

  /** The daemon's start-up beacon and propulsion nudge: the first turn. */
  prompted(proc: SimProcess): void {
    const life = this.#lives.get(proc.identity);
    if (life === undefined || life.proc !== proc || !this.#live(life)) return;
    if (life.state === "starting") life.beaconWaiting = true;
    else if (life.state === "idle") this.#work(life, "prompted at start-up");
  }

  /** Text typed at the agent (a nudge); returns what came of it. */
  input(identity: string): string {
    const life = this.#current(identity);
    if (life === undefined) return "no hooked agent";
    switch (life.state) {
      case "idle":
        if (life.script.answersNudges === false) return "ignored at its prompt";
        this.#work(life, "prompted by a nudge");
        return "started a turn";
      case "rate-limited":
        return this.#wake(life);
      case "working":
        if (life.stall === null) return "queued behind the running turn";
        if (life.stall.cure !== "nudge") return "no progress: the stall goes on";
        this.#cure(life, "nudge");
        this.#work(life, "progress again after a nudge");
        return "stall cured";
      case "awaiting-permission":
        // The executor types nothing into a menu: its Enter would choose an option.
        return "not typed: a permission prompt is on screen";
      case "starting":
      case "dead":
        return `nothing happens (${life.state})`;
    }
  }

  /** Conduct's keys reach the agent's pane; returns what came of them. */
  keys(identity: string, keys: ConductKeys): string {
    const life = this.#current(identity);
    if (life === undefined) return "no hooked agent";
    switch (keys) {
      case "wall-wake":
        // Not walled: the wait option is not on screen; the continuation nudge is typed all the same.
        return life.state === "rate-limited" ? this.#wake(life) : this.input(identity);
      case "escape":
        if (life.state !== "working") return "nothing to interrupt";
        if (life.stall !== null) {
          if (life.stall.cure !== "nudge" && life.stall.cure !== "escape") return "Escape ignored";
          this.#cure(life, "escape");
        }
        this.#set(life, "idle", "interrupted");
        return "interrupted: at its prompt";
      case "approve":
        if (life.state !== "awaiting-permission") return "no permission prompt";
        this.#work(life, `approved by townd: ${life.detail}`);
        return "approved";
    }
  }

  /** The generation's process ended (exit, kill, respawn). */
  ended(proc: SimProcess): void {
    const life = this.#lives.get(proc.identity);
    if (life === undefined || life.proc !== proc || life.state === "dead") return;
    this.#set(life, "dead", "process ended");
  }

  /** Whether the agent's heartbeat file moves now: only while a turn makes progress. */
  progressing(proc: SimProcess): boolean {
    const life = this.#lives.get(proc.identity);
    if (life === undefined || life.proc !== proc) return true;
    return life.state === "working" && life.stall === null;
  }

  /** The last hook event of this generation (now, for a turn making progress); null: none, or no hooks. */
  hookBeatAt(identity: string, generation: string | null): number | null {
    const life = this.#current(identity);
    if (life === undefined || life.proc.generation !== generation) return null;
    // A turn fires tool events until it stalls, and none after.
    if (life.state === "working") return life.stall?.since ?? this.#o.clock.now;
    return life.lastHookAt;
  }

  /** When its transcript last grew: like the hook events, all the time while a turn makes progress. */
  transcriptGrewAt(identity: string, generation: string | null): number | null {
    const life = this.#current(identity);
    if (life === undefined || life.proc.generation !== generation) return null;
    if (life.state === "working" && life.stall === null) return this.#o.clock.now;
    return life.stall?.since ?? life.lastHookAt;
  }

  /** The conversation a resume would continue, for a hooked agent. */
  session(identity: string): string | null {
    return this.#lives.has(identity) ? (this.#conversations.get(identity)?.id ?? null) : null;
  }

  hooked(identity: string): boolean {
    return this.#lives.has(identity);
  }

  state(identity: string): SimActivityState | undefined {
    return this.#lives.get(identity)?.state;
  }

  /** A wall begins: each agent working now hits it on its next request. */
  wallBegins(wall: SimWall, spreadMs: number): void {
    const { clock, trace, random } = this.#o;
    trace.push({ type: "wall", at: clock.now, resetsAt: wall.resetsAt, liftsAt: wall.liftsAt });
    for (const life of this.#lives.values()) {
      if (!this.#live(life)) continue;
      clock.after(Math.round(random() * spreadMs), () => {
        this.#hit(life, wall);
      });
    }
  }

  #current(identity: string): Life | undefined {
    const life = this.#lives.get(identity);
    return life !== undefined && this.#live(life) ? life : undefined;
  }

  #live(life: Life): boolean {
    return life.proc.alive && this.#lives.get(life.proc.identity) === life;
  }

  /** A stretch of work starts: what it will run into is scheduled from here. */
  #work(life: Life, detail: string): void {
    const { clock, random } = this.#o;
    this.#set(life, "working", detail);
    const epoch = life.epoch;
    const now = clock.now;
    const same = (): boolean => this.#live(life) && life.epoch === epoch && life.stall === null;
    const wall = this.#o.walls.at(now);
    if (wall !== undefined) {
      clock.after(SECOND, () => {
        this.#hit(life, wall);
      });
    }
    const conversation = this.#conversations.get(life.proc.identity);
    const carried = conversation?.poison ?? null;
    if (carried !== null) {
      // The conversation is what is stuck: the turn stalls again at once.
      clock.after(SECOND, () => {
        if (same()) this.#stall(life, carried);
      });
    } else if (life.script.stall !== undefined) {
      const { afterMs, jitterMs = 0, cures } = life.script.stall;
      clock.at(now + afterMs + Math.round(random() * jitterMs), () => {
        if (same()) this.#stall(life, drawCure(cures, random()));
      });
    }
    const { patrolMs } = life.script;
    if (life.script.work === "patrol" && patrolMs !== undefined) {
      clock.at(now + patrolMs, () => {
        if (same() && life.state === "working") this.#set(life, "idle", "patrol done, at its prompt");
      });
    }
    const permission = life.script.permission;
    if (permission !== undefined && permission.details.length > 0) {
      clock.at(now + permission.everyMs + Math.round(random() * (permission.jitterMs ?? 0)), () => {
        if (!same() || life.state !== "working") return;
        const detail = permission.details[life.permissions % permission.details.length] ?? "";
        life.permissions += 1;
        this.#set(life, "awaiting-permission", detail);
        const waiting = life.epoch;
        if (permission.answeredAfterMs !== null) {
          clock.after(permission.answeredAfterMs, () => {
            if (this.#live(life) && life.epoch === waiting)
              this.#work(life, `approved by a person: ${detail}`);
          });
        }
      });
    }
  }

  /** A request of a turn making progress runs into the wall. */
  #hit(life: Life, wall: SimWall): void {
    const { clock, random } = this.#o;
    if (!this.#live(life) || life.state !== "working" || life.stall !== null) return;
    if (clock.now >= wall.liftsAt) return;
    life.wall = wall;
    const resets = wall.resetsAt === null ? "" : ` · resets ${clockText(wall.resetsAt)}`;
    this.#set(life, "rate-limited", `You've hit your session limit${resets}`, wall.resetsAt);
    const exit = life.script.wallExit;
    if (exit !== undefined && random() < exit.share) {
      const epoch = life.epoch;
      clock.after(Math.round(random() * exit.withinMs), () => {
        if (this.#live(life) && life.epoch === epoch) this.#o.exit(life.proc);
      });
    }
  }

  /** Something typed at the limit message: work goes on once the wall has lifted, not before. */
  #wake(life: Life): string {
    const wall = life.wall;
    if (wall !== null && this.#o.clock.now < wall.liftsAt) return "still walled: the limit has not reset";
    life.wall = null;
    this.#work(life, "limit reset: continuing");
    return "woken: working again";
  }

  #stall(life: Life, cure: StallCure): void {
    const { clock, trace } = this.#o;
    life.stall = { since: clock.now, cure };
    const conversation = this.#conversations.get(life.proc.identity);
    if (conversation !== undefined) conversation.poison = cure === "nudge" || cure === "escape" ? null : cure;
    trace.push({
      type: "stall",
      at: clock.now,
      identity: life.proc.identity,
      generation: life.proc.generation,
      cure,
    });
  }

  #cure(life: Life, by: "nudge" | "escape"): void {
    const { clock, trace } = this.#o;
    life.stall = null;
    const conversation = this.#conversations.get(life.proc.identity);
    if (conversation !== undefined) conversation.poison = null;
    trace.push({
      type: "stall-cured",
      at: clock.now,
      identity: life.proc.identity,
      generation: life.proc.generation,
      by,
    });
  }

  #set(life: Life, state: SimActivityState, detail: string, resetsAt: number | null = null): void {
    const now = this.#o.clock.now;
    life.state = state;
    life.since = now;
    life.epoch += 1;
    life.detail = detail;
    if (state !== "rate-limited") life.wall = null;
    this.#record(life, detail, resetsAt);
    if (!HOOK_STATES.has(state)) return;
    life.lastHookAt = now;
    const reading: ActivityReading = {
      state,
      source: "hook",
      detail,
      ...(state === "rate-limited" ? { resetsAt, limit: "session" as const } : {}),
    };
    this.#o.onHook(life.proc.identity, life.proc.generation, reading);
  }

  #record(life: Life, detail: string, resetsAt: number | null = null): void {
    this.#o.trace.push({
      type: "activity",
      at: this.#o.clock.now,
      identity: life.proc.identity,
      generation: life.proc.generation,
      state: life.state,
      detail,
      resetsAt,
    });
  }
}

/** A cure drawn by weight; `draw` in [0, 1). */
export function drawCure(weights: Partial<Record<StallCure, number>>, draw: number): StallCure {
  const total = STALL_CURES.reduce((sum, cure) => sum + (weights[cure] ?? 0), 0);
  let left = draw * total;
  for (const cure of STALL_CURES) {
    left -= weights[cure] ?? 0;
    if (left < 0) return cure;
  }
  return "never";
}

/** "15:42" of a simulated time (UTC, like the simulated clock's epoch). */
export function clockText(at: number): string {
  return new Date(at).toISOString().slice(11, 16);
}
