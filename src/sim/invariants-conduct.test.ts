import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_CONDUCT } from "../conduct/settings.js";
import { plan, type PlanInput } from "../policy/plan.js";
import { DEFAULT_LIMITS, DEFAULT_WATCHDOG } from "../town/settings.js";
import { HOUR, MINUTE, SECOND, SIM_EPOCH } from "./clock.js";
import { checkInvariants, type Violation } from "./invariants.js";
import { runSimulation } from "./run.js";
import { findScenario, type Scenario } from "./scenarios.js";
import type { SimActivityState, TraceEvent } from "./trace.js";

/**
 * I9 and I10 (invariants-conduct.ts) fail on traces that break them: hand-made ones for each rule, and
 * whole runs of a planner with one guard taken out.
 */

const T0 = SIM_EPOCH;
const options = {
  limits: DEFAULT_LIMITS,
  watchdogs: new Map([["deacon", DEFAULT_WATCHDOG]]),
  detectionSlackMs: 3 * MINUTE,
  conduct: {
    ...DEFAULT_CONDUCT,
    permission: { ...DEFAULT_CONDUCT.permission, autoApprove: [{ tool: "Bash", command: /^npm test$/ }] },
  },
};

function scenario(name: string): Scenario {
  const found = findScenario(name);
  assert.ok(found, `scenario ${name}`);
  return found;
}

function check(trace: TraceEvent[]): Violation[] {
  return checkInvariants(
    trace.sort((a, b) => a.at - b.at),
    options,
  );
}

function details(violations: readonly Pick<Violation, "invariant" | "agent" | "detail">[]): string[] {
  return violations.map((v) => `${v.invariant} ${v.agent}: ${v.detail}`);
}

/** A trace of one agent "a" (generation a1 from T0) and its builders. */
const start = (at: number, generation: string, role = "witness"): TraceEvent => ({
  type: "start",
  at,
  identity: "a",
  role,
  generation,
  action: "respawn",
  manual: false,
  verdict: "dead",
  serverRestart: false,
  reason: "pane died",
});
const activity = (
  at: number,
  state: SimActivityState,
  detail = "",
  resetsAt: number | null = null,
  generation = "a1",
): TraceEvent => ({ type: "activity", at, identity: "a", generation, state, detail, resetsAt });
const kill = (at: number, verdict: "hung" | "alive" = "hung"): TraceEvent => ({
  type: "kill",
  at,
  identity: "a",
  role: "witness",
  generation: "a1",
  automatic: true,
  verdict,
  reason: "heartbeat very stale (25m0s old)",
  heartbeatAgeMs: 25 * MINUTE,
});
const exit = (at: number, generation = "a1"): TraceEvent => ({
  type: "exit",
  at,
  identity: "a",
  generation,
  status: 1,
  cause: "agent",
  toShell: false,
});
const act = (at: number, what: "nudge" | "wall-wake" | "escape" | "approve"): TraceEvent => ({
  type: "conduct",
  at,
  identity: "a",
  act: what,
  reason: "",
  effect: "",
});
const rung = (at: number, n: number, resumable = true): TraceEvent => ({
  type: "rung",
  at,
  identity: "a",
  generation: "a1",
  rung: n,
  resumable,
  reason: "",
});
const alert = (at: number, kind: "permission_wait" | "mass_death" | "crash_loop"): TraceEvent => ({
  type: "alert",
  at,
  kind,
  identities: ["a"],
  message: "",
});
const pass = (at: number): TraceEvent => ({
  type: "pass",
  at,
  reasons: ["heartbeat"],
  serverRestarted: false,
});

const RESET = T0 + 5 * HOUR;
const walled = (at: number): TraceEvent =>
  activity(at, "rate-limited", "You've hit your session limit · resets 05:00", RESET);

