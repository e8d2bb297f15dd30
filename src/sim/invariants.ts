import type { ConductLimits } from "../conduct/types.js";
import { backoffDelay } from "../policy/backoff.js";
import type { PolicyLimits, WatchdogLimits } from "../policy/limits.js";
import { formatDuration } from "../util/duration.js";
import { checkConductInvariants } from "./invariants-conduct.js";
import type { TraceEvent } from "./trace.js";

export type InvariantId = "I1" | "I2" | "I3" | "I4" | "I5" | "I6" | "I7" | "I8" | "I9" | "I10";

export interface Violation {
  readonly invariant: InvariantId;
  readonly at: number;
  readonly agent: string;
  readonly detail: string;
}

/** Which invariants a simulated run can check, and why the others are out of its reach. */
export const INVARIANT_COVERAGE: Readonly<Record<InvariantId, string>> = {
  I1: "checked: at most one session per agent identity",
  I2: "checked: no automatic kill or respawn of a live, working agent",
  I3: "checked: every automatic restart within backoff, crash-loop budget, spawn budget and mass-death pause",
  I4: "checked: no heartbeat-based restart of a generation younger than its grace",
  I5: "not applicable: the simulator sends no lifecycle requests",
  I6: "not applicable: one simulated daemon, no OS lock to contend for",
  I7: "not applicable: nothing is written to disk",
  I8: "not applicable: simulated passes take no time, so nothing can block them",
  I9: "checked: no kill while walled, idle or waiting for permission; walled exits restart after the reset and feed no death count, crash loop, spawn budget or mass death",
  I10: "checked: walls woken after the reset, permission waits told once and approved only by a rule, idle patrols nudged, the stuck ladder climbs one rung at a time",
};

/** Activity states of a live agent that is doing what it should while quiet. */
const QUIET: ReadonlySet<string> = new Set(["idle", "awaiting-permission", "rate-limited"]);

export interface CheckOptions {
  readonly limits: PolicyLimits;
  /** Heartbeat watchdogs by role (for I4's grace). */
  readonly watchdogs: ReadonlyMap<string, WatchdogLimits>;
  /**
   * How late the daemon may notice a death (one recovery heartbeat interval when every event is missed).
   * The checker gives the policy the benefit of that doubt wherever the exact time matters, so a reported
   * violation is a certain one.
   */
  readonly detectionSlackMs: number;
  /** What townd does about agents' activity (I9, I10); absent: townd's defaults. */
  readonly conduct?: ConductLimits;
}

interface AgentState {
  role: string | null;
  generation: string | null;
  startedAt: number | null;
  /** The agent process of the current generation runs. */
  alive: boolean;
  hung: boolean;
  /** When the current generation hung or stalled: the death the policy answers dates from then. */
  hungAt: number | null;
  started: boolean;
  sessions: Set<string>;
  /** Consecutive quick deaths: what the backoff grows with. */
  streak: number;
  lastFailureAt: number | null;
  /** Automatic restarts the restart policy governs. */
  restarts: number[];
  /** Set from the planner's crash_loop alert until a stable run: retries must be a retry period apart. */
  crashLoop: { since: number; lastRetry: number | null } | null;
  /** What the current generation's hooks say it does. */
  activity: string | null;
  /** Its last exit was behind a usage limit: no death, and the start that wakes it is outside the policy. */
  wallWake: boolean;
}

/**
 * Checks invariants I1–I4 over a trace. The checker knows the policy only as a specification (the limits),
 * never as code: it counts sessions, live processes, deaths and restarts from the trace and says where the
 * daemon's acts broke a promise, with the time, the agent and what happened.
 */
