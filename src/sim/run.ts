import { performance } from "node:perf_hooks";
import type { ConductAlertKind } from "../conduct/types.js";
import { AppError } from "../errors.js";
import type { AlertKind } from "../policy/plan.js";
import { desiredAgents } from "../policy/desired.js";
import { formatIdentity, sessionName } from "../town/identity.js";
import { DAY, formatSimTime, SimClock } from "./clock.js";
import type { ArmingPlanner } from "../supervisor/armed-book.js";
import { SimDaemon, simHeartbeatFile, type ObservationFilter, type Planner } from "./daemon.js";
import { checkInvariants, INVARIANT_COVERAGE, type InvariantId } from "./invariants.js";
import { conductMetrics, type ConductMetrics } from "./metrics.js";
import { seededRandom } from "./random.js";
import type { Scenario } from "./scenarios.js";
import { buildSimTown } from "./town.js";
import type { TraceEvent } from "./trace.js";
import { SimUsageWalls } from "./usage-walls.js";
import { SimWorld } from "./world.js";

export const DEFAULT_SEED = 1;
export const MAX_SIM_DAYS = 366;
/** tmux's pane-died hook → the events file → fs.watch → a pass: about 10 ms on a quiet machine. */
export const HOOK_LATENCY_MS = 10;
/** A pane's death → its armed hook's respawn-pane running: what tmux took on a quiet machine (BENCHMARKS). */
export const ARMED_REACTION_MS = 7;

export interface SimOptions {
  readonly days?: number | undefined;
  readonly agents?: number | undefined;
  readonly seed?: number | undefined;
  /** Share of pane deaths whose SIGCHLD tmux loses (the SIGCHLD kick or the death poll must find them); default 0. */
  readonly hookMissRate?: number | undefined;
  /** Overrides the town's reap_kick_interval (tests: 0 leaves lost deaths to the death poll alone). */
  readonly reapKickIntervalMs?: number | undefined;
  /** Replaces the planner (tests only: a deliberately broken policy). */
  readonly planner?: Planner | undefined;
  /** Rewrites observations before the planner sees them (tests only: a deliberately broken liveness check). */
  readonly filterObservation?: ObservationFilter | undefined;
  /** Overrides the town's armed_respawn setting (pre-armed respawns; default on). */
  readonly armedRespawn?: boolean | undefined;
  /** Replaces the arming planner (tests only: a deliberately broken one). */
  readonly arming?: ArmingPlanner | undefined;
}

export interface AgentSummary {
  readonly agent: string;
  readonly session: string;
  readonly role: string;
  readonly spawns: number;
  readonly restarts: number;
  readonly kills: number;
  readonly nudges: number;
  /** Conduct's keys: wall wakes, Escapes, approvals by rule. */
  readonly keys: number;
  /** Process exits the world saw (crashes, a mass death, a lost server). */
  readonly exits: number;
  /** Deaths the planner counted. */
  readonly deaths: number;
  readonly spawn_failures: number;
  /** Of the spawns, those tmux made from the agent's armed pane-died hook. */
  readonly armed_respawns: number;
  readonly state: string;
  /** What a hooked agent was doing at the end (null: no hooks). */
  readonly activity: string | null;
}

export interface SimAlert {
  readonly at_ms: number;
  readonly at: string;
  readonly kind: AlertKind | ConductAlertKind;
  readonly agents: readonly string[];
  readonly message: string;
}

export interface SimViolation {
  readonly invariant: InvariantId;
  readonly at_ms: number;
  readonly at: string;
  readonly agent: string;
  readonly detail: string;
}