describe("I9: no live agent is killed for what it is doing", () => {
  it("a kill while walled, idle or waiting for permission is a violation; one of a working agent is I2's", () => {
    for (const [state, detail] of [
      ["rate-limited", "You've hit your session limit"],
      ["idle", "at its prompt"],
      ["awaiting-permission", "Bash: git push"],
    ] as const) {
      const violations = check([start(T0, "a1"), activity(T0 + SECOND, state, detail), kill(T0 + HOUR)]);
      assert.deepEqual(details(violations), [
        `I9 a: killed while ${state} (${detail}) on a "hung" verdict: heartbeat very stale (25m0s old)`,
      ]);
    }
    const working = check([start(T0, "a1"), activity(T0 + SECOND, "working"), kill(T0 + HOUR, "alive")]);
    assert.deepEqual(
      working.map((v) => v.invariant),
      ["I2"],
    );
  });

  it("a walled exit counted as a death, restarted before the reset, held by backoff, in a mass death", () => {
    const violations = check([
      start(T0, "a1"),
      walled(T0 + HOUR),
      exit(T0 + HOUR + MINUTE),
      { type: "death-counted", at: T0 + HOUR + MINUTE, identity: "a", reason: "pane died (exit status 1)" },
      alert(T0 + HOUR + MINUTE, "mass_death"),
      { type: "wait", at: T0 + HOUR + MINUTE, identity: "a", holdBy: "backoff", reason: "" },
      start(T0 + HOUR + 2 * MINUTE, "a2"),
    ]).filter((v) => v.invariant === "I9");
    assert.deepEqual(details(violations), [
      "I9 a: its exit while walled was counted as a death: pane died (exit status 1)",
      "I9 a: its exit while walled was counted in a mass death",
      "I9 a: its wake after a walled exit is held by backoff",
      "I9 a: restarted 3h58m0s before its usage limit's reset",
    ]);
  });

  it("a walled exit held until the reset and restarted after it is fine, and is no death for I3", () => {
    const trace: TraceEvent[] = [start(T0, "a1")];
    // Walled and exited six times in a row, each restart after its reset: no backoff, no crash loop.
    for (let i = 1; i <= 6; i++) {
      const gen = `a${i}`;
      const reset = T0 + i * HOUR;
      trace.push(activity(reset - 30 * MINUTE, "rate-limited", "limit", reset, gen));
      trace.push(exit(reset - 29 * MINUTE, gen));
      trace.push({ type: "wait", at: reset - 29 * MINUTE, identity: "a", holdBy: "usage-limit", reason: "" });
      trace.push(start(reset + 3 * MINUTE, `a${i + 1}`));
    }
    assert.deepEqual(check(trace), []);
  });

  it("a crash loop or an exhausted spawn budget fed by walled wakes", () => {
    const trace: TraceEvent[] = [start(T0, "a1")];
    for (let i = 1; i <= 3; i++) {
      const gen = `a${i}`;
      trace.push(activity(T0 + i * MINUTE, "rate-limited", "limit", T0, gen));
      trace.push(exit(T0 + i * MINUTE + SECOND, gen));
      trace.push(start(T0 + i * MINUTE + 2 * SECOND, `a${i + 1}`));
    }
    trace.push(alert(T0 + 4 * MINUTE, "crash_loop"));
    trace.push({ type: "wait", at: T0 + 4 * MINUTE, identity: "a", holdBy: "spawn-budget", reason: "" });
    assert.deepEqual(details(check(trace)), [
      "I9 a: crash loop after 0 counted restarts and 0 counted deaths: walled exits were counted",
      "I9 a: spawn budget exhausted after 0 counted restarts within 10m0s (budget 20): walled wakes were counted",
    ]);
  });
});

