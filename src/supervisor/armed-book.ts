import { NOTHING_ARMED, planArming, type ArmingInput, type ArmingPlan } from "../policy/arming.js";
import type { PolicyLimits } from "../policy/limits.js";
import type { Action, AgentObservation, Decision } from "../policy/plan.js";
import type { AgentRecord, TownPolicyState } from "../policy/record.js";
import type { ObservedAgent } from "./observe.js";

/**
 * The daemon's bookkeeping of pre-armed respawns (src/policy/arming.ts), without tmux: which panes are
 * armed with which generation, how many armed respawns it has recorded, and the allowance (a limit
 * against tmux's monotonic fired count) it gives tmux after each pass. The real daemon (armed-respawns.ts)
 * and the simulator (src/sim/daemon.ts) both keep it, so the simulator checks the daemon's own logic.
 */

/** An armed pane: its session, and the generation its hook will start. */
export interface ArmedPane {
  readonly session: string;
  readonly generation: string;
}

/** The arming planner's signature; tests swap in a broken one to prove the checks can fail. */
export type ArmingPlanner = typeof planArming;

/** What one pass left, as the arming plan needs it. */
export interface PassOutcome {
  readonly now: number;
  readonly serverRestarted: boolean;
  readonly observed: readonly AgentObservation[];
  readonly decisions: readonly Decision[];
  readonly records: ReadonlyMap<string, AgentRecord>;
  readonly town: TownPolicyState;
  /** Agents whose start-up sequence still runs (not armed until it is done). */
  readonly starting?: (identity: string) => boolean;
}

/** After a pass: what to arm, or nothing when the town turned pre-armed respawns off. */
export function armingAfterPass(
  daemon: {
    readonly armedRespawn: boolean;
    readonly limits: PolicyLimits;
    /** A generation is armed once it has run this long (its exit is no failed start any more). */
    readonly startFailureWindowMs: number;
  },
  pass: PassOutcome,
  planner: ArmingPlanner = planArming,
): ArmingPlan {
  if (!daemon.armedRespawn) return NOTHING_ARMED;
  const input: ArmingInput = {
    now: pass.now,
    limits: daemon.limits,
    serverRestarted: pass.serverRestarted,
    armAfterMs: daemon.startFailureWindowMs,
    ...(pass.starting === undefined ? {} : { starting: pass.starting }),
  };
  return planner(input, pass.observed, pass.decisions, pass.records, pass.town);
}

/**
 * The agents a pass's actions kill, restart or start: their armed hooks come down before the actions run,
 * so tmux never answers a death the daemon is about to answer (or cause) itself. A nudge touches no process.
 */
export function actingOn(actions: readonly Action[]): string[] {
  return actions.flatMap((action) => (action.kind === "nudge" ? [] : [action.identity]));
}

export class ArmedBook<P extends ArmedPane = ArmedPane> {
  readonly #armed = new Map<string, P>();
  /** Armed respawns recorded since counting started, on top of tmux's fired count at that moment. */
  #recorded = 0;
  #base = 0;

  /** Counting starts afresh from tmux's fired count; nothing is armed. */
  start(base: number): void {
    this.#armed.clear();
    this.#recorded = 0;
    this.#base = base;
  }

  /**
   * The tmux server was started again: its fired count starts at 0 and its panes, hooks and all, are
   * gone. Without this the next allowance would add everything counted on the old server to the tokens.
   */
  serverRestarted(): void {
    this.start(0);
  }

  /** The limit that leaves tmux no armed respawn beyond those already recorded. */
  get floor(): number {
    return this.#base + this.#recorded;
  }

  /** The limit that lets tmux make `tokens` more armed respawns. */
  limit(tokens: number): number {
    return this.floor + tokens;
  }

  /**
   * Agents whose armed hook respawned them since the last pass, seen as what happened to them: a death
   * (counted by the planner) and a respawn tmux made (armedRespawn), which the planner records. The pane
   * runs the armed generation while the record still knows the one before.
   */
  fired(observed: readonly ObservedAgent[], records: ReadonlyMap<string, AgentRecord>): ObservedAgent[] {
    if (this.#armed.size === 0) return [...observed];
    return observed.map((agent) => {
      const { identity } = agent.desired;
      const armed = this.#armed.get(identity);
      if (armed === undefined || agent.generation !== armed.generation) return agent;
      if (records.get(identity)?.generation === armed.generation) return agent;
      this.#armed.delete(identity);
      this.#recorded += 1;
      return { ...agent, verdict: "dead", verdictReason: "pane died", armedRespawn: armed.generation };
    });
  }

  /** Takes these agents out of the book (the daemon acts on them): the panes to disarm. */
  take(identities: Iterable<string>): P[] {
    const taken: P[] = [];
    for (const identity of identities) {
      const armed = this.#armed.get(identity);
      if (armed === undefined) continue;
      this.#armed.delete(identity);
      taken.push(armed);
    }
    return taken;
  }

  /** Takes out every armed pane the plan no longer arms, or whose arming `keep` rejects. */
  release(plan: ArmingPlan, keep: (pane: P) => boolean = () => true): P[] {
    const released: P[] = [];
    for (const [identity, armed] of this.#armed) {
      if (plan.armed.has(identity) && keep(armed)) continue;
      this.#armed.delete(identity);
      released.push(armed);
    }
    return released;
  }

  /** The plan's agents not armed yet. */
  toArm(plan: ArmingPlan): string[] {
    return [...plan.armed].filter((identity) => !this.#armed.has(identity));
  }

  /** Notes a pane as armed (once tmux took the hook). */
  arm(identity: string, pane: P): void {
    this.#armed.set(identity, pane);
  }

  /** Takes every pane out. */
  takeAll(): P[] {
    const all = [...this.#armed.values()];
    this.#armed.clear();
    return all;
  }

  identities(): ReadonlySet<string> {
    return new Set(this.#armed.keys());
  }
}
