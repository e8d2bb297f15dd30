import { newGenerationId } from "../agents/env.js";
import type { ActivityReading } from "../activity/state.js";
import { actsAtOnce, conductActions, cycleRequests, observedWithConduct } from "../conduct/pass.js";
import { desiredAgents, type DesiredAgent } from "../policy/desired.js";
import { plan as realPlan, type Plan, type PlanInput } from "../policy/plan.js";
import { EMPTY_TOWN_STATE, type AgentRecord, type TownPolicyState } from "../policy/record.js";
import {
  actingOn,
  ArmedBook,
  armingAfterPass,
  type ArmedPane,
  type ArmingPlanner,
  type PassOutcome,
} from "../supervisor/armed-book.js";
import { DeathWatch } from "../supervisor/death-poll.js";
import { observeAgents, type ObservedAgent } from "../supervisor/observe.js";
import type { TownConfig } from "../town/config.js";
import type { SimClock } from "./clock.js";
import { SimConduct } from "./conduct.js";
import { SimExecutor, simHeartbeatFile, type AgentStats } from "./executor.js";
import type { TraceEvent } from "./trace.js";
import type { SimProcess, SimWorld } from "./world.js";

export { simHeartbeatFile, type AgentStats } from "./executor.js";

/** The planner the daemon asks; tests swap in a broken one to prove the invariant checker can fail. */
export type Planner = (input: PlanInput) => Plan;
/** A hook between observation and plan; tests use it to emulate a broken liveness check. */
export type ObservationFilter = (agents: ObservedAgent[]) => ObservedAgent[];

/** More passes than this at one simulated instant means the daemon would spin: stop the run. */
const MAX_PASSES_PER_INSTANT = 1000;

const NO_RUNTIME = { processNames: [], argv: [] };

export interface SimDaemonOptions {
  readonly clock: SimClock;
  readonly world: SimWorld;
  readonly config: TownConfig;
  readonly trace: TraceEvent[];
  readonly random: () => number;
  readonly planner?: Planner | undefined;
  readonly filterObservation?: ObservationFilter | undefined;
  /** Replaces the arming planner (tests only: a deliberately broken one). */
  readonly arming?: ArmingPlanner | undefined;
}

