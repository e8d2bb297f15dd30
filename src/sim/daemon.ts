import { newGenerationId } from "../agents/env.js";
import type { ResolvedRuntime } from "../agents/runtime.js";
import { errorMessage } from "../errors.js";
import { desiredAgents, type DesiredAgent } from "../policy/desired.js";
import { plan as realPlan, type Action, type Decision, type Plan, type PlanInput } from "../policy/plan.js";
import { EMPTY_TOWN_STATE, emptyRecord, type AgentRecord, type TownPolicyState } from "../policy/record.js";
import { noteSpawnFailed, noteSpawned } from "../policy/spawn-result.js";
import { DeathWatch } from "../supervisor/death-poll.js";
import { runtimeProfile } from "../activity/profiles.js";
import { heartbeatFile } from "../supervisor/heartbeats.js";
import { observeAgents, type ObservedAgent } from "../supervisor/observe.js";
import { runtimeFor } from "../supervisor/spawn-spec.js";
import type { TownConfig } from "../town/config.js";
import type { Role } from "../town/identity.js";
import { townPaths } from "../town/paths.js";
import type { SimClock } from "./clock.js";
import { SimTmuxError } from "./tmux.js";
import type { TraceEvent } from "./trace.js";
import type { SimProcess, SimWorld } from "./world.js";

/** The planner the daemon asks; tests swap in a broken one to prove the invariant checker can fail. */
export type Planner = (input: PlanInput) => Plan;
/** A hook between observation and plan; tests use it to emulate a broken liveness check. */
export type ObservationFilter = (agents: ObservedAgent[]) => ObservedAgent[];

/** The supervisor's pause between the startup beacon and the propulsion nudge (SupervisorOptions default). */
const BETWEEN_NUDGES_MS = 2000;
/** More passes than this at one simulated instant means the daemon would spin: stop the run. */
const MAX_PASSES_PER_INSTANT = 1000;

const NO_RUNTIME = { processNames: [], argv: [] };
const SIM_PATHS = townPaths("/sim-town");

/** The heartbeat file the real daemon reads for an agent (the Deacon's is shared by all its generations). */
export function simHeartbeatFile(role: Role, session: string): string {
  return heartbeatFile(SIM_PATHS, role, session);
}

export interface AgentStats {
  spawns: number;
  restarts: number;
  kills: number;
  nudges: number;
  deathsCounted: number;
  spawnFailures: number;
  lastDecision: Decision | undefined;
}

export interface SimDaemonOptions {
  readonly clock: SimClock;
  readonly world: SimWorld;
  readonly config: TownConfig;
  readonly trace: TraceEvent[];
  readonly random: () => number;
  readonly planner?: Planner | undefined;
  readonly filterObservation?: ObservationFilter | undefined;
}

/**
 * townd's daemon over a simulated world: the same triggers as the real one (daemon/loop.ts, supervisor.ts)
 * and the same pure decision path, unchanged: desiredAgents → observeAgents → plan, with the executor's
 * record updates noteSpawned / noteSpawnFailed.
 *
 * Triggers: a pass at start; the recovery heartbeat one interval after the end of the previous pass, or at
 * the planner's wakeAt if sooner; a pass when tmux's pane-died hook fires; the death poll's snapshot every
 * `death_poll_interval` (DeathWatch decides whether it has news); a "verify actions" pass right after any pass
 * that spawned, respawned or killed; a "start-up complete" pass when an agent's start-up sequence ends.
 * Passes take no simulated time, so triggers at one instant fold into one pass, as they do in PassLoop.
 */
export class SimDaemon {
  records = new Map<string, AgentRecord>();
  town: TownPolicyState = EMPTY_TOWN_STATE;
  passes = 0;
  readonly stats = new Map<string, AgentStats>();

  readonly #o: SimDaemonOptions;
  readonly #planner: Planner;
  readonly #runtimes = new Map<Role, ResolvedRuntime | null>();
  readonly #deathWatch = new DeathWatch();
  readonly #startups = new Map<string, string>();
  readonly #waiting = new Map<string, string>();
  #pending: string[] = [];
  #wakeQueued = false;
  #timerEpoch = 0;
  #firstPassAt: number | null = null;
  #pollQueued = false;
  #instant = { at: Number.NaN, passes: 0 };

  constructor(options: SimDaemonOptions) {
    this.#o = options;
    this.#planner = options.planner ?? realPlan;
  }

  /** The daemon starts: it makes sure the tmux server runs, then runs its first pass. */
  start(): void {
    this.#o.world.tmux.ensureServer();
    this.#pass(["start"]);
  }

