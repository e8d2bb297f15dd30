import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AHEAD_OF_THE_DAEMON, ARM_AFTER_MS, planArming } from "../policy/arming.js";
import type { ArmingPlanner } from "../supervisor/armed-book.js";
import { DEFAULT_LIMITS } from "../town/settings.js";
import { HOUR, MINUTE } from "./clock.js";
import { ARMED_REACTION_MS, HOOK_LATENCY_MS, runSimulation, type SimOptions, type SimRun } from "./run.js";
import { findScenario, type Scenario } from "./scenarios.js";
import type { TraceEvent } from "./trace.js";

// Pre-armed respawns (src/policy/arming.ts) in the simulator: tmux answers an armed pane's death 7 ms after
// it, before any pass, and the invariant checker sees that start as an automatic restart at that moment.

function scenario(name: string): Scenario {
  const found = findScenario(name);
  assert.ok(found, `scenario ${name}`);
  return found;
}

type Start = Extract<TraceEvent, { type: "start" }>;
const starts = (r: SimRun): Start[] => r.trace.filter((e): e is Start => e.type === "start");
const armedStarts = (r: SimRun): Start[] => starts(r).filter((e) => e.armed === true);

/** Each automatic restart's delay after the death it answers (exit → start), sorted. */
function deathToRestart(r: SimRun): number[] {
  const died = new Map<string, number>();
  const delays: number[] = [];
  for (const e of r.trace) {
    if (e.type === "exit" && e.cause !== "server-lost") died.set(e.identity, e.at);
    if (e.type === "start" && !e.manual) {
      const at = died.get(e.identity);
      if (at !== undefined) delays.push(e.at - at);
      died.delete(e.identity);
    }
  }
  return delays.sort((a, b) => a - b);
}

const median = (sorted: readonly number[]): number | undefined => sorted[Math.floor((sorted.length - 1) / 2)];

/**
 * Nine agents that each crash after a stable run of 40 + i minutes, every time: each death is the first of
 * its streak, answered at once, so each is armed for it. Optionally the tmux server dies and, later, every
 * agent at once.
 */
function stableCrashes(events: Scenario["events"] = []): Scenario {
  const agents: Record<string, { every: { exitAfterMs: number; exitStatus: number } }> = {};
  const names = ["deacon", ...[1, 2, 3, 4].flatMap((i) => [`rig0${i}/witness`, `rig0${i}/refinery`])];
  names.forEach((name, i) => {
    agents[name] = { every: { exitAfterMs: (40 + i) * MINUTE, exitStatus: 1 } };
  });
  return {
    name: "stable-crashes",
    description: "every agent crashes after a stable run of 40–48 minutes, every time",
    days: 0.5,
    agents: 9,
    scripts: { agents },
    events,
  };
}

/** What a careless arming would do: arm every agent, with no allowance to spend. */
const armEverything: ArmingPlanner = (_input, agents) => ({
  armed: new Set(agents.map((agent) => agent.desired.identity)),
  tokens: Number.MAX_SAFE_INTEGER,
  wakeAt: null,
});

/** The real arming, with no town-wide allowance: every armed death is answered. */
const noAllowance: ArmingPlanner = (...args) => ({ ...planArming(...args), tokens: Number.MAX_SAFE_INTEGER });

