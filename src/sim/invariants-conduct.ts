import { DEFAULT_CONDUCT } from "../conduct/settings.js";
import { formatDuration } from "../util/duration.js";
import { allowedBy, checkOverdue, newCheckedAgent, type CheckedAgent } from "./invariants-due.js";
import type { CheckOptions, InvariantId, Violation } from "./invariants.js";
import type { SimActivityState, TraceEvent } from "./trace.js";

/**
 * I9 and I10 over a trace: what townd does about what agents are doing. Like the rest of the checker it
 * knows the policy only as a specification (the settings), never as code.
 *
 * I9, no live agent is killed for what it is doing: none is killed while walled, idle or waiting for
 * permission; a walled agent that exits is not started again before its reset, and its exit feeds no
 * death count, backoff, crash loop, spawn budget or mass death.
 *
 * I10, every detection ends in an action, once: a walled agent gets a wake after its reset (plus skew and
 * its stagger slot); a long permission wait is told once per wait, and nothing is approved without a rule
 * for its tool and command; an idle patrol agent is nudged; a stall gets its first rung in time, and the
 * ladder climbs one rung at a time, each given its wait.
 */

/** Activity states in which a quiet agent is doing what it should: never killed for it. */
const NOT_HUNG: ReadonlySet<SimActivityState> = new Set(["idle", "awaiting-permission", "rate-limited"]);

