import { newGenerationId } from "../agents/env.js";
import type { ResolvedRuntime } from "../agents/runtime.js";
import { runtimeProfile } from "../activity/profiles.js";
import type { ConductAction } from "../conduct/pass.js";
import { errorMessage } from "../errors.js";
import type { DesiredAgent } from "../policy/desired.js";
import type { Action, Decision } from "../policy/plan.js";
import { emptyRecord, type AgentRecord } from "../policy/record.js";
import { noteSpawnFailed, noteSpawned } from "../policy/spawn-result.js";
import { heartbeatFile } from "../supervisor/heartbeats.js";
import type { ObservedAgent } from "../supervisor/observe.js";
import { runtimeFor } from "../supervisor/spawn-spec.js";
import type { TownConfig } from "../town/config.js";
import type { Role } from "../town/identity.js";
import { townPaths } from "../town/paths.js";
import type { SimClock } from "./clock.js";
import { SimTmuxError } from "./tmux.js";
import type { TraceEvent } from "./trace.js";
import type { SimProcess, SimWorld } from "./world.js";

/** The supervisor's pause between the startup beacon and the propulsion nudge (SupervisorOptions default). */
const BETWEEN_NUDGES_MS = 2000;

const SIM_PATHS = townPaths("/sim-town");

/** The heartbeat file the real daemon reads for an agent (the Deacon's is shared by all its generations). */
export function simHeartbeatFile(role: Role, session: string): string {
  return heartbeatFile(SIM_PATHS, role, session);
}

export interface AgentStats {
  spawns: number;
  restarts: number;
  kills: number;
  /** Typed messages: the planner's HEALTH_CHECK nudges and conduct's nudges. */
  nudges: number;
  /** Conduct's keys: wall wakes, Escapes, approvals. */
  keys: number;
  deathsCounted: number;
  spawnFailures: number;
  /** Of the spawns, those tmux made from an armed pane-died hook. */
  armedRespawns: number;
  lastDecision: Decision | undefined;
}

export interface SimExecutorOptions {
  readonly clock: SimClock;
  readonly world: SimWorld;
  readonly config: TownConfig;
  readonly trace: TraceEvent[];
  readonly random: () => number;
  /** The daemon's records, read and updated as the real executor's results are applied. */
  readonly records: () => Map<string, AgentRecord>;
  /** A "start-up complete" pass. */
  readonly startupDone: () => void;
}

/**
 * The executor (supervisor/executor.ts) over the simulated world, with the real record updates
 * (noteSpawned / noteSpawnFailed) and runStartup's timing.
 */
export class SimExecutor {
  readonly stats = new Map<string, AgentStats>();
  readonly #o: SimExecutorOptions;
  readonly #runtimes = new Map<Role, ResolvedRuntime | null>();
  readonly #startups = new Map<string, string>();

  constructor(options: SimExecutorOptions) {
    this.#o = options;
  }

  statsOf(identity: string): AgentStats {
    let stats = this.stats.get(identity);
    if (stats === undefined) {
      stats = {
        spawns: 0,
        restarts: 0,
        kills: 0,
        nudges: 0,
        keys: 0,
        deathsCounted: 0,
        spawnFailures: 0,
        armedRespawns: 0,
        lastDecision: undefined,
      };
      this.stats.set(identity, stats);
    }
    return stats;
  }