describe("I10: every detection ends in an action, once", () => {
  it("a wall not woken by its reset + skew + stagger (+ one pass), or woken in time", () => {
    const base = [start(T0, "a1"), walled(T0 + HOUR)];
    // One agent walled: its wake is due at the reset + 3 m skew + one 5 s slot, plus one pass of slack.
    assert.deepEqual(check([...base, pass(RESET + 6 * MINUTE + 5 * SECOND)]), []);
    assert.deepEqual(details(check([...base, pass(RESET + 7 * MINUTE)])), [
      "I10 a: walled past its wake (3m55s late): no wake",
    ]);
    assert.deepEqual(check([...base, act(RESET + 3 * MINUTE, "wall-wake"), pass(RESET + HOUR)]), []);
  });

  it("a permission wait told twice, or not told at all", () => {
    const wait = activity(T0 + HOUR, "awaiting-permission", "Bash: git push origin main");
    const told = [start(T0, "a1"), wait, alert(T0 + HOUR + 10 * MINUTE, "permission_wait")];
    assert.deepEqual(check([...told, pass(T0 + 2 * HOUR)]), []);
    assert.deepEqual(details(check([...told, alert(T0 + HOUR + 11 * MINUTE, "permission_wait")])), [
      "I10 a: told again about one permission wait: Bash: git push origin main",
    ]);
    assert.deepEqual(details(check([start(T0, "a1"), wait, pass(T0 + HOUR + 14 * MINUTE)])), [
      "I10 a: waited 14m0s for permission, not told",
    ]);
    // A new wait is a new episode: told again.
    const second = activity(T0 + 2 * HOUR, "awaiting-permission", "Bash: git push origin main");
    assert.deepEqual(
      check([
        ...told,
        activity(T0 + HOUR + 30 * MINUTE, "working"),
        second,
        alert(T0 + 3 * HOUR, "permission_wait"),
      ]),
      [],
    );
  });

  it("an approval without a rule for the tool and command, or with no prompt on screen", () => {
    const approveAt = (detail: string): Violation[] =>
      check([
        start(T0, "a1"),
        activity(T0 + HOUR, "awaiting-permission", detail),
        act(T0 + HOUR + SECOND, "approve"),
      ]);
    assert.deepEqual(approveAt("Bash: npm test"), []);
    assert.deepEqual(details(approveAt("Bash: npm test && rm -rf /")), [
      "I10 a: approved without a rule: Bash: npm test && rm -rf /",
    ]);
    assert.deepEqual(details(approveAt("Edit: npm test")), [
      "I10 a: approved without a rule: Edit: npm test",
    ]);
    assert.deepEqual(
      details(check([start(T0, "a1"), activity(T0 + HOUR, "working"), act(T0 + HOUR, "approve")])),
      ["I10 a: approve keys with no permission wait (working)"],
    );
  });

  it("an idle patrol agent never nudged", () => {
    const idle = [start(T0, "a1"), activity(T0 + MINUTE, "idle", "at its prompt")];
    assert.deepEqual(details(check([...idle, pass(T0 + 20 * MINUTE)])), [
      "I10 a: idle at its prompt for 19m0s, never nudged",
    ]);
    assert.deepEqual(check([...idle, act(T0 + 16 * MINUTE, "nudge"), pass(T0 + HOUR)]), []);
  });

  it("the stuck ladder skips a rung, hurries one, or never moves", () => {
    const stalled: TraceEvent[] = [
      start(T0, "a1"),
      activity(T0 + SECOND, "working"),
      { type: "stall", at: T0 + HOUR, identity: "a", generation: "a1", cure: "fresh" },
    ];
    assert.deepEqual(details(check([...stalled, rung(T0 + 90 * MINUTE, 1), rung(T0 + 93 * MINUTE, 3)])), [
      "I10 a: the stuck ladder went from rung 1 to rung 3",
    ]);
    assert.deepEqual(details(check([...stalled, rung(T0 + 90 * MINUTE, 1), rung(T0 + 91 * MINUTE, 2)])), [
      "I10 a: rung 2 1m0s after rung 1 (each rung waits 3m0s)",
    ]);
    assert.deepEqual(details(check([...stalled, pass(T0 + 2 * HOUR)])), [
      "I10 a: stalled for 1h0m0s, the ladder never moved",
    ]);
    // What the ladder may do: start at Escape after the watchdog's nudge; skip the resume it cannot do.
    const nudged: TraceEvent = {
      type: "nudge",
      at: T0 + 65 * MINUTE,
      identity: "a",
      reason: "heartbeat stale",
      answered: false,
      heartbeatAgeMs: 5 * MINUTE,
    };
    assert.deepEqual(
      check([
        ...stalled,
        nudged,
        rung(T0 + 90 * MINUTE, 2),
        rung(T0 + 93 * MINUTE, 4, false),
        rung(T0 + 2 * HOUR, 5),
      ]),
      [],
    );
  });
});

describe("whole runs with a guard taken out fail I9", () => {
  it("a planner blind to activity lets the watchdog kill the idle Deacon (the reference's 20-minute kill)", () => {
    const blind = (input: PlanInput) =>
      plan({ ...input, agents: input.agents.map((agent) => ({ ...agent, activity: undefined })) });
    const { report } = runSimulation(scenario("idle-patrol"), { days: 0.25, planner: blind });
    const i9 = report.violations.filter((v) => v.invariant === "I9");
    assert.ok(i9.length > 0, "I9 violations");
    assert.ok(
      i9.every(
        (v) =>
          v.agent === "deacon" &&
          v.detail.startsWith('killed while idle (patrol done, at its prompt) on a "hung"'),
      ),
      details(i9).join("\n"),
    );
  });

  it("a planner that ignores walls counts walled exits as deaths and restarts them into the wall", () => {
    const noWalls = (input: PlanInput) =>
      plan({ ...input, agents: input.agents.map(({ wall: _wall, ...agent }) => agent) });
    // Every agent quits within a minute of hitting the wall (a headless CLI).
    const quitting: Scenario = {
      ...scenario("usage-wall"),
      scripts: { all: { every: { activity: { work: "busy", wallExit: { share: 1, withinMs: MINUTE } } } } },
    };
    const { report } = runSimulation(quitting, { days: 1, agents: 5, planner: noWalls });
    const found = new Set(report.violations.map((v) => v.detail.replace(/[:\d].*$/, "").trim()));
    for (const expected of ["its exit while walled was counted as a death", "restarted"])
      assert.ok(found.has(expected), `"${expected}" in:\n${[...found].join("\n")}`);
    assert.ok(report.wall_kills > 0, `${report.wall_kills} wall kills`);
    // The real planner, same run: none of it.
    const real = runSimulation(quitting, { days: 1, agents: 5 }).report;
    assert.deepEqual(real.violations, []);
    assert.equal(real.wall_kills, 0);
    assert.equal(real.deaths, 0);
  });
});