export function checkConductInvariants(trace: readonly TraceEvent[], options: CheckOptions): Violation[] {
  const conduct = options.conduct ?? DEFAULT_CONDUCT;
  const { limits, watchdogs, detectionSlackMs } = options;
  const violations: Violation[] = [];
  const agents = new Map<string, CheckedAgent>();
  let townRestarts: number[] = [];
  /** Agents walled with each announced reset: their wakes are staggered one after another. */
  const cohorts = new Map<number | null, Set<string>>();
  const report = (invariant: InvariantId, at: number, agent: string, detail: string): void => {
    violations.push({ invariant, at, agent, detail });
  };
  const of = (identity: string): CheckedAgent => {
    let agent = agents.get(identity);
    if (agent === undefined) {
      agent = newCheckedAgent();
      agents.set(identity, agent);
    }
    return agent;
  };
  const walledExit = (agent: CheckedAgent): boolean => agent.wall?.exited != null;

  // The planner holds agents by the spawn budget in the pass whose restarts fill it, before those restarts
  // reach the trace: each hold is judged once every event of its instant is in.
  let budgetChecks: { at: number; identity: string }[] = [];
  const flushBudget = (before: number): void => {
    const due = budgetChecks.filter((c) => c.at < before);
    if (due.length === 0) return;
    budgetChecks = budgetChecks.filter((c) => c.at >= before);
    for (const check of due) budget(check.at, check.identity);
  };

  for (const event of trace) {
    flushBudget(event.at);
    switch (event.type) {
      case "activity": {
        const agent = of(event.identity);
        if (event.generation !== agent.generation) break;
        if (agent.state !== event.state || event.state === "awaiting-permission") agent.since = event.at;
        agent.state = event.state;
        agent.detail = event.detail;
        agent.resetsAt = event.resetsAt;
        if (event.state === "rate-limited") {
          agent.wall ??= {
            since: event.at,
            resetsAt: event.resetsAt,
            woken: false,
            exited: null,
            late: false,
          };
          const cohort = cohorts.get(event.resetsAt) ?? new Set<string>();
          cohorts.set(event.resetsAt, cohort.add(event.identity));
        } else if (event.state !== "dead" && event.state !== "starting") {
          agent.wall = null;
        }
        if (event.state === "idle") agent.idleNudged = false;
        if (event.state !== "working") agent.stall = null;
        break;
      }
      case "stall": {
        const agent = of(event.identity);
        if (event.generation === agent.generation) agent.stall = { since: event.at, rung: false };
        break;
      }
      case "stall-cured":
        if (event.generation === of(event.identity).generation) of(event.identity).stall = null;
        break;
      case "start": {
        const agent = of(event.identity);
        agent.role = event.role;
        const automatic = !event.manual && !event.serverRestart;
        if (agent.wall !== null && walledExit(agent) && automatic) {
          const { resetsAt, since } = agent.wall;
          const earliest = resetsAt ?? since + conduct.wall.unknownRetryMs;
          if (event.at < earliest) {
            report(
              "I9",
              event.at,
              event.identity,
              `restarted ${formatDuration(earliest - event.at)} before its usage limit's ${resetsAt === null ? "first retry" : "reset"}`,
            );
          }
          agent.wall = { ...agent.wall, woken: true };
        } else if (automatic && agent.generation !== null) {
          agent.restarts.push(event.at);
          counted(event.at);
        }
        agent.generation = event.generation;
        agent.startedAt = event.at;
        agent.state = "starting";
        agent.stall = null;
        break;
      }
      case "spawn-failed":
        counted(event.at);
        of(event.identity).restarts.push(event.at);
        break;
      case "exit": {
        const agent = of(event.identity);
        if (event.generation !== agent.generation || agent.state === "dead") break;
        if (agent.state === "rate-limited" && agent.wall !== null) {
          agent.wall = { ...agent.wall, exited: event.at };
          agent.walledExits = [
            ...agent.walledExits.filter((t) => event.at - t < limits.crashLoop.windowMs),
            event.at,
          ];
        } else if (event.cause !== "server-lost") death(agent, event.at);
        // The generation the resume rung started died: the next rung is a fresh start, at once.
        if (agent.rung === 3 && agent.startedAt !== null && agent.startedAt >= agent.rungAt)
          agent.resumedExit = true;
        agent.state = "dead";
        break;
      }
      case "kill": {
        const agent = of(event.identity);
        if (event.generation !== agent.generation || agent.state === "dead") break;
        if (event.automatic && agent.state !== null && NOT_HUNG.has(agent.state)) {
          report(
            "I9",
            event.at,
            event.identity,
            `killed while ${agent.state} (${agent.detail}) on a "${event.verdict}" verdict: ${event.reason}`,
          );
        }
        if (event.automatic) death(agent, event.at);
        agent.state = "dead";
        break;
      }
      case "death-counted": {
        const agent = of(event.identity);
        if (walledExit(agent) && agent.wall?.woken === false)
          report(
            "I9",
            event.at,
            event.identity,
            `its exit while walled was counted as a death: ${event.reason}`,
          );
        break;
      }
      case "wait": {
        const agent = of(event.identity);
        if (walledExit(agent) && agent.wall?.woken === false && event.holdBy !== "usage-limit")
          report("I9", event.at, event.identity, `its wake after a walled exit is held by ${event.holdBy}`);
        if (event.holdBy === "spawn-budget") budgetChecks.push({ at: event.at, identity: event.identity });
        break;
      }
      case "alert":
        alert(event);
        break;
      case "nudge": {
        const agent = of(event.identity);
        agent.idleNudged = true;
        if (agent.stall !== null) agent.healthChecked = true;
        if (agent.wall !== null) agent.wall.woken = true;
        break;
      }
      case "conduct":
        act(event);
        break;
      case "rung":
        rung(event);
        break;
      case "pass":
        checkOverdue(agents, event.at, {
          conduct,
          watchdogs,
          slackMs: detectionSlackMs,
          cohorts,
          report: (at, identity, detail) => {
            report("I10", at, identity, detail);
          },
        });
        break;
      case "hang":
      case "server-down":
      case "session-open":
      case "session-close":
      case "wall":
        break;
    }
  }
  flushBudget(Number.POSITIVE_INFINITY);
  return violations;

  /** A restart the restart policy counts (the town's list keeps one budget window). */
  function counted(at: number): void {
    townRestarts = townRestarts.filter((t) => at - t < limits.spawnBudget.windowMs);
    townRestarts.push(at);
  }

  function death(agent: CheckedAgent, at: number): void {
    const lifetime = at - (agent.startedAt ?? at);
    // Strictly stable: the benefit of the doubt goes to the policy (a longer streak).
    agent.streak = lifetime - detectionSlackMs >= limits.restart.stabilityPeriodMs ? 1 : agent.streak + 1;
  }

  function budget(at: number, identity: string): void {
    const inWindow = townRestarts.filter((t) => at - t < limits.spawnBudget.windowMs && t <= at);
    if (inWindow.length < limits.spawnBudget.count) {
      report(
        "I9",
        at,
        identity,
        `spawn budget exhausted after ${inWindow.length} counted restarts within ${formatDuration(limits.spawnBudget.windowMs)} (budget ${limits.spawnBudget.count}): walled wakes were counted`,
      );
    }
  }

  function alert(event: Extract<TraceEvent, { type: "alert" }>): void {
    for (const identity of event.identities) {
      const agent = of(identity);
      switch (event.kind) {
        case "mass_death":
          if (agent.wall?.exited != null && event.at - agent.wall.exited <= limits.massDeath.windowMs)
            report("I9", event.at, identity, "its exit while walled was counted in a mass death");
          break;
        case "crash_loop": {
          agent.restarts = agent.restarts.filter((t) => event.at - t < limits.crashLoop.windowMs);
          const walledLately = agent.walledExits.some((t) => event.at - t < limits.crashLoop.windowMs);
          if (
            walledLately &&
            agent.restarts.length < limits.crashLoop.count &&
            agent.streak <= limits.crashLoop.count
          ) {
            report(
              "I9",
              event.at,
              identity,
              `crash loop after ${agent.restarts.length} counted restarts and ${agent.streak} counted deaths: walled exits were counted`,
            );
          }
          break;
        }
        case "spawn_budget_exhausted":
          budgetChecks.push({ at: event.at, identity });
          break;
        case "permission_wait":
          if (agent.state === "awaiting-permission" && agent.toldFor === agent.since) {
            report("I10", event.at, identity, `told again about one permission wait: ${agent.detail}`);
          }
          agent.toldFor = agent.since;
          break;
        case "usage_limit":
        case "usage_limit_lifted":
        case "usage_limit_wake_failed":
        case "stuck":
        case "failed_to_start":
          break;
      }
    }
  }

  function act(event: Extract<TraceEvent, { type: "conduct" }>): void {
    const agent = of(event.identity);
    if (event.act === "nudge") agent.idleNudged = true;
    if ((event.act === "wall-wake" || event.act === "nudge") && agent.wall !== null) agent.wall.woken = true;
    if (event.act !== "approve") return;
    if (agent.state !== "awaiting-permission") {
      report(
        "I10",
        event.at,
        event.identity,
        `approve keys with no permission wait (${agent.state ?? "unknown"})`,
      );
    } else if (!allowedBy(agent.detail, conduct.permission.autoApprove)) {
      report("I10", event.at, event.identity, `approved without a rule: ${agent.detail}`);
    }
  }

  function rung(event: Extract<TraceEvent, { type: "rung" }>): void {
    const agent = of(event.identity);
    const { rung: next, at } = event;
    const previous = agent.rung;
    const skipsResume = next === 4 && previous === 2 && !event.resumable;
    const afterHealthCheck = next === 2 && previous === 0 && agent.healthChecked;
    if (next > previous + 1 && !skipsResume && !afterHealthCheck) {
      report("I10", at, event.identity, `the stuck ladder went from rung ${previous} to rung ${next}`);
    } else if (next > previous && previous > 0 && at - agent.rungAt < conduct.stuck.rungWaitMs) {
      const failedResume = next === 4 && previous === 3 && agent.resumedExit;
      if (!failedResume) {
        report(
          "I10",
          at,
          event.identity,
          `rung ${next} ${formatDuration(at - agent.rungAt)} after rung ${previous} (each rung waits ${formatDuration(conduct.stuck.rungWaitMs)})`,
        );
      }
    }
    agent.rung = next;
    agent.rungAt = at;
    agent.healthChecked = false;
    agent.resumedExit = false;
    if (agent.stall !== null) agent.stall.rung = true;
  }
}
