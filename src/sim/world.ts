import type { ActivityReading } from "../activity/state.js";
import type { ConductKeys } from "../conduct/types.js";
import type { ProcessTree } from "../observe/liveness.js";
import type { Role } from "../town/identity.js";
import { AgentActivity } from "./agent-activity.js";
import { resolveBehaviour, type AgentScript, type ResolvedBehaviour } from "./behaviour.js";
import type { SimClock } from "./clock.js";
import { SimTmux } from "./tmux.js";
import type { TraceEvent } from "./trace.js";
import type { SimUsageWalls } from "./usage-walls.js";

/** One generation of a simulated agent: the process in a pane. */
export interface SimProcess {
  readonly identity: string;
  readonly role: Role;
  readonly session: string;
  readonly generation: string;
  /** 1 for the agent's first generation, 2 for the next… */
  readonly index: number;
  /** The pane's pid: the agent's, or its shell's when it runs under one. */
  readonly panePid: number;
  readonly startedAt: number;
  readonly behaviour: ResolvedBehaviour;
  /** The agent process runs (a zombie's shell may outlive it). */
  alive: boolean;
  /** Alive but stuck: no heartbeats, no answers. */
  hung: boolean;
}

export interface WorldOptions {
  readonly clock: SimClock;
  readonly trace: TraceEvent[];
  readonly random: () => number;
  /** The scripts that make up an agent's behaviour, most general first. */
  readonly scriptsFor: (identity: string, role: Role) => readonly (AgentScript | undefined)[];
  /** The heartbeat file an agent writes, when the daemon reads one for its role; undefined: none is read. */
  readonly heartbeatFileOf: (role: Role, session: string) => string | undefined;
  /** Delay between a pane's death and the daemon hearing of it through tmux's pane-died hook. */
  readonly hookLatencyMs: number;
  /** Share of pane deaths whose SIGCHLD tmux loses, so the hook does not fire on its own; 0: none. */
  readonly hookMissRate: number;
  /** The daemon's SIGCHLD kick interval: a missed death is reaped (and the hook fires) at the next kick; 0: off. */
  readonly reapKickIntervalMs: number;
  /** tmux's pane-died hook. */
  readonly onPaneDied: (session: string) => void;
  /** From a pane's death being reaped to its armed hook's respawn running (tmux's own reaction). */
  readonly armedReactionMs: number;
  /** tmux's armed pane-died hook respawned an agent (src/tmux/armed-hook.ts). */
  readonly onArmedRespawn: (proc: SimProcess) => void;
  /** Anything the daemon's snapshot poll could notice changed. */
  readonly onChange: () => void;
  /** The account's usage-limit walls. */
  readonly walls: SimUsageWalls;
  /** A hooked agent's hook event reaches the daemon. */
  readonly onHook: (identity: string, generation: string, reading: ActivityReading) => void;
}

export interface StartSpec {
  readonly identity: string;
  readonly role: Role;
  readonly session: string;
  readonly generation: string;
  readonly action: "spawn" | "respawn";
  /** The new generation continues its predecessor's conversation (`claude --resume`). */
  readonly resume?: boolean;
}

/**
 * The simulated machine: a tmux server, the agents' processes in its panes, the heartbeat files they
 * write, and what hooked agents do (agent-activity.ts). Agents follow their scripts from each start; the
 * world records every fact in the trace.
 */
export class SimWorld {
  readonly tmux: SimTmux;
  /** What hooked agents are doing. */
  readonly activity: AgentActivity;
  readonly #o: WorldOptions;
  readonly #current = new Map<string, SimProcess>();
  readonly #byPanePid = new Map<number, SimProcess>();
  readonly #generations = new Map<string, number>();
  readonly #heartbeats = new Map<string, number>();
  #nextPid: number;

  constructor(options: WorldOptions) {
    this.#o = options;
    this.#nextPid = 1000 + Math.floor(options.random() * 30_000);
    this.tmux = new SimTmux({
      sessionOpened: (identity, session, refused) => {
        options.trace.push({ type: "session-open", at: options.clock.now, identity, session, refused });
      },
      sessionClosed: (identity, session, cause) => {
        options.trace.push({ type: "session-close", at: options.clock.now, identity, session, cause });
      },
    });
    this.activity = new AgentActivity({
      clock: options.clock,
      trace: options.trace,
      random: options.random,
      walls: options.walls,
      onHook: options.onHook,
      exit: (proc) => {
        this.#exit(proc, 1, "agent", false);
      },
    });
  }

