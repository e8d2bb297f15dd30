import type { PaneInfo, TmuxSnapshot } from "../tmux/types.js";

/** One session with its one pane, as townd's tmux adapter would see it. */
export interface SimPane {
  readonly session: string;
  readonly paneId: string;
  panePid: number;
  /** `#{pane_current_command}`. */
  command: string;
  dead: boolean;
  deadStatus: number | null;
  /** `@townd_generation`, `@townd_identity`. */
  generation: string | null;
  readonly identity: string | null;
}

/** What an armed pane-died hook starts (src/tmux/armed-hook.ts): the generation the daemon chose. */
export interface SimArmedHook {
  readonly session: string;
  readonly generation: string;
}

export class SimTmuxError extends Error {
  override readonly name = "SimTmuxError";
}

export interface SimTmuxListener {
  sessionOpened(identity: string, session: string, refused: boolean): void;
  sessionClosed(identity: string, session: string, cause: "killed" | "server-lost"): void;
}

/**
 * A tmux server on the town's socket: up or down, sessions with one pane each. It refuses what real tmux
 * refuses (a second session of the same name, a respawn of a missing pane, any call but ensureServer while
 * the server is down), and tells its listener about every session it opens, refuses or closes.
 */
export class SimTmux {
  #up = true;
  #paneIds = 0;
  readonly #sessions = new Map<string, SimPane>();
  #sorted: SimPane[] | undefined;
  readonly #listener: SimTmuxListener;
  /** Armed pane hooks by session, and the server options @townd_arm_fired and @townd_arm_limit. */
  readonly #armed = new Map<string, SimArmedHook>();
  #armFired = 0;
  #armLimit = 0;

  constructor(listener: SimTmuxListener) {
    this.#listener = listener;
  }

  get serverRunning(): boolean {
    return this.#up;
  }

  /** `list-panes -a` in one call; a missing server is a normal, empty snapshot. Sessions in name order. */
  snapshot(): TmuxSnapshot {
    if (!this.#up) return { serverRunning: false, panes: [] };
    this.#sorted ??= [...this.#sessions.values()].sort((a, b) =>
      a.session < b.session ? -1 : a.session > b.session ? 1 : 0,
    );
    return { serverRunning: true, panes: this.#sorted.map(toPaneInfo) };
  }

  ensureServer(): void {
    this.#up = true;
  }

  pane(session: string): SimPane | undefined {
    return this.#up ? this.#sessions.get(session) : undefined;
  }

  /** The session's pane; throws what tmux would say when there is none. */
  requirePane(session: string): SimPane {
    this.#needServer();
    const pane = this.#sessions.get(session);
    if (pane === undefined) throw new SimTmuxError(`can't find session: ${session}`);
    return pane;
  }

  newSession(spec: {
    session: string;
    identity: string;
    generation: string;
    pid: number;
    command: string;
  }): SimPane {
    this.#needServer();
    if (this.#sessions.has(spec.session)) {
      this.#listener.sessionOpened(spec.identity, spec.session, true);
      throw new SimTmuxError(`duplicate session: ${spec.session}`);
    }
    const pane: SimPane = {
      session: spec.session,
      paneId: `%${this.#paneIds++}`,
      panePid: spec.pid,
      command: spec.command,
      dead: false,
      deadStatus: null,
      generation: spec.generation,
      identity: spec.identity,
    };
    this.#sessions.set(spec.session, pane);
    this.#sorted = undefined;
    this.#listener.sessionOpened(spec.identity, spec.session, false);
    return pane;
  }

  /** `respawn-pane -k`: a new process in the same pane (the caller ends the old one). */
  respawnPane(session: string, spec: { generation: string; pid: number; command: string }): SimPane {
    const pane = this.requirePane(session);
    pane.panePid = spec.pid;
    pane.command = spec.command;
    pane.dead = false;
    pane.deadStatus = null;
    pane.generation = spec.generation;
    return pane;
  }

  /**
   * The daemon's setArming: pane hooks set or unset (a missing session's is refused, as tmux does), then
   * the town-wide limit.
   */
  setArming(arm: readonly SimArmedHook[], disarm: readonly string[], limit: number): void {
    this.#needServer();
    for (const session of disarm) this.#armed.delete(session);
    for (const hook of arm) if (this.#sessions.has(hook.session)) this.#armed.set(hook.session, hook);
    this.#armLimit = limit;
  }

  /** `@townd_arm_fired`: armed respawns made since the server started. */
  get armFired(): number {
    return this.#up ? this.#armFired : 0;
  }

  /** Sessions whose pane hook is armed. */
  armedSessions(): ReadonlySet<string> {
    return new Set(this.#armed.keys());
  }

  /**
   * A pane died and its hook runs: while the allowance lasts (fired < limit) the hook spends one, disarms
   * itself and answers with the generation it was armed with; otherwise (or unarmed) null.
   */
  fireArmedHook(session: string): string | null {
    const hook = this.#armed.get(session);
    if (!this.#up || hook === undefined || this.#armFired >= this.#armLimit) return null;
    this.#armFired += 1;
    this.#armed.delete(session);
    return hook.generation;
  }

  killSession(session: string): void {
    const pane = this.requirePane(session);
    this.#sessions.delete(session);
    this.#armed.delete(session);
    this.#sorted = undefined;
    this.#listener.sessionClosed(pane.identity ?? session, session, "killed");
  }

  /** The server dies (kill-server, a crash): every session with it. */
  serverDown(): SimPane[] {
    const lost = [...this.#sessions.values()];
    this.#up = false;
    this.#sessions.clear();
    // Hooks and server options die with the server: a new one counts from 0 with no limit set.
    this.#armed.clear();
    this.#armFired = 0;
    this.#armLimit = 0;
    this.#sorted = undefined;
    for (const pane of lost)
      this.#listener.sessionClosed(pane.identity ?? pane.session, pane.session, "server-lost");
    return lost;
  }

  #needServer(): void {
    if (!this.#up) throw new SimTmuxError("no server running");
  }
}

function toPaneInfo(pane: SimPane): PaneInfo {
  return {
    session: pane.session,
    paneId: pane.paneId,
    panePid: pane.panePid,
    command: pane.command,
    dead: pane.dead,
    deadStatus: pane.deadStatus,
    generation: pane.generation,
    identity: pane.identity,
  };
}
