import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { plan, type Action, type PlanInput } from "../policy/plan.js";
import type { ObservedAgent } from "../supervisor/observe.js";
import { DEFAULT_LIMITS, DEFAULT_WATCHDOG } from "../town/settings.js";
import { MINUTE, SECOND, SIM_EPOCH } from "./clock.js";
import { checkInvariants, type Violation } from "./invariants.js";
import { runSimulation } from "./run.js";
import { findScenario, type Scenario } from "./scenarios.js";
import type { TraceEvent } from "./trace.js";

const options = {
  limits: DEFAULT_LIMITS,
  watchdogs: new Map([["deacon", DEFAULT_WATCHDOG]]),
  detectionSlackMs: 3 * MINUTE,
};

function scenario(name: string): Scenario {
  const found = findScenario(name);
  assert.ok(found, `scenario ${name}`);
  return found;
}

function kinds(violations: readonly { invariant: string }[]): string[] {
  return [...new Set(violations.map((v) => v.invariant))].sort();
}

const T0 = SIM_EPOCH;

/** Builders for hand-made traces. */
const start = (
  at: number,
  identity: string,
  generation: string,
  extra: Partial<Extract<TraceEvent, { type: "start" }>> = {},
): TraceEvent => ({
  type: "start",
  at,
  identity,
  role: "witness",
  generation,
  action: "respawn",
  manual: false,
  verdict: "dead",
  serverRestart: false,
  reason: "pane died (exit status 1)",
  ...extra,
});
const exit = (at: number, identity: string, generation: string): TraceEvent => ({
  type: "exit",
  at,
  identity,
  generation,
  status: 1,
  cause: "agent",
  toShell: false,
});