/** One run's outcome; `townd simulate --json` prints it. Times are offsets from the start of the run. */
export interface SimReport extends ConductMetrics {
  readonly scenario: string;
  readonly description: string;
  readonly days: number;
  readonly agents: number;
  readonly seed: number;
  /** The agent the scenario is about. */
  readonly target: string;
  readonly spawns: number;
  readonly restarts: number;
  readonly kills: number;
  readonly nudges: number;
  readonly keys: number;
  readonly exits: number;
  readonly deaths: number;
  /** Restarts tmux made from armed pane-died hooks, before any pass (pre-armed respawns). */
  readonly armed_respawns: number;
  readonly passes: number;
  readonly alerts: readonly SimAlert[];
  readonly violations: readonly SimViolation[];
  readonly invariants: Readonly<Record<InvariantId, string>>;
  readonly per_agent: readonly AgentSummary[];
  readonly wall_ms: number;
}

export interface SimRun {
  readonly report: SimReport;
  readonly trace: readonly TraceEvent[];
  /** When the run started (epoch ms of simulated time). */
  readonly start: number;
}

function positive(name: string, value: number, max: number, integer: boolean): number {
  if (!Number.isFinite(value) || value <= 0 || value > max || (integer && !Number.isInteger(value))) {
    throw new AppError(
      "E_USAGE",
      `${name} must be ${integer ? "a whole number" : "a number"} above 0 and at most ${max}, not ${value}`,
    );
  }
  return value;
}