  /** Asks for a pass as soon as possible (PassLoop.trigger). */
  trigger(reason: string): void {
    if (!this.#pending.includes(reason)) this.#pending.push(reason);
    if (this.#wakeQueued) return;
    this.#wakeQueued = true;
    this.#o.clock.after(0, () => {
      this.#wakeQueued = false;
      const reasons = this.#pending;
      this.#pending = [];
      if (reasons.length > 0) this.#pass(reasons);
    });
  }

  /** tmux's pane-died hook. */
  paneDied(): void {
    this.trigger("pane died");
  }

  /** Something changed that the next death poll may notice. */
  worldChanged(): void {
    this.#armPoll();
  }

  statsOf(identity: string): AgentStats {
    let stats = this.stats.get(identity);
    if (stats === undefined) {
      stats = {
        spawns: 0,
        restarts: 0,
        kills: 0,
        nudges: 0,
        deathsCounted: 0,
        spawnFailures: 0,
        lastDecision: undefined,
      };
      this.stats.set(identity, stats);
    }
    return stats;
  }

  /**
   * The death poll runs every interval from the first pass; its verdict can only change when the world or the
   * daemon's last pass changes, so only the first tick after such a change is simulated. Later ticks would see
   * the same snapshot and give the same answer.
   */
  #armPoll(): void {
    const { clock, config, world } = this.#o;
    const interval = config.daemon.deathPollIntervalMs;
    const origin = this.#firstPassAt;
    if (interval <= 0 || origin === null || this.#pollQueued) return;
    this.#pollQueued = true;
    const tick = origin + (Math.floor((clock.now - origin) / interval) + 1) * interval;
    clock.at(tick, () => {
      this.#pollQueued = false;
      const news = this.#deathWatch.news(world.tmux.snapshot());
      if (news !== undefined) this.trigger(news);
    });
  }

  /** The agent's runtime (as Supervisor.pass resolves it), or null when the settings name an unknown one. */
  #runtime(agent: DesiredAgent): ResolvedRuntime | null {
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

  #withHeartbeat(agent: ObservedAgent): ObservedAgent {
    const watchdog = this.#o.config.daemon.watchdogs.get(agent.desired.id.role);
    if (watchdog === undefined) return agent;
    const file = simHeartbeatFile(agent.desired.id.role, agent.desired.session);
    return { ...agent, watchdog, heartbeatAt: this.#o.world.heartbeatAt(file) };
  }

  /** One reconcile pass, as Supervisor.pass does it, then the next heartbeat timer, as PassLoop does. */
  #pass(reasons: readonly string[]): void {
    const { clock, config, world, trace } = this.#o;
    const now = clock.now;
    this.#guard(now, reasons);
    this.passes += 1;
    this.#firstPassAt ??= now;

    let snapshot = world.tmux.snapshot();
    const serverRestarted = !snapshot.serverRunning;
    if (serverRestarted) {
      world.tmux.ensureServer();
      snapshot = world.tmux.snapshot();
    }
    trace.push({ type: "pass", at: now, reasons, serverRestarted });
    const desired = desiredAgents(config);
    let observed = observeAgents(
      snapshot,
      desired,
      (agent) => this.#runtime(agent) ?? NO_RUNTIME,
      world.processTree(),
    ).map((agent) => this.#withHeartbeat(agent));
    if (this.#o.filterObservation !== undefined) observed = this.#o.filterObservation(observed);
    this.#cancelStaleStartups(observed);

    const before = this.records;
    const result = this.#planner({
      now,
      agents: observed,
      records: before,
      town: this.town,
      limits: config.daemon.limits,
      requests: [],
      serverRestarted,
    });
    this.records = new Map(result.records);
    this.town = result.town;