  /** The agent's current process, if it was ever started. */
  process(identity: string): SimProcess | undefined {
    return this.#current.get(identity);
  }

  /** A heartbeat file's time (epoch ms), or null when there is none. */
  heartbeatAt(file: string): number | null {
    return this.#heartbeats.get(file) ?? null;
  }

  writeHeartbeat(file: string, at: number): void {
    this.#heartbeats.set(file, at);
  }

  /** /proc as the liveness check would read it: an agent under a shell is the shell's child while it runs. */
  processTree(): ProcessTree {
    return {
      childNames: (pid) => {
        const proc = this.#byPanePid.get(pid);
        return proc?.behaviour.underShell === true && proc.alive ? [proc.behaviour.title] : [];
      },
    };
  }

  /**
   * Starts a new generation: `spawn` opens a new session, `respawn` replaces the pane's process (ending a live
   * one first, as `respawn-pane -k` does). Throws SimTmuxError when tmux would refuse.
   */
  start(spec: StartSpec, onKill: (old: SimProcess) => void): SimProcess {
    const { clock } = this.#o;
    const index = (this.#generations.get(spec.identity) ?? 0) + 1;
    const behaviour = resolveBehaviour(this.#o.scriptsFor(spec.identity, spec.role), index);
    const panePid = this.#nextPid;
    const command = behaviour.underShell ? "bash" : behaviour.title;
    if (spec.action === "spawn") {
      this.tmux.newSession({
        session: spec.session,
        identity: spec.identity,
        generation: spec.generation,
        pid: panePid,
        command,
      });
    } else {
      this.tmux.requirePane(spec.session);
      const old = this.#current.get(spec.identity);
      if (old?.alive === true && old.session === spec.session) this.endProcess(old, onKill);
      this.tmux.respawnPane(spec.session, { generation: spec.generation, pid: panePid, command });
    }
    this.#nextPid += 2;
    this.#generations.set(spec.identity, index);
    const previous = this.#current.get(spec.identity);
    if (previous !== undefined) this.#byPanePid.delete(previous.panePid);
    const proc: SimProcess = {
      identity: spec.identity,
      role: spec.role,
      session: spec.session,
      generation: spec.generation,
      index,
      panePid,
      startedAt: clock.now,
      behaviour,
      alive: true,
      hung: false,
    };
    this.#current.set(spec.identity, proc);
    this.#byPanePid.set(panePid, proc);
    this.activity.begin(proc, spec.resume === true);
    this.#schedule(proc);
    this.#o.onChange();
    return proc;
  }

  /** The daemon kills a session: its live process ends with it. */
  killSession(identity: string, session: string, onKill: (old: SimProcess) => void): void {
    const proc = this.#current.get(identity);
    this.tmux.killSession(session);
    if (proc?.alive === true && proc.session === session) this.endProcess(proc, onKill);
    this.#o.onChange();
  }

  /**
   * A nudge is typed at the agent: a hooked agent acts on it (activity.ts); `answered` when it will
   * heartbeat because of it.
   */
  nudge(identity: string): { answered: boolean; effect: string } {
    const proc = this.#current.get(identity);
    if (proc === undefined || !proc.alive) return { answered: false, effect: "no live agent" };
    if (this.activity.hooked(identity)) {
      const effect = this.activity.input(identity);
      return { answered: this.activity.progressing(proc), effect };
    }
    const delay = proc.behaviour.answersNudgeAfterMs;
    const file = this.#o.heartbeatFileOf(proc.role, proc.session);
    if (proc.hung || delay === null || file === undefined) return { answered: false, effect: "no answer" };
    this.#o.clock.after(delay, () => {
      if (this.#isCurrent(proc) && proc.alive && !proc.hung) this.writeHeartbeat(file, this.#o.clock.now);
    });
    return { answered: true, effect: "answers with a heartbeat" };
  }

  /** Conduct's keys reach the agent's pane. */
  keys(identity: string, keys: ConductKeys): string {
    const proc = this.#current.get(identity);
    if (proc === undefined || !proc.alive) return "no live agent";
    return this.activity.keys(identity, keys);
  }

  /** Every agent process dies at once (the machine ran out of memory, a bad deploy…); panes stay, dead. */
  massDeath(status: number | null): void {
    for (const proc of this.#current.values()) {
      if (proc.alive && this.tmux.pane(proc.session)?.generation === proc.generation)
        this.#exit(proc, status, "mass-death", false);
    }
  }

  /** The tmux server dies, and every session and agent with it. */
  serverDown(): void {
    const { trace, clock } = this.#o;
    trace.push({ type: "server-down", at: clock.now });
    const lost = new Set(this.tmux.serverDown().map((pane) => pane.session));
    for (const proc of this.#current.values()) {
      if (!lost.has(proc.session) || !proc.alive) continue;
      proc.alive = false;
      trace.push({
        type: "exit",
        at: clock.now,
        identity: proc.identity,
        generation: proc.generation,
        status: null,
        cause: "server-lost",
        toShell: false,
      });
      this.activity.ended(proc);
    }
    this.#o.onChange();
  }

  endProcess(proc: SimProcess, onKill: (old: SimProcess) => void): void {
    if (!proc.alive) return;
    onKill(proc);
    proc.alive = false;
    this.activity.ended(proc);
  }

  #isCurrent(proc: SimProcess): boolean {
    return this.#current.get(proc.identity) === proc;
  }