  /** The agent's runtime (as Supervisor.pass resolves it), or null when the settings name an unknown one. */
  runtime(agent: DesiredAgent): ResolvedRuntime | null {
    let runtime = this.#runtimes.get(agent.id.role);
    if (runtime === undefined) {
      try {
        runtime = runtimeFor(agent.id, this.#o.config);
      } catch {
        runtime = null;
      }
      this.#runtimes.set(agent.id.role, runtime);
    }
    return runtime;
  }

  /** Agents with a start-up sequence still running. */
  starting(identity: string): boolean {
    return this.#startups.has(identity);
  }

  /** Start-ups of generations that died or were replaced never complete. */
  cancelStale(observed: readonly ObservedAgent[]): void {
    for (const agent of observed) {
      const generation = this.#startups.get(agent.desired.identity);
      if (generation === undefined) continue;
      if (agent.verdict !== "alive" || agent.generation !== generation)
        this.#startups.delete(agent.desired.identity);
    }
  }

  /** Conduct's keys and nudges, each into the pane of an agent the planner left alone. */
  conduct(action: ConductAction): void {
    const { world, trace, clock } = this.#o;
    const stats = this.statsOf(action.identity);
    if (action.kind === "nudge") stats.nudges += 1;
    else stats.keys += 1;
    // The act goes to the trace before what the agent does about it.
    const index = trace.length;
    const effect =
      action.kind === "nudge"
        ? world.nudge(action.identity).effect
        : world.keys(action.identity, action.keys);
    trace.splice(index, 0, {
      type: "conduct",
      at: clock.now,
      identity: action.identity,
      act: action.kind === "nudge" ? "nudge" : action.keys,
      reason: action.reason,
      effect,
    });
  }

  /** One of the planner's actions. */
  execute(
    action: Action,
    agent: DesiredAgent,
    decision: Decision | undefined,
    serverRestarted: boolean,
  ): void {
    const { clock, config, world, trace } = this.#o;
    const records = this.#o.records();
    const now = clock.now;
    const { identity, session } = action;
    const role = agent.id.role;
    const stats = this.statsOf(identity);
    const verdict = decision?.verdict ?? "alive";
    const record = records.get(identity) ?? emptyRecord(identity, session);
    const heartbeatAge = (): number | null => {
      if (!config.daemon.watchdogs.has(role)) return null;
      const beat = world.heartbeatAt(simHeartbeatFile(role, session));
      return beat === null ? null : now - beat;
    };
    const onKill = (old: SimProcess): void => {
      stats.kills += 1;
      trace.push({
        type: "kill",
        at: now,
        identity,
        role,
        generation: old.generation,
        automatic: !((action.kind === "spawn" || action.kind === "respawn") && action.manual),
        verdict,
        reason: action.reason,
        heartbeatAgeMs: heartbeatAge(),
      });
    };
    switch (action.kind) {
      case "keys":
        this.conduct(action);
        return;
      case "nudge": {
        stats.nudges += 1;
        const heartbeatAgeMs = heartbeatAge();
        const index = trace.length;
        const { answered } = world.nudge(identity);
        trace.splice(index, 0, {
          type: "nudge",
          at: now,
          identity,
          reason: action.reason,
          answered,
          heartbeatAgeMs,
        });
        return;
      }
      case "kill": {
        try {
          world.killSession(identity, session, onKill);
        } catch (error) {
          if (!(error instanceof SimTmuxError)) throw error;
        }
        this.#startups.delete(identity);
        records.set(identity, { ...record, lastReason: action.reason });
        return;
      }
      case "spawn":
      case "respawn": {
        if (action.kind === "respawn" && action.armed !== undefined) {
          this.#recordArmed(action, agent, record);
          return;
        }
        const generation = newGenerationId(now, this.#o.random);
        const resume = action.kind === "respawn" && action.resume !== undefined;
        let proc: SimProcess;
        try {
          proc = world.start({ identity, role, session, generation, action: action.kind, resume }, onKill);
        } catch (error) {
          if (!(error instanceof SimTmuxError)) throw error;
          const message = errorMessage(error);
          stats.spawnFailures += 1;
          records.set(identity, noteSpawnFailed(record, { at: now, message }, config.daemon.restart));
          trace.push({ type: "spawn-failed", at: now, identity, action: action.kind, error: message });
          return;
        }
        records.set(
          identity,
          noteSpawned(record, { generation, at: now, reason: action.reason, manual: action.manual }),
        );
        stats.spawns += 1;
        if (proc.index > 1) stats.restarts += 1;
        trace.push({
          type: "start",
          at: now,
          identity,
          role,
          generation,
          action: action.kind,
          manual: action.manual,
          verdict,
          serverRestart: serverRestarted,
          reason: action.reason,
        });
        this.#beginStartup(agent, proc);
        return;
      }
    }
  }

  /**
   * tmux's armed hook started a generation: the trace has its start at that moment, as an automatic
   * restart (the invariants check it there), and the stats count it once. The daemon records it later.
   */
  armedStarted(proc: SimProcess): void {
    const stats = this.statsOf(proc.identity);
    stats.spawns += 1;
    stats.armedRespawns += 1;
    if (proc.index > 1) stats.restarts += 1;
    this.#o.trace.push({
      type: "start",
      at: proc.startedAt,
      identity: proc.identity,
      role: proc.role,
      generation: proc.generation,
      action: "respawn",
      manual: false,
      verdict: "dead",
      serverRestart: false,
      reason: "pane died; respawned at once by its armed pane-died hook",
      armed: true,
    });
  }

  /**
   * The pass that finds an armed respawn records it as the real executor does (noteSpawned, the start-up
   * sequence for the generation tmux started), with no tmux call and no second "start".
   */
  #recordArmed(action: Action & { kind: "respawn" }, agent: DesiredAgent, record: AgentRecord): void {
    const { clock } = this.#o;
    const generation = action.armed ?? "";
    const records = this.#o.records();
    records.set(
      action.identity,
      noteSpawned(record, { generation, at: clock.now, reason: action.reason, manual: action.manual }),
    );
    const proc = this.#o.world.process(action.identity);
    if (proc?.generation === generation && proc.alive) this.#beginStartup(agent, proc);
  }

  /**
   * runStartup's timing: wait for the ready prompt (or give up at the runtime's ready timeout), settle, the
   * startup beacon, a pause, the propulsion nudge; then a "start-up complete" pass. A generation that dies
   * or is replaced first never completes.
   */
  #beginStartup(agent: DesiredAgent, proc: SimProcess): void {
    const runtime = this.runtime(agent);
    if (runtime === null) return;
    let waitMs = 0;
    const readable = runtime.readyPrompt !== null || runtimeProfile(runtime.profile).ready !== null;
    if (readable) waitMs = Math.min(proc.behaviour.promptAfterMs, runtime.readyTimeoutMs);
    const beaconAt = proc.startedAt + waitMs + runtime.startupDelayMs;
    this.#startups.set(proc.identity, proc.generation);
    const current = (): boolean => this.#startups.get(proc.identity) === proc.generation;
    this.#o.clock.at(beaconAt, () => {
      if (current()) this.#o.world.activity.prompted(proc);
    });
    this.#o.clock.at(beaconAt + BETWEEN_NUDGES_MS, () => {
      if (!current()) return;
      this.#startups.delete(proc.identity);
      this.#o.startupDone();
    });
  }
}