/** Runs one scenario over simulated time, then checks the invariants over its trace. */
export function runSimulation(scenario: Scenario, options: SimOptions = {}): SimRun {
  const wallStart = performance.now();
  const days = positive("--days", options.days ?? scenario.days, MAX_SIM_DAYS, false);
  const seed = options.seed ?? DEFAULT_SEED;
  if (!Number.isSafeInteger(seed))
    throw new AppError("E_USAGE", `--seed must be a whole number, not ${seed}`);
  const hookMissRate = options.hookMissRate ?? 0;
  const town = buildSimTown(options.agents ?? scenario.agents, scenario.settings);
  const config =
    options.armedRespawn === undefined
      ? town.config
      : { ...town.config, daemon: { ...town.config.daemon, armedRespawn: options.armedRespawn } };
  const firstRig = town.rigs[0];
  const target = firstRig === undefined ? "deacon" : formatIdentity({ role: "witness", rig: firstRig });

  const clock = new SimClock();
  const start = clock.now;
  const end = start + Math.round(days * DAY);
  const random = seededRandom(seed);
  const trace: TraceEvent[] = [];
  const scripts = scenario.scripts ?? {};
  const walls = new SimUsageWalls(scenario.walls, start, end, random);
  // The world reports to the daemon, which is built on the world: the link is set once both exist.
  const link: { daemon?: SimDaemon } = {};
  const world = new SimWorld({
    clock,
    trace,
    random,
    scriptsFor: (identity, role) => [
      scripts.all,
      scripts.roles?.[role],
      identity === target ? scripts.target : undefined,
      scripts.agents?.[identity],
    ],
    heartbeatFileOf: (role, session) =>
      config.daemon.watchdogs.has(role) ? simHeartbeatFile(role, session) : undefined,
    hookLatencyMs: HOOK_LATENCY_MS,
    hookMissRate,
    reapKickIntervalMs: options.reapKickIntervalMs ?? config.daemon.reapKickIntervalMs,
    onPaneDied: () => link.daemon?.paneDied(),
    armedReactionMs: ARMED_REACTION_MS,
    onArmedRespawn: (proc) => link.daemon?.armedRespawned(proc),
    onChange: () => link.daemon?.worldChanged(),
    walls,
    onHook: (identity, generation, reading) => {
      link.daemon?.hookEvent(identity, generation, reading, clock.now);
    },
  });
  const simDaemon = new SimDaemon({
    clock,
    world,
    config,
    trace,
    random,
    planner: options.planner,
    filterObservation: options.filterObservation,
    arming: options.arming,
  });
  link.daemon = simDaemon;

  if (scenario.deaconHeartbeatAgeAtStartMs !== undefined) {
    world.writeHeartbeat(
      simHeartbeatFile("deacon", sessionName({ role: "deacon" })),
      start - scenario.deaconHeartbeatAgeAtStartMs,
    );
  }
  for (const wall of walls.walls) {
    clock.at(wall.startAt, () => {
      world.activity.wallBegins(wall, scenario.walls?.hitSpreadMs ?? 0);
    });
  }
  for (const event of scenario.events ?? []) {
    clock.at(start + event.atMs, () => {
      if (event.kind === "mass-death") world.massDeath(event.status);
      else world.serverDown();
    });
  }
  clock.at(start, () => {
    simDaemon.start();
  });
  clock.runUntil(end);

  const violations = checkInvariants(trace, {
    limits: config.daemon.limits,
    watchdogs: config.daemon.watchdogs,
    detectionSlackMs: config.daemon.recoveryHeartbeatIntervalMs,
    conduct: config.daemon.conduct,
  });
  const exits = new Map<string, number>();
  for (const event of trace)
    if (event.type === "exit") exits.set(event.identity, (exits.get(event.identity) ?? 0) + 1);

  const perAgent: AgentSummary[] = desiredAgents(config)
    .filter((agent) => agent.wanted)
    .map((agent) => {
      const stats = simDaemon.statsOf(agent.identity);
      const proc = world.process(agent.identity);
      const record = simDaemon.records.get(agent.identity);
      let state: string;
      if (proc?.alive === true && !proc.hung)
        state = simDaemon.starting(agent.identity) ? "starting" : "running";
      else if (proc?.hung === true) state = "hung";
      else if (record !== undefined && record.crashLoopSince !== null) state = "crash-loop";
      else if (stats.lastDecision?.action === "wait") state = stats.lastDecision.holdBy ?? "waiting";
      else state = proc === undefined ? "never started" : "dead";
      // A stall the whole ladder did not cure needs a person, as `status` shows it.
      if (state === "running" && simDaemon.conduct.needsHuman(agent.identity) !== undefined)
        state = "needs-human";
      return {
        agent: agent.identity,
        session: agent.session,
        role: agent.id.role,
        spawns: stats.spawns,
        restarts: stats.restarts,
        kills: stats.kills,
        nudges: stats.nudges,
        keys: stats.keys,
        exits: exits.get(agent.identity) ?? 0,
        deaths: stats.deathsCounted,
        spawn_failures: stats.spawnFailures,
        armed_respawns: stats.armedRespawns,
        state,
        activity: world.activity.state(agent.identity) ?? null,
      };
    });
  const sum = (
    key: "spawns" | "restarts" | "kills" | "nudges" | "keys" | "exits" | "deaths" | "armed_respawns",
  ): number => perAgent.reduce((total, agent) => total + agent[key], 0);
  const alerts: SimAlert[] = [];
  for (const event of trace) {
    if (event.type !== "alert") continue;
    alerts.push({
      at_ms: event.at - start,
      at: formatSimTime(event.at - start),
      kind: event.kind,
      agents: event.identities,
      message: event.message,
    });
  }
  const report: SimReport = {
    scenario: scenario.name,
    description: scenario.description,
    days,
    agents: perAgent.length,
    seed,
    target,
    spawns: sum("spawns"),
    restarts: sum("restarts"),
    kills: sum("kills"),
    nudges: sum("nudges"),
    keys: sum("keys"),
    exits: sum("exits"),
    deaths: sum("deaths"),
    armed_respawns: sum("armed_respawns"),
    passes: simDaemon.passes,
    ...conductMetrics(trace, end),
    alerts,
    violations: violations.map((v) => ({
      invariant: v.invariant,
      at_ms: v.at - start,
      at: formatSimTime(v.at - start),
      agent: v.agent,
      detail: v.detail,
    })),
    invariants: INVARIANT_COVERAGE,
    per_agent: perAgent,
    wall_ms: Math.round((performance.now() - wallStart) * 10) / 10,
  };
  return { report, trace, start };
}