export function checkInvariants(trace: readonly TraceEvent[], options: CheckOptions): Violation[] {
  const { limits, watchdogs, detectionSlackMs } = options;
  const violations: Violation[] = [];
  const agents = new Map<string, AgentState>();
  let townRestarts: number[] = [];
  const pauses: { from: number; until: number }[] = [];
  const report = (invariant: InvariantId, at: number, agent: string, detail: string): void => {
    violations.push({ invariant, at, agent, detail });
  };
  const stateOf = (identity: string): AgentState => {
    let state = agents.get(identity);
    if (state === undefined) {
      state = {
        role: null,
        generation: null,
        startedAt: null,
        alive: false,
        hung: false,
        hungAt: null,
        started: false,
        sessions: new Set(),
        streak: 0,
        lastFailureAt: null,
        restarts: [],
        crashLoop: null,
        activity: null,
        wallWake: false,
      };
      agents.set(identity, state);
    }
    return state;
  };
  /** A death (or a hung process ended) the restart policy must answer with its backoff. */
  const failure = (state: AgentState, at: number, lifetimeMs: number): void => {
    const stable = lifetimeMs + detectionSlackMs >= limits.restart.stabilityPeriodMs;
    state.streak = stable ? 1 : state.streak + 1;
    state.lastFailureAt = at;
    if (stable) state.crashLoop = null;
  };

  for (const event of trace) {
    switch (event.type) {
      case "session-open": {
        const state = stateOf(event.identity);
        const other = [...state.sessions][0];
        if (event.refused) {
          report(
            "I1",
            event.at,
            event.identity,
            `new-session ${event.session} while that session exists (tmux refused it)`,
          );
        } else if (other !== undefined) {
          report("I1", event.at, event.identity, `session ${event.session} opened while ${other} is open`);
        }
        if (!event.refused) state.sessions.add(event.session);
        break;
      }
      case "session-close":
        stateOf(event.identity).sessions.delete(event.session);
        break;
      case "server-down":
        for (const state of agents.values()) state.sessions.clear();
        break;
      case "exit": {
        const state = stateOf(event.identity);
        if (event.generation !== state.generation || !state.alive) break;
        state.alive = false;
        const lifetimeMs = event.at - (state.startedAt ?? event.at);
        // A lost tmux server is nobody's death, nor an exit behind a usage limit (I9 checks the rest).
        if (state.activity === "rate-limited") state.wallWake = true;
        else if (event.cause !== "server-lost") failure(state, event.at, lifetimeMs);
        else if (lifetimeMs + detectionSlackMs >= limits.restart.stabilityPeriodMs) {
          // It ran stably before the server went: the policy has cleared its streak (noteAlive).
          state.streak = 0;
          state.crashLoop = null;
        }
        break;
      }
      case "hang":
      case "stall": {
        const state = stateOf(event.identity);
        if (event.generation === state.generation) {
          state.hung = true;
          state.hungAt = event.at;
        }
        break;
      }
      case "stall-cured": {
        const state = stateOf(event.identity);
        if (event.generation === state.generation) state.hung = false;
        break;
      }
      case "activity": {
        const state = stateOf(event.identity);
        if (event.generation === state.generation) state.activity = event.state;
        break;
      }
      case "kill": {
        const state = stateOf(event.identity);
        state.role ??= event.role;
        if (event.generation !== state.generation || !state.alive) break;
        // A kill for what the agent is doing (walled, idle, waiting) is I9's.
        const quiet = state.activity !== null && QUIET.has(state.activity);
        if (event.automatic && !state.hung && !quiet) {
          report(
            "I2",
            event.at,
            event.identity,
            `live, working agent (generation ${event.generation}) killed on a "${event.verdict}" verdict: ${event.reason}`,
          );
        }
        const grace = watchdogs.get(event.role)?.graceMs;
        const age = event.at - (state.startedAt ?? event.at);
        if (event.automatic && event.verdict === "hung" && grace !== undefined && age < grace) {
          report(
            "I4",
            event.at,
            event.identity,
            `heartbeat-based restart of a generation ${formatDuration(age)} old (grace ${formatDuration(grace)}): ${event.reason}`,
          );
        }
        state.alive = false;
        // A hung agent's replacement may wait out its backoff from the moment it was judged dead.
        if (state.hung) failure(state, state.hungAt ?? event.at, age);
        break;
      }
      case "spawn-failed": {
        const state = stateOf(event.identity);
        failure(state, event.at, 0);
        break;
      }
      case "start": {
        const state = stateOf(event.identity);
        state.role = event.role;
        const automatic = !event.manual && !event.serverRestart;
        if (automatic) {
          const pause = pauses.find((p) => p.from <= event.at && event.at < p.until);
          if (pause !== undefined) {
            report(
              "I3",
              event.at,
              event.identity,
              `automatic ${event.action} during the mass-death pause (until +${formatDuration(pause.until - event.at)})`,
            );
          }
        }
        if (automatic && state.started && !state.wallWake) checkRestart(state, event.at, event.identity);
        state.wallWake = false;
        state.activity = null;
        state.generation = event.generation;
        state.startedAt = event.at;
        state.alive = true;
        state.hung = false;
        state.hungAt = null;
        state.started = true;
        break;
      }
      case "alert":
        if (event.kind === "crash_loop") {
          for (const identity of event.identities)
            stateOf(identity).crashLoop = { since: event.at, lastRetry: null };
        } else if (event.kind === "mass_death") {
          pauses.push({ from: event.at, until: event.at + limits.massDeath.cooldownMs });
        }
        break;
      case "pass":
      case "nudge":
      case "death-counted":
      case "wait":
      case "wall":
      case "conduct":
      case "rung":
        break;
    }
  }
  violations.push(...checkConductInvariants(trace, options));
  return violations.sort((a, b) => a.at - b.at);

  function checkRestart(state: AgentState, at: number, identity: string): void {
    const need = backoffDelay(state.streak, limits.restart);
    if (state.lastFailureAt !== null && at - state.lastFailureAt < need) {
      report(
        "I3",
        at,
        identity,
        `restarted ${formatDuration(at - state.lastFailureAt)} after death #${state.streak} of a streak (backoff ${formatDuration(need)})`,
      );
    }
    const loop = state.crashLoop;
    if (loop !== null) {
      const since = loop.lastRetry ?? loop.since;
      if (at - since < limits.crashLoop.retryMs) {
        report(
          "I3",
          at,
          identity,
          `crash-loop retry ${formatDuration(at - since)} after the ${loop.lastRetry === null ? "crash-loop alert" : "previous retry"} (policy: one every ${formatDuration(limits.crashLoop.retryMs)})`,
        );
      }
      loop.lastRetry = at;
    } else {
      state.restarts = state.restarts.filter((t) => at - t < limits.crashLoop.windowMs);
      const recent = state.restarts.length;
      if (recent >= limits.crashLoop.count) {
        report(
          "I3",
          at,
          identity,
          `automatic restart #${recent + 1} within ${formatDuration(limits.crashLoop.windowMs)} (crash-loop budget ${limits.crashLoop.count}) without a crash_loop alert`,
        );
      }
    }
    townRestarts = townRestarts.filter((t) => at - t < limits.spawnBudget.windowMs);
    const town = townRestarts.length;
    if (town >= limits.spawnBudget.count) {
      report(
        "I3",
        at,
        identity,
        `town-wide automatic restart #${town + 1} within ${formatDuration(limits.spawnBudget.windowMs)} (spawn budget ${limits.spawnBudget.count})`,
      );
    }
    state.restarts.push(at);
    townRestarts.push(at);
  }
}