  #schedule(proc: SimProcess): void {
    const { clock } = this.#o;
    const b = proc.behaviour;
    if (b.exitAfterMs !== null) {
      clock.at(proc.startedAt + b.exitAfterMs, () => {
        if (this.#isCurrent(proc) && proc.alive)
          this.#exit(proc, b.exitStatus, "agent", b.exitToShell && b.underShell);
      });
    }
    if (b.hangAfterMs !== null) {
      clock.at(proc.startedAt + b.hangAfterMs, () => {
        if (!this.#isCurrent(proc) || !proc.alive) return;
        proc.hung = true;
        this.#o.trace.push({
          type: "hang",
          at: clock.now,
          identity: proc.identity,
          generation: proc.generation,
        });
      });
    }
    const file = this.#o.heartbeatFileOf(proc.role, proc.session);
    const beat = b.heartbeat;
    if (file !== undefined && beat !== null) {
      const tick = (): void => {
        if (!this.#isCurrent(proc) || !proc.alive) return;
        if (!proc.hung && this.activity.progressing(proc)) this.writeHeartbeat(file, clock.now);
        if (!proc.hung) clock.after(beat.everyMs, tick);
      };
      clock.at(proc.startedAt + beat.firstAfterMs, tick);
    }
  }

  /**
   * The dead pane's own hook, if armed and the town's allowance lasts: the armed generation in the same
   * pane, as `respawn-pane` from the hook starts it, unless the daemon answered the death first.
   */
  #armedHook(proc: SimProcess): void {
    const pane = this.tmux.pane(proc.session);
    if (pane === undefined || !pane.dead || pane.generation !== proc.generation) return;
    const generation = this.tmux.fireArmedHook(proc.session);
    if (generation === null) return;
    const { identity, role, session } = proc;
    const started = this.start({ identity, role, session, generation, action: "respawn" }, () => undefined);
    this.#o.onArmedRespawn(started);
  }

  #exit(proc: SimProcess, status: number | null, cause: "agent" | "mass-death", toShell: boolean): void {
    const { clock, trace } = this.#o;
    proc.alive = false;
    trace.push({
      type: "exit",
      at: clock.now,
      identity: proc.identity,
      generation: proc.generation,
      status,
      cause,
      toShell,
    });
    this.activity.ended(proc);
    const pane = this.tmux.pane(proc.session);
    if (!toShell && pane !== undefined && pane.generation === proc.generation) {
      pane.dead = true;
      pane.deadStatus = status;
      const missed = this.#o.hookMissRate > 0 && this.#o.random() < this.#o.hookMissRate;
      const kick = this.#o.reapKickIntervalMs;
      // A lost SIGCHLD: reaped at the daemon's next kick, if it kicks; else only the death poll finds it.
      const reapedIn = !missed ? 0 : kick > 0 ? kick - (clock.now % kick) : undefined;
      if (reapedIn !== undefined) {
        clock.after(reapedIn + this.#o.armedReactionMs, () => {
          this.#armedHook(proc);
        });
        clock.after(reapedIn + this.#o.hookLatencyMs, () => {
          this.#o.onPaneDied(proc.session);
        });
      }
    }
    this.#o.onChange();
  }
}
