import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ZOMBIE_CONFIRM_MS } from "../policy/plan.js";
import { DEFAULT_LIMITS, DEFAULT_WATCHDOG } from "../town/settings.js";
import { HOUR, MINUTE, SECOND } from "./clock.js";
import { HOOK_LATENCY_MS, runSimulation, type SimOptions, type SimRun } from "./run.js";
import { findScenario } from "./scenarios.js";
import type { TraceEvent } from "./trace.js";

/** Each scenario runs once per test file; the tests below read its report and trace. */
const runs = new Map<string, SimRun>();
function run(name: string, options: SimOptions = {}): SimRun {
  const key = `${name} ${JSON.stringify(options)}`;
  let result = runs.get(key);
  if (result === undefined) {
    const scenario = findScenario(name);
    assert.ok(scenario, `scenario ${name}`);
    result = runSimulation(scenario, options);
    runs.set(key, result);
  }
  return result;
}

function agent(simRun: SimRun, identity: string) {
  const found = simRun.report.per_agent.find((a) => a.agent === identity);
  assert.ok(found, `agent ${identity} in the report`);
  return found;
}

function events<T extends TraceEvent["type"]>(
  simRun: SimRun,
  type: T,
  identity?: string,
): Extract<TraceEvent, { type: T }>[] {
  return simRun.trace.filter(
    (e): e is Extract<TraceEvent, { type: T }> =>
      e.type === type && (identity === undefined || ("identity" in e && e.identity === identity)),
  );
}

/** The delay of each automatic restart after the daemon counted the death it answers. */
function restartDelays(simRun: SimRun, identity: string): number[] {
  const delays: number[] = [];
  let lastDeath: number | null = null;
  for (const e of simRun.trace) {
    if (!("identity" in e) || e.identity !== identity) continue;
    if (e.type === "death-counted") lastDeath = e.at;
    if (e.type === "start" && e.action === "respawn" && lastDeath !== null) {
      delays.push(e.at - lastDeath);
      lastDeath = null;
    }
  }
  return delays;
}