    // countDeath marks the generation and stamps the time; a shutdown also marks it, but is no death.
    for (const [identity, record] of this.records) {
      if (
        record.lastDeathAt === now &&
        record.deathCounted !== null &&
        record.deathCounted !== (before.get(identity)?.deathCounted ?? null)
      ) {
        this.statsOf(identity).deathsCounted += 1;
        trace.push({ type: "death-counted", at: now, identity, reason: record.lastExit ?? "" });
      }
    }
    for (const alert of result.alerts) {
      trace.push({
        type: "alert",
        at: now,
        kind: alert.kind,
        identities: alert.identities,
        message: alert.message,
      });
    }
    const decisions = new Map<string, Decision>();
    for (const decision of result.decisions) {
      decisions.set(decision.identity, decision);
      this.statsOf(decision.identity).lastDecision = decision;
      if (decision.action === "wait") {
        const key = decision.holdBy ?? "wait";
        if (this.#waiting.get(decision.identity) !== key) {
          this.#waiting.set(decision.identity, key);
          trace.push({
            type: "wait",
            at: now,
            identity: decision.identity,
            holdBy: key,
            reason: decision.reason,
          });
        }
      } else {
        this.#waiting.delete(decision.identity);
      }
    }
    this.#deathWatch.noteAlive(
      observed.flatMap((agent) =>
        agent.verdict === "alive" ? [[agent.desired.session, agent.pane?.command ?? ""] as const] : [],
      ),
      snapshot.serverRunning,
    );
    const byIdentity = new Map(desired.map((agent) => [agent.identity, agent]));
    for (const action of result.actions) {
      const agent = byIdentity.get(action.identity);
      if (agent !== undefined) this.#execute(action, agent, decisions.get(action.identity), serverRestarted);
    }
    if (result.actions.some((action) => action.kind !== "nudge")) this.trigger("verify actions");
    this.#armPoll();

    // PassLoop: the next heartbeat one interval after this pass ends, or at wakeAt if that is sooner.
    const epoch = ++this.#timerEpoch;
    const interval = config.daemon.recoveryHeartbeatIntervalMs;
    const delay = result.wakeAt === null ? interval : Math.max(0, Math.min(interval, result.wakeAt - now));
    clock.at(now + delay, () => {
      if (epoch !== this.#timerEpoch) return;
      this.#pending = [];
      this.#pass(["heartbeat"]);
    });
  }

  #guard(now: number, reasons: readonly string[]): void {
    if (this.#instant.at !== now) this.#instant = { at: now, passes: 0 };
    this.#instant.passes += 1;
    if (this.#instant.passes > MAX_PASSES_PER_INSTANT) {
      throw new Error(
        `The daemon ran ${MAX_PASSES_PER_INSTANT} passes without simulated time moving (last reasons: ${reasons.join(", ")})`,
      );
    }
  }

  #cancelStaleStartups(observed: readonly ObservedAgent[]): void {
    for (const agent of observed) {
      const generation = this.#startups.get(agent.desired.identity);
      if (generation === undefined) continue;
      if (agent.verdict !== "alive" || agent.generation !== generation)
        this.#startups.delete(agent.desired.identity);
    }
  }

  /** The executor (supervisor/executor.ts) over the simulated world. */
  #execute(
    action: Action,
    agent: DesiredAgent,
    decision: Decision | undefined,
    serverRestarted: boolean,
  ): void {
    const { clock, config, world, trace } = this.#o;
    const now = clock.now;
    const { identity, session } = action;
    const role = agent.id.role;
    const stats = this.statsOf(identity);
    const verdict = decision?.verdict ?? "alive";
    const record = this.records.get(identity) ?? emptyRecord(identity, session);
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
        return;
      case "nudge": {
        stats.nudges += 1;
        const heartbeatAgeMs = heartbeatAge();
        const answered = world.nudge(identity);
        trace.push({ type: "nudge", at: now, identity, reason: action.reason, answered, heartbeatAgeMs });
        return;
      }
      case "kill": {
        try {
          world.killSession(identity, session, onKill);
        } catch (error) {
          if (!(error instanceof SimTmuxError)) throw error;
        }
        this.#startups.delete(identity);
        this.records.set(identity, { ...record, lastReason: action.reason });
        return;
      }
      case "spawn":
      case "respawn": {
        const generation = newGenerationId(now, this.#o.random);
        let proc: SimProcess;
        try {
          proc = world.start({ identity, role, session, generation, action: action.kind }, onKill);
        } catch (error) {
          if (!(error instanceof SimTmuxError)) throw error;
          const message = errorMessage(error);
          stats.spawnFailures += 1;
          this.records.set(identity, noteSpawnFailed(record, { at: now, message }, config.daemon.restart));
          trace.push({ type: "spawn-failed", at: now, identity, action: action.kind, error: message });
          return;
        }
        this.records.set(
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
   * runStartup's timing: wait for the ready prompt (or give up at the runtime's ready timeout), settle, the
   * startup beacon, a pause, the propulsion nudge; then a "start-up complete" pass. A generation that dies
   * or is replaced first never completes.
   */
  #beginStartup(agent: DesiredAgent, proc: SimProcess): void {
    const runtime = this.#runtime(agent);
    if (runtime === null) return;
    let waitMs = 0;
    const readable = runtime.readyPrompt !== null || runtimeProfile(runtime.profile).ready !== null;
    if (readable) waitMs = Math.min(proc.behaviour.promptAfterMs, runtime.readyTimeoutMs);
    const doneAt = proc.startedAt + waitMs + runtime.startupDelayMs + BETWEEN_NUDGES_MS;
    this.#startups.set(proc.identity, proc.generation);
    this.#o.clock.at(doneAt, () => {
      if (this.#startups.get(proc.identity) !== proc.generation) return;
      this.#startups.delete(proc.identity);
      this.trigger("start-up complete");
    });
  }

  /** Agents with a start-up sequence still running. */
  starting(identity: string): boolean {
    return this.#startups.has(identity);
  }
}