/**
 * townd's daemon over a simulated world: the same triggers as the real one (daemon/loop.ts, supervisor.ts)
 * and the same pure decision path, unchanged: desiredAgents → observeAgents → conduct → plan, with the
 * executor's record updates noteSpawned / noteSpawnFailed (executor.ts) and conduct's keys and nudges for
 * the agents the planner leaves alone (conduct.ts).
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
  readonly executor: SimExecutor;
  readonly conduct: SimConduct;

  readonly #o: SimDaemonOptions;
  readonly #planner: Planner;
  readonly #deathWatch = new DeathWatch();
  readonly #waiting = new Map<string, string>();
  #pending: string[] = [];
  #wakeQueued = false;
  #timerEpoch = 0;
  #firstPassAt: number | null = null;
  #pollQueued = false;
  #instant = { at: Number.NaN, passes: 0 };
  /** Pre-armed respawns, kept as the real daemon keeps them (ArmedRespawns). */
  readonly #armed = new ArmedBook();
  /** Armed generations' ids come from their own sequence, so arming leaves the world's randomness as it was. */
  #armedIds = 0;

  constructor(options: SimDaemonOptions) {
    this.#o = options;
    this.#planner = options.planner ?? realPlan;
    this.executor = new SimExecutor({
      clock: options.clock,
      world: options.world,
      config: options.config,
      trace: options.trace,
      random: options.random,
      records: () => this.records,
      startupDone: () => {
        this.trigger("start-up complete");
      },
    });
    this.conduct = new SimConduct({
      world: options.world,
      config: options.config,
      trace: options.trace,
      start: options.clock.now,
      profileOf: (agent) => this.executor.runtime(agent.desired)?.profile ?? null,
      isStarting: (identity) => this.executor.starting(identity),
    });
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

  /**
   * A hook event reaches the daemon: a wall or a permission prompt is acted on at once, as
   * Supervisor.activityChanged does (the pass also takes a walled agent's armed hook down).
   */
  hookEvent(identity: string, generation: string, reading: ActivityReading, at: number): void {
    const change = this.conduct.noteHook(identity, generation, reading, at);
    if (change === null) return;
    if (actsAtOnce(change)) this.trigger(`activity ${change.to.state}`);
  }

  /** tmux's armed pane-died hook respawned an agent. */
  armedRespawned(proc: SimProcess): void {
    this.executor.armedStarted(proc);
  }

  /** Agents whose pane hook the daemon holds armed. */
  armedAgents(): ReadonlySet<string> {
    return this.#armed.identities();
  }

  /** Something changed that the next death poll may notice. */
  worldChanged(): void {
    this.#armPoll();
  }

  statsOf(identity: string): AgentStats {
    return this.executor.statsOf(identity);
  }

  /** Agents with a start-up sequence still running. */
  starting(identity: string): boolean {
    return this.executor.starting(identity);
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

  /** The heartbeat file, or a hook event of this generation if later (Supervisor.withHeartbeat). */
  #withHeartbeat(agent: ObservedAgent): ObservedAgent {
    const { config, world } = this.#o;
    const watchdog = config.daemon.watchdogs.get(agent.desired.id.role);
    if (watchdog === undefined) return agent;
    const file = world.heartbeatAt(simHeartbeatFile(agent.desired.id.role, agent.desired.session));
    const hookBeat = world.activity.hookBeatAt(agent.desired.identity, agent.generation);
    const heartbeatAt = file === null ? hookBeat : hookBeat === null ? file : Math.max(file, hookBeat);
    return { ...agent, watchdog, heartbeatAt, heartbeatFileSeen: file !== null };
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
      (agent) => this.executor.runtime(agent) ?? NO_RUNTIME,
      world.processTree(),
    ).map((agent) => this.#withHeartbeat(agent));
    if (this.#o.filterObservation !== undefined) observed = this.#o.filterObservation(observed);
    this.executor.cancelStale(observed);
    observed = this.#armed.fired(observed, this.records);

    const conduct = this.conduct.plan(observed, this.records, now);
    const seen = observed.map((agent) =>
      observedWithConduct(
        agent,
        this.conduct.activityState(agent),
        conduct.agents.get(agent.desired.identity),
      ),
    );
    const before = this.records;
    const result = this.#planner({
      now,
      agents: seen,
      records: before,
      town: this.town,
      limits: config.daemon.limits,
      requests: cycleRequests(conduct),
      serverRestarted,
    });
    this.records = new Map(result.records);
    this.town = result.town;
    this.#traceOutcome(before, result, now);
    for (const alert of conduct.alerts) {
      trace.push({
        type: "alert",
        at: now,
        kind: alert.kind,
        identities: alert.identities,
        message: alert.message,
      });
    }
    this.#deathWatch.noteAlive(
      observed.flatMap((agent) =>
        agent.verdict === "alive" ? [[agent.desired.session, agent.pane?.command ?? ""] as const] : [],
      ),
      snapshot.serverRunning,
    );
    const byIdentity = new Map(desired.map((agent) => [agent.identity, agent]));
    const decisions = new Map(result.decisions.map((d) => [d.identity, d]));
    // tmux must not answer a death the daemon is about to answer (or cause) itself.
    this.#disarm(this.#armed.take(actingOn(result.actions)).map((armed) => armed.session));
    for (const action of result.actions) {
      const agent = byIdentity.get(action.identity);
      if (agent !== undefined)
        this.executor.execute(action, agent, decisions.get(action.identity), serverRestarted);
    }
    for (const act of conductActions(conduct, result.decisions, byIdentity)) this.executor.conduct(act);
    this.conduct.afterPass(observed, now);
    const armWake = this.#afterPass(
      { now, serverRestarted, observed: seen, decisions: result.decisions },
      byIdentity,
    );
    if (result.actions.some((action) => action.kind !== "nudge")) this.trigger("verify actions");
    this.#armPoll();

    // PassLoop: the next heartbeat one interval after this pass ends, or at wakeAt if that is sooner.
    const epoch = ++this.#timerEpoch;
    const interval = config.daemon.recoveryHeartbeatIntervalMs;
    const wakeAt = earliest(earliest(result.wakeAt, conduct.wakeAt), armWake);
    const delay = wakeAt === null ? interval : Math.max(0, Math.min(interval, wakeAt - now));
    clock.at(now + delay, () => {
      if (epoch !== this.#timerEpoch) return;
      this.#pending = [];
      this.#pass(["heartbeat"]);
    });
  }

  #disarm(sessions: readonly string[]): void {
    const { tmux } = this.#o.world;
    if (sessions.length > 0 && tmux.serverRunning) tmux.setArming([], sessions, this.#armed.floor);
  }

  /**
   * ArmedRespawns.afterPass: the panes armed become exactly the plan's, with the plan's allowance; returns
   * when an agent too young to be armed may be.
   */
  #afterPass(
    pass: Pick<PassOutcome, "now" | "serverRestarted" | "observed" | "decisions">,
    byIdentity: ReadonlyMap<string, DesiredAgent>,
  ): number | null {
    const { config, world } = this.#o;
    if (pass.serverRestarted) this.#armed.serverRestarted();
    const plan = armingAfterPass(
      config.daemon,
      { ...pass, records: this.records, town: this.town },
      this.#o.arming,
    );
    const disarm = this.#armed.release(plan).map((armed) => armed.session);
    const arm: ArmedPane[] = [];
    for (const identity of this.#armed.toArm(plan)) {
      const agent = byIdentity.get(identity);
      if (agent === undefined) continue;
      const generation = newGenerationId(pass.now, () => (this.#armedIds++ * GOLDEN) % 1);
      arm.push({ session: agent.session, generation });
      this.#armed.arm(identity, { session: agent.session, generation });
    }
    if (world.tmux.serverRunning) world.tmux.setArming(arm, disarm, this.#armed.limit(plan.tokens));
    return plan.wakeAt;
  }

  /** Deaths counted, the planner's alerts and its waits, into the trace and the stats. */
  #traceOutcome(before: ReadonlyMap<string, AgentRecord>, result: Plan, now: number): void {
    const { trace } = this.#o;
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
    for (const decision of result.decisions) {
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
}

/** Spreads the armed ids' sequence over [0, 1). */
const GOLDEN = 0.6180339887498949;

function earliest(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}