describe("simulator scenarios under townd's default limits", () => {
  it("healthy-version-title, 4 days × 50 agents titled 2.1.7: one spawn each, no restart, no kill (#566)", () => {
    const r = run("healthy-version-title", { days: 4, agents: 50 });
    assert.equal(r.report.agents, 50);
    assert.equal(r.report.spawns, 50);
    assert.equal(r.report.restarts, 0);
    assert.equal(r.report.kills, 0);
    assert.equal(r.report.nudges, 0);
    assert.deepEqual(r.report.alerts, []);
    assert.deepEqual(r.report.violations, []);
    assert.ok(
      r.report.per_agent.every((a) => a.state === "running" && a.spawns === 1),
      "every agent running, spawned once",
    );
    // A pass at start, its verify pass, the start-up pass, the pass that arms the settled agents' respawns
    // (start_failure_window after their start), then one every 3 minutes for 4 days.
    assert.equal(r.report.passes, 4 + Math.floor((4 * 24 * HOUR - 15 * SECOND) / (3 * MINUTE)));
  });

  for (const [name, exitAfter] of [
    ["instant-crash", 0],
    ["crash-after-1.2s", 1200],
  ] as const) {
    describe(name, () => {
      it("restarts after 0, 30 s, 1 m, 2 m, 4 m, then raises one crash_loop alert", () => {
        const r = run(name);
        assert.equal(r.report.target, "rig01/witness");
        assert.deepEqual(restartDelays(r, "rig01/witness").slice(0, 5), [
          0,
          30 * SECOND,
          MINUTE,
          2 * MINUTE,
          4 * MINUTE,
        ]);
        const alerts = r.report.alerts;
        assert.deepEqual(
          alerts.map((a) => [a.kind, a.agents]),
          [["crash_loop", ["rig01/witness"]]],
        );
        // Six lives of `exitAfter`, each noticed at once (the verify pass) or by the pane-died hook,
        // plus 0 + 30 s + 1 m + 2 m + 4 m of backoff.
        const noticed = exitAfter === 0 ? 0 : HOOK_LATENCY_MS;
        assert.equal(alerts[0]?.at_ms, 6 * (exitAfter + noticed) + 7.5 * MINUTE);
        assert.deepEqual(
          r.report.violations.filter((v) => v.invariant !== "I3"),
          [],
        );
        assert.equal(agent(r, "deacon").restarts, 0);
        assert.equal(agent(r, "rig01/refinery").restarts, 0);
      });

      it("then retries once an hour: 101 spawns in 4 days, no violation", () => {
        const r = run(name);
        const retries = events(r, "start", "rig01/witness").filter((e) =>
          e.reason.startsWith("crash-loop retry"),
        );
        for (let i = 1; i < retries.length; i++) {
          const gap = (retries[i]?.at ?? 0) - (retries[i - 1]?.at ?? 0);
          assert.ok(
            gap >= DEFAULT_LIMITS.crashLoop.retryMs,
            `crash-loop retry ${i} came ${gap} ms after the one before`,
          );
        }
        // 1 first start + 5 restarts in 7.5 minutes + one retry per hour after that: 95 in the remaining time.
        assert.equal(agent(r, "rig01/witness").spawns, 101);
        assert.deepEqual(r.report.violations, []);
      });
    });
  }

  it("crash-after-10m: the streak of deaths without a stable run trips the crash-loop guard; hourly retries after that", () => {
    // The daemon's own answers; with pre-armed respawns (armed.test.ts) tmux answers the first death of each streak.
    const r = run("crash-after-10m", { armedRespawn: false });
    const witness = agent(r, "rig01/witness");
    // At the 10 m backoff cap a 30-minute window never holds 5 restarts; the failure streak (6 deaths
    // without a 30-minute stable run) is what puts the agent into crash-loop (peers.md §0's gap).
    assert.deepEqual(
      r.report.alerts.map((a) => [a.kind, a.agents]),
      [["crash_loop", ["rig01/witness"]]],
    );
    assert.equal(witness.spawns, 100);
    assert.deepEqual(r.report.violations, []);
    const delays = restartDelays(r, "rig01/witness");
    assert.deepEqual(delays.slice(0, 5), [0, 30 * SECOND, MINUTE, 2 * MINUTE, 4 * MINUTE]);
    const retries = events(r, "start", "rig01/witness").filter((e) =>
      e.reason.startsWith("crash-loop retry"),
    );
    for (let i = 1; i < retries.length; i++) {
      const gap = (retries[i]?.at ?? 0) - (retries[i - 1]?.at ?? 0);
      assert.ok(
        gap >= DEFAULT_LIMITS.crashLoop.retryMs,
        `crash-loop retry ${i} came ${gap} ms after the one before`,
      );
    }
  });

  it("deacon-stale-heartbeat-at-start: a Deacon started over a 2 h old heartbeat is never restarted (#589)", () => {
    const r = run("deacon-stale-heartbeat-at-start");
    const deacon = agent(r, "deacon");
    assert.equal(deacon.spawns, 1);
    assert.equal(deacon.restarts, 0);
    assert.equal(deacon.kills, 0);
    assert.equal(deacon.nudges, 0);
    assert.equal(deacon.state, "running");
    assert.deepEqual(r.report.violations, []);
  });

  it("deacon-hang: one HEALTH_CHECK nudge, then kill and restart in one pass at heartbeat age 20 m ± one pass (#729)", () => {
    const r = run("deacon-hang");
    const [hang] = events(r, "hang", "deacon");
    assert.equal(hang?.at, r.start + HOUR);
    const nudges = events(r, "nudge", "deacon");
    assert.equal(nudges.length, 1);
    const nudgeAge = nudges[0]?.heartbeatAgeMs ?? 0;
    assert.ok(
      nudgeAge >= DEFAULT_WATCHDOG.staleMs && nudgeAge < DEFAULT_WATCHDOG.staleMs + 3 * MINUTE,
      `${nudgeAge}`,
    );
    assert.equal(nudges[0]?.answered, false);
    const kills = events(r, "kill", "deacon");
    assert.equal(kills.length, 1);
    const killAge = kills[0]?.heartbeatAgeMs ?? 0;
    assert.ok(
      killAge >= DEFAULT_WATCHDOG.veryStaleMs && killAge < DEFAULT_WATCHDOG.veryStaleMs + 3 * MINUTE,
      `${killAge}`,
    );
    assert.equal(kills[0]?.verdict, "hung");
    const restarts = events(r, "start", "deacon").filter((e) => e.action === "respawn");
    assert.equal(restarts.length, 1);
    assert.equal(restarts[0]?.at, kills[0].at, "killed and restarted in the same pass");
    assert.equal(agent(r, "deacon").state, "running");
    assert.deepEqual(r.report.violations, []);
  });

  it("mass-death: one mass_death alert, nothing restarted during the 2 m pause, then every agent back", () => {
    // The daemon's own answers; armed.test.ts runs it with pre-armed respawns.
    const r = run("mass-death", { armedRespawn: false });
    assert.deepEqual(
      r.report.alerts.map((a) => a.kind),
      ["mass_death"],
    );
    const alertAt = r.start + (r.report.alerts[0]?.at_ms ?? 0);
    assert.equal(alertAt, r.start + HOUR + 10, "the pane-died hook's pass, 10 ms after the deaths");
    const restarts = events(r, "start").filter((e) => e.at > r.start + HOUR);
    assert.equal(restarts.length, 9);
    assert.ok(
      restarts.every((e) => e.at === alertAt + DEFAULT_LIMITS.massDeath.cooldownMs),
      "every agent restarted when the pause ends",
    );
    assert.ok(
      r.report.per_agent.every((a) => a.state === "running" && a.restarts === 1),
      "every agent running, restarted once",
    );
    assert.deepEqual(r.report.violations, []);
  });

  it("mass-death with 50 agents: after the pause the spawn budget brings them back 20 per 10 minutes", () => {
    const r = run("mass-death", { agents: 50, armedRespawn: false });
    assert.deepEqual(
      r.report.alerts.map((a) => a.kind),
      ["mass_death", "spawn_budget_exhausted"],
    );
    const counts = new Map<number, number>();
    for (const e of events(r, "start").filter((s) => s.at > r.start + HOUR)) {
      counts.set(e.at - r.start, (counts.get(e.at - r.start) ?? 0) + 1);
    }
    assert.deepEqual(
      [...counts],
      [
        [HOUR + 10 + 2 * MINUTE, 20],
        [HOUR + 10 + 12 * MINUTE, 20],
        [HOUR + 10 + 22 * MINUTE, 10],
      ],
    );
    assert.deepEqual(r.report.violations, []);
  });

  it("tmux-server-loss: every agent back in the first pass after the loss, no death counted, no alert", () => {
    const r = run("tmux-server-loss");
    const lossAt = r.start + 2 * HOUR;
    const firstPass = events(r, "pass").find((p) => p.at >= lossAt);
    assert.ok(firstPass, "a pass after the loss");
    assert.equal(firstPass.serverRestarted, true);
    assert.ok(firstPass.at - lossAt <= SECOND / 2, "found by the death poll (0.5 s by default)");
    const back = events(r, "start").filter((e) => e.at >= lossAt);
    assert.equal(back.length, 9);
    assert.ok(
      back.every((e) => e.at === firstPass.at && e.serverRestart && e.action === "spawn"),
      "every agent spawned in that pass",
    );
    assert.equal(r.report.deaths, 0);
    assert.deepEqual(r.report.alerts, []);
    assert.deepEqual(r.report.violations, []);
  });

  it("slow-start: agents ready after 90 s are never restarted; start-up completes at the 60 s prompt timeout", () => {
    const r = run("slow-start");
    assert.equal(r.report.spawns, 9);
    assert.equal(r.report.restarts, 0);
    assert.equal(r.report.kills, 0);
    assert.equal(r.report.nudges, 0);
    const startupPass = events(r, "pass").find((p) => p.reasons.includes("start-up complete"));
    assert.equal(startupPass?.at, r.start + 62 * SECOND);
    assert.deepEqual(r.report.violations, []);
  });

  it("deacon-idle: a Deacon beating every 8 m is nudged once per stale episode, answers, and is never restarted", () => {
    const r = run("deacon-idle");
    const deacon = agent(r, "deacon");
    assert.equal(deacon.restarts, 0);
    assert.equal(deacon.kills, 0);
    // One stale episode per 8-minute beat: 24 h / 8 m = 180, each nudge at the moment the heartbeat turns stale.
    assert.equal(deacon.nudges, 180);
    assert.ok(
      events(r, "nudge", "deacon").every((n) => n.answered),
      "every nudge answered",
    );
    assert.deepEqual(r.report.violations, []);
  });

  it("shell-zombie: an agent back at its shell is replaced after the zombie check; agents under shells are left alone", () => {
    const r = run("shell-zombie");
    const [exit] = events(r, "exit", "rig01/witness");
    assert.equal(exit?.toShell, true);
    const [wait] = events(r, "wait", "rig01/witness");
    assert.equal(wait?.holdBy, "zombie-check");
    const restarts = events(r, "start", "rig01/witness").filter((e) => e.action === "respawn");
    assert.equal(restarts.length, 1);
    assert.equal(restarts[0]?.at, wait.at + ZOMBIE_CONFIRM_MS);
    assert.equal(restarts[0].verdict, "zombie");
    assert.equal(r.report.restarts, 1);
    assert.deepEqual(r.report.violations, []);
  });

  it("every SIGCHLD lost: the daemon's kick has each death reaped and reported within 100 ms", () => {
    const r = run("crash-after-10m", { days: 1, hookMissRate: 1 });
    const exits = events(r, "exit");
    const counted = events(r, "death-counted");
    assert.ok(exits.length > 5);
    assert.equal(counted.length, exits.length);
    exits.forEach((exit, i) => {
      const delay = (counted[i]?.at ?? Infinity) - exit.at;
      assert.ok(delay > 0 && delay <= 100 + HOOK_LATENCY_MS, `death ${i} counted after ${delay} ms`);
    });
    assert.deepEqual(r.report.violations, []);
  });

  it("every SIGCHLD lost and no kick: the death poll (0.5 s by default) finds every death", () => {
    const r = run("crash-after-10m", { days: 1, hookMissRate: 1, reapKickIntervalMs: 0 });
    const exits = events(r, "exit");
    const counted = events(r, "death-counted");
    assert.equal(counted.length, exits.length);
    exits.forEach((exit, i) => {
      const delay = (counted[i]?.at ?? Infinity) - exit.at;
      assert.ok(delay > 0 && delay <= SECOND / 2, `death ${i} counted after ${delay} ms`);
    });
    assert.deepEqual(r.report.violations, []);
  });
});