describe("the invariant checker can fail", () => {
  it("I2: a liveness check that calls 2.1.7-titled agents zombies (the reference's #566) kills healthy agents", () => {
    // IsAgentRunning(s, "node"): only `node` counts as the agent, so Claude's native build looks dead.
    const only566: (agents: ObservedAgent[]) => ObservedAgent[] = (agents) =>
      agents.map((agent) =>
        agent.verdict === "alive" && agent.pane?.command !== "node"
          ? {
              ...agent,
              verdict: "zombie",
              verdictReason: `pane runs "${agent.pane?.command ?? ""}", not node`,
            }
          : agent,
      );
    const { report } = runSimulation(scenario("healthy-version-title"), {
      days: 1,
      agents: 5,
      filterObservation: only566,
    });
    const i2 = report.violations.filter((v) => v.invariant === "I2");
    assert.ok(i2.length >= 5, `${i2.length} I2 violations`);
    assert.ok(
      i2.every((v) => v.detail.includes('"zombie" verdict')),
      "every I2 violation is a zombie verdict",
    );
    assert.ok(
      report.kills >= 5 && report.restarts >= 5,
      `${report.kills} kills, ${report.restarts} restarts`,
    );
    // The restart policy still bounds the damage: backoff and crash loop hold each agent back.
    assert.ok(report.spawns < 5 * 200, `${report.spawns} spawns`);
  });

  it("I3: a planner with no backoff (the reference's seed polecat restarts) breaks the restart policy", () => {
    // Every wait the real planner decides on a dead agent becomes an immediate respawn.
    const noBackoff = (input: PlanInput) => {
      const result = plan(input);
      const extra: Action[] = result.decisions
        .filter((d) => d.action === "wait" && d.holdBy !== "zombie-check")
        .map((d) => {
          const agent = input.agents.find((a) => a.desired.identity === d.identity);
          return {
            kind: "respawn",
            identity: d.identity,
            session: agent?.desired.session ?? "",
            reason: "no backoff",
            manual: false,
            killTree: false,
            topic: "patrol",
          };
        });
      return { ...result, actions: [...result.actions, ...extra], wakeAt: null };
    };
    const { report } = runSimulation(scenario("crash-after-1.2s"), { days: 1 / 24, planner: noBackoff });
    assert.deepEqual(kinds(report.violations), ["I3"]);
    const details = report.violations.map((v) => v.detail);
    assert.ok(
      details.some((d) => d.includes("(backoff 30s)")),
      "a restart inside the backoff",
    );
    assert.ok(
      // Past the budget: either restarts with no crash_loop alert, or retries sooner than the policy allows.
      details.some((d) => d.includes("crash-loop budget 5") || d.includes("crash-loop retry")),
      "a restart past the crash-loop budget",
    );
    assert.ok(report.restarts > 1000, `${report.restarts} restarts in 1 hour`);
  });

  it("I2 and I4: a watchdog without grace restarts a just-started Deacon judged by its predecessor's heartbeat (#589)", () => {
    const noGrace: (agents: ObservedAgent[]) => ObservedAgent[] = (agents) =>
      agents.map((agent) =>
        agent.watchdog === undefined ? agent : { ...agent, watchdog: { ...agent.watchdog, graceMs: 0 } },
      );
    const { report } = runSimulation(scenario("deacon-stale-heartbeat-at-start"), {
      days: 0.1,
      filterObservation: noGrace,
    });
    assert.deepEqual(kinds(report.violations), ["I2", "I4"]);
    const [first] = report.violations;
    assert.equal(first?.agent, "deacon");
    assert.equal(first.at_ms, 0, "killed in the pass that started it");
  });

  it("I1: a second session for one identity, or a new-session over an existing one", () => {
    const trace: TraceEvent[] = [
      {
        type: "session-open",
        at: T0,
        identity: "rig01/witness",
        session: "gt-rig01-witness",
        refused: false,
      },
      {
        type: "session-open",
        at: T0 + 5,
        identity: "rig01/witness",
        session: "gt-rig01-witness-2",
        refused: false,
      },
      { type: "session-open", at: T0 + 9, identity: "deacon", session: "hq-deacon", refused: false },
      { type: "session-open", at: T0 + 9, identity: "deacon", session: "hq-deacon", refused: true },
      {
        type: "session-close",
        at: T0 + 10,
        identity: "rig01/witness",
        session: "gt-rig01-witness",
        cause: "killed",
      },
      {
        type: "session-close",
        at: T0 + 10,
        identity: "rig01/witness",
        session: "gt-rig01-witness-2",
        cause: "killed",
      },
      {
        type: "session-open",
        at: T0 + 11,
        identity: "rig01/witness",
        session: "gt-rig01-witness",
        refused: false,
      },
    ];
    const violations = checkInvariants(trace, options);
    assert.deepEqual(
      violations.map((v: Violation) => [v.invariant, v.at - T0, v.agent]),
      [
        ["I1", 5, "rig01/witness"],
        ["I1", 9, "deacon"],
      ],
    );
  });

  it("I3: backoff, the per-agent crash-loop window, the town's spawn budget and the mass-death pause", () => {
    const trace: TraceEvent[] = [start(T0, "a", "a1", { action: "spawn", verdict: "missing" })];
    // Agent a dies 1 s after each start and is restarted 10 s later each time: the second restart is early.
    let at = T0;
    for (let i = 2; i <= 7; i++) {
      trace.push(exit(at + SECOND, "a", `a${i - 1}`));
      at += 11 * SECOND;
      trace.push(start(at, "a", `a${i}`));
    }
    // 21 other agents each restarted once in the same 10 minutes: the town's 21st restart breaks the budget.
    for (let i = 0; i < 21; i++) {
      const id = `b${i}`;
      trace.push(start(T0 + 2 * MINUTE, id, `${id}-1`, { action: "spawn", verdict: "missing" }));
      trace.push(exit(T0 + 3 * MINUTE, id, `${id}-1`));
      trace.push(start(T0 + 4 * MINUTE + i, id, `${id}-2`));
    }
    trace.push({
      type: "alert",
      at: T0 + 5 * MINUTE,
      kind: "mass_death",
      identities: ["b0", "b1", "b2"],
      message: "",
    });
    trace.push(exit(T0 + 5 * MINUTE, "b0", "b0-2"));
    trace.push(start(T0 + 6 * MINUTE, "b0", "b0-3"));
    trace.sort((x, y) => x.at - y.at);
    const violations = checkInvariants(trace, options);
    assert.deepEqual(kinds(violations), ["I3"]);
    const details = violations.map((v) => `${v.agent}: ${v.detail}`);
    for (const expected of [
      "a: restarted 10s after death #2 of a streak (backoff 30s)",
      "a: automatic restart #6 within 30m0s (crash-loop budget 5) without a crash_loop alert",
      // Agent a's six restarts count too: b14's is the town's 21st.
      "b14: town-wide automatic restart #21 within 10m0s (spawn budget 20)",
      "b0: automatic respawn during the mass-death pause (until +1m0s)",
    ]) {
      assert.ok(details.includes(expected), `expected "${expected}" in:\n${details.join("\n")}`);
    }
  });

  it("I4: a heartbeat-based kill of a generation younger than its grace", () => {
    const trace: TraceEvent[] = [
      start(T0, "deacon", "d1", { role: "deacon", action: "spawn", verdict: "missing" }),
      { type: "hang", at: T0 + MINUTE, identity: "deacon", generation: "d1" },
      {
        type: "kill",
        at: T0 + 2 * MINUTE,
        identity: "deacon",
        role: "deacon",
        generation: "d1",
        automatic: true,
        verdict: "hung",
        reason: "no heartbeat",
        heartbeatAgeMs: null,
      },
    ];
    const violations = checkInvariants(trace, options);
    assert.deepEqual(
      violations.map((v) => [v.invariant, v.detail]),
      [["I4", "heartbeat-based restart of a generation 2m0s old (grace 5m0s): no heartbeat"]],
    );
  });

  it("an operator's manual restart and a tmux server restart are outside the automatic policy", () => {
    const trace: TraceEvent[] = [
      start(T0, "a", "a1", { action: "spawn", verdict: "missing" }),
      start(T0 + SECOND, "a", "a2", { manual: true, verdict: "alive" }),
      { type: "server-down", at: T0 + 2 * SECOND },
      {
        type: "exit",
        at: T0 + 2 * SECOND,
        identity: "a",
        generation: "a2",
        status: null,
        cause: "server-lost",
        toShell: false,
      },
      start(T0 + 3 * SECOND, "a", "a3", { action: "spawn", verdict: "missing", serverRestart: true }),
    ];
    assert.deepEqual(checkInvariants(trace, options), []);
  });

  it("I3: a stable run ended by a lost tmux server clears the streak, as the policy does; a quick one does not", () => {
    const serverLost = (at: number, generation: string): TraceEvent[] => [
      { type: "server-down", at },
      { type: "exit", at, identity: "a", generation, status: null, cause: "server-lost", toShell: false },
    ];
    const run = (lifeMs: number): Violation[] => {
      const lost = T0 + MINUTE + lifeMs;
      return checkInvariants(
        [
          start(T0, "a", "a1", { action: "spawn", verdict: "missing" }),
          exit(T0 + MINUTE, "a", "a1"),
          start(T0 + MINUTE, "a", "a2"),
          ...serverLost(lost, "a2"),
          start(lost + SECOND, "a", "a3", { action: "spawn", verdict: "missing", serverRestart: true }),
          // Quick death after the server restart, restarted at once.
          exit(lost + 2 * MINUTE, "a", "a3"),
          start(lost + 2 * MINUTE, "a", "a4"),
        ],
        options,
      );
    };
    assert.deepEqual(run(DEFAULT_LIMITS.restart.stabilityPeriodMs), []);
    assert.deepEqual(kinds(run(5 * MINUTE)), ["I3"]);
  });
});

describe("determinism", () => {
  it("the same seed gives the same report and trace; another seed changes only generation ids", () => {
    const strip = (report: object) => ({ ...report, wall_ms: 0 });
    const a = runSimulation(scenario("deacon-hang"), { seed: 42 });
    const b = runSimulation(scenario("deacon-hang"), { seed: 42 });
    assert.equal(JSON.stringify(strip(a.report)), JSON.stringify(strip(b.report)));
    assert.deepEqual(a.trace, b.trace);
    const c = runSimulation(scenario("deacon-hang"), { seed: 43 });
    assert.equal(
      JSON.stringify(strip({ ...a.report, seed: 0 })),
      JSON.stringify(strip({ ...c.report, seed: 0 })),
    );
    assert.notDeepEqual(a.trace, c.trace);
  });
});