describe("pre-armed respawns in the simulator", () => {
  const cases: [string, Scenario, SimOptions][] = [
    ["stable-crashes", stableCrashes(), {}],
    ["crash-after-10m", scenario("crash-after-10m"), { days: 1 }],
    ["mass-death", scenario("mass-death"), {}],
    ["mass-death, 50 agents", scenario("mass-death"), { agents: 50 }],
  ];
  for (const [name, chosen, options] of cases) {
    it(`${name}, seeds 1–3: tmux answers armed deaths and every invariant holds`, () => {
      for (const seed of [1, 2, 3]) {
        const r = runSimulation(chosen, { ...options, seed });
        assert.deepEqual(r.report.violations, [], `seed ${seed}`);
        assert.ok(r.report.armed_respawns > 0, `seed ${seed}: ${r.report.armed_respawns} armed respawns`);
        assert.equal(armedStarts(r).length, r.report.armed_respawns);
        // Each start is counted once: the pass that records an armed respawn starts nothing.
        assert.equal(starts(r).length, r.report.spawns);
        assert.equal(
          r.report.per_agent.reduce((n, a) => n + a.armed_respawns, 0),
          r.report.armed_respawns,
        );
      }
    });
  }

  it("stable crashes: every death answered 7 ms after it, against 10 ms through a pass with arming off", () => {
    const on = runSimulation(stableCrashes());
    const off = runSimulation(stableCrashes(), { armedRespawn: false });
    assert.deepEqual(off.report.violations, []);
    assert.equal(off.report.armed_respawns, 0);
    assert.equal(on.report.restarts, off.report.restarts, "the same deaths, the same restarts");
    assert.ok(on.report.restarts > 50, `${on.report.restarts} restarts`);
    // Nearly every restart is tmux's; the rest came before the pass that arms the new generation again.
    assert.ok(on.report.armed_respawns > 0.9 * on.report.restarts, `${on.report.armed_respawns} armed`);
    assert.equal(median(deathToRestart(on)), ARMED_REACTION_MS);
    assert.equal(Math.max(...deathToRestart(on)), HOOK_LATENCY_MS);
    assert.equal(median(deathToRestart(off)), HOOK_LATENCY_MS);
    // The pass after the hook records each one: the death counted, the respawn as an automatic restart.
    assert.equal(on.report.deaths, on.report.restarts);
    assert.ok(on.report.per_agent.every((a) => a.state === "running"));
  });

  it("mass death: tmux answers one death (one respawn ahead of the daemon), the pause holds the rest", () => {
    const r = runSimulation(scenario("mass-death"));
    const deathAt = r.start + HOUR;
    const armed = armedStarts(r);
    assert.equal(armed.length, AHEAD_OF_THE_DAEMON);
    assert.ok(armed.every((e) => e.at === deathAt + ARMED_REACTION_MS));
    assert.deepEqual(
      r.report.alerts.map((a) => a.kind),
      ["mass_death"],
    );
    const pauseEnd = deathAt + HOOK_LATENCY_MS + DEFAULT_LIMITS.massDeath.cooldownMs;
    const others = starts(r).filter((e) => e.at > deathAt && e.armed !== true);
    assert.equal(others.length, 9 - armed.length);
    assert.ok(others.every((e) => e.at === pauseEnd));
    assert.ok(r.report.per_agent.every((a) => a.state === "running" && a.restarts === 1));
  });

  it("no agent is armed before it has run ARM_AFTER_MS: quick crashes are left to the daemon", () => {
    for (const name of ["instant-crash", "crash-after-1.2s"]) {
      const r = runSimulation(scenario(name), { days: 1 });
      assert.equal(r.report.armed_respawns, 0, name);
      assert.deepEqual(r.report.violations, [], name);
    }
    const r = runSimulation(stableCrashes());
    const startedAt = new Map<string, number>();
    for (const e of r.trace) {
      if (e.type !== "start") continue;
      const previous = startedAt.get(e.identity);
      if (e.armed === true) assert.ok(previous !== undefined && e.at - previous >= ARM_AFTER_MS);
      startedAt.set(e.identity, e.at);
    }
  });

  it("after the tmux server is lost and started again, the allowance still counts from the new server", () => {
    // Dozens of armed respawns on the first server; on the second, every agent dies at once.
    const r = runSimulation(
      stableCrashes([
        { atMs: 3 * HOUR, kind: "server-down" },
        { atMs: 3 * HOUR + 20 * MINUTE, kind: "mass-death", status: null },
      ]),
    );
    const before = armedStarts(r).filter((e) => e.at < r.start + 3 * HOUR);
    assert.ok(before.length > 20, `${before.length} armed respawns before the loss`);
    const massDeathAt = r.start + 3 * HOUR + 20 * MINUTE;
    const answered = armedStarts(r).filter((e) => e.at === massDeathAt + ARMED_REACTION_MS);
    assert.equal(answered.length, AHEAD_OF_THE_DAEMON, "no more than the allowance");
    assert.deepEqual(r.report.violations, []);
  });
});

describe("a broken arming fails the invariant checker", () => {
  it("arming every agent with no allowance: tmux answers each death of a crash streak at once (I3 backoff)", () => {
    const { report } = runSimulation(scenario("crash-after-10m"), { days: 1, arming: armEverything });
    const i3 = report.violations.filter((v) => v.invariant === "I3");
    assert.ok(i3.length > 0, "I3 violations");
    assert.ok(
      i3.some((v) => /restarted .* after death #\d+ of a streak \(backoff/.test(v.detail)),
      i3.map((v) => v.detail).join("\n"),
    );
  });

  it("the real arming without its town-wide allowance: a mass death of 50 is answered at once (I3 spawn budget)", () => {
    const { report } = runSimulation(scenario("mass-death"), { agents: 50, arming: noAllowance });
    const i3 = report.violations.filter((v) => v.invariant === "I3");
    assert.ok(i3.length > 0, "I3 violations");
    assert.ok(
      i3.every((v) => v.detail.includes("spawn budget")),
      i3.map((v) => v.detail).join("\n"),
    );
    assert.ok(report.armed_respawns > DEFAULT_LIMITS.spawnBudget.count, `${report.armed_respawns}`);
  });
});
