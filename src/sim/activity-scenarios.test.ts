import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_CONDUCT } from "../conduct/settings.js";
import { DEFAULT_WATCHDOG } from "../town/settings.js";
import { HOUR, MINUTE, SECOND } from "./clock.js";
import { runSimulation, type SimOptions, type SimRun } from "./run.js";
import { findScenario, type Scenario } from "./scenarios.js";
import type { TraceEvent } from "./trace.js";
import type { WallSpec } from "./usage-walls.js";

/**
 * The scenarios of what agents do (usage-limit walls, permission waits, idle patrols, stalls) under
 * townd's defaults: each runs once per file (4 simulated days in a second or two) and the tests read its
 * report and trace.
 */

const runs = new Map<string, SimRun>();
function run(name: string | Scenario, options: SimOptions = {}): SimRun {
  const scenario = typeof name === "string" ? findScenario(name) : name;
  assert.ok(scenario, "a scenario");
  const key = `${scenario.name} ${JSON.stringify(options)}`;
  let result = runs.get(key);
  if (result === undefined) {
    result = runSimulation(scenario, options);
    runs.set(key, result);
  }
  return result;
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

const { skewMs, staggerMs, checkAfterMs } = DEFAULT_CONDUCT.wall;

describe("usage-wall: 50 agents, one 5-hour wall a day, 4 days, default settings", () => {
  it("meets the goals: no wall kill, no crash loop, no death, wake delay p95 ≤ 600 s", () => {
    const r = run("usage-wall");
    assert.equal(r.report.days, 4);
    assert.equal(r.report.agents, 50);
    assert.equal(r.report.walled, 200, "every agent walled once a day");
    assert.equal(r.report.wall_kills, 0);
    assert.equal(r.report.kills, 0);
    assert.equal(r.report.deaths, 0, "walled exits are no deaths");
    assert.equal(r.report.walled_unwoken, 0);
    assert.ok((r.report.wake_delay_p95_s ?? Infinity) <= 600, `p95 ${r.report.wake_delay_p95_s} s`);
    // The skew and 50 stagger slots bound every wake: 3 m + 49 × 5 s, plus the wall's 30 s of lift jitter.
    assert.ok(
      (r.report.wake_delay_max_s ?? Infinity) <= (skewMs + 49 * staggerMs) / 1000 + 30,
      `max ${r.report.wake_delay_max_s}`,
    );
    assert.deepEqual(r.report.alerts_by_kind, { usage_limit: 4, usage_limit_lifted: 4 });
    assert.deepEqual(r.report.violations, []);
  });

  it("one alert per wall naming all 50 agents and the reset; one when it lifts", () => {
    const r = run("usage-wall");
    const walls = r.report.alerts.filter((a) => a.kind === "usage_limit");
    assert.deepEqual(
      walls.map((a) => a.message),
      [0, 1, 2, 3].map((day) => `usage limit: 50 agents until ${day}d 15:00`),
    );
    const lifted = r.report.alerts.filter((a) => a.kind === "usage_limit_lifted");
    assert.ok(
      lifted.every(
        (a) => a.message === "usage limit lifted: 50 agents working again" && a.agents.length === 50,
      ),
      lifted.map((a) => a.message).join("\n"),
    );
  });

  it("wakes each live agent after the reset + skew, one stagger apart, with the wall-wake keys", () => {
    const r = run("usage-wall");
    for (const wall of events(r, "wall")) {
      const reset = wall.resetsAt ?? 0;
      const wakes = events(r, "conduct")
        .filter((e) => e.act === "wall-wake" && e.at >= wall.at && e.at < wall.at + 12 * HOUR)
        .map((e) => e.at);
      assert.ok(wakes.length > 0);
      assert.ok(wakes[0] !== undefined && wakes[0] >= reset + skewMs, "no wake before the reset + skew");
      for (let i = 1; i < wakes.length; i++)
        assert.ok(
          (wakes[i] ?? 0) - (wakes[i - 1] ?? 0) >= staggerMs,
          `wake ${i} is a stagger after ${i - 1}`,
        );
    }
    assert.ok(
      events(r, "conduct").every((e) => e.act === "wall-wake" && e.effect === "woken: working again"),
      "every wake woke its agent",
    );
  });

  it("an agent that exits while walled waits (usage-limit) and is started again at its wake, after the reset", () => {
    const r = run("usage-wall");
    const walls = events(r, "wall");
    const exits = events(r, "exit");
    assert.ok(exits.length >= 10, `${exits.length} walled exits`);
    for (const exit of exits) {
      const wall = walls.findLast((w) => w.at <= exit.at);
      assert.ok(wall?.resetsAt != null);
      // Held from the pass that finds the pane dead (the pane-died hook, 10 ms later).
      const wait = events(r, "wait", exit.identity).find((w) => w.at >= exit.at);
      assert.ok(wait !== undefined && wait.at - exit.at <= SECOND, `${exit.identity} held at its exit`);
      assert.equal(wait.holdBy, "usage-limit");
      const back = events(r, "start", exit.identity).find((s) => s.at > exit.at);
      assert.ok(
        back !== undefined && back.at >= wall.resetsAt + skewMs,
        `${exit.identity} back after its reset`,
      );
      assert.match(back.reason, /^usage-limit wake: /);
    }
  });

  it("the Deacon walled for hours is not killed when its heartbeat goes very stale (I9)", () => {
    const r = run("usage-wall");
    const nudges = events(r, "nudge", "deacon");
    assert.ok(nudges.length > 0, "its heartbeat went stale while walled");
    assert.deepEqual(events(r, "kill", "deacon"), []);
  });

  it("a wall that lifts 4 m after its announced reset: the first wake fails, the retry works", () => {
    const r = run(wallVariant({ liftLateMs: 4 * MINUTE, liftJitterMs: 0 }), { days: 1, agents: 3 });
    const wakes = events(r, "conduct").filter((e) => e.act === "wall-wake");
    const failed = wakes.filter((e) => e.effect === "still walled: the limit has not reset");
    assert.equal(failed.length, 3, "each agent's first wake came before the lift");
    const lift = events(r, "wall")[0]?.liftsAt ?? 0;
    for (const wake of wakes.filter((e) => e.effect === "woken: working again")) {
      const first = failed.find((f) => f.identity === wake.identity);
      assert.ok(first !== undefined && wake.at - first.at >= checkAfterMs, "retried after the check");
      assert.ok(wake.at >= lift);
    }
    assert.equal(r.report.walled_unwoken, 0);
    assert.equal(r.report.wall_kills, 0);
    assert.deepEqual(r.report.violations, []);
  });

  it("a wall that shows no reset: tried every 30 minutes, escalated once per agent, woken after it lifts", () => {
    const r = run(wallVariant({ resetShown: false }), { days: 1, agents: 3 });
    const [wall] = r.report.alerts.filter((a) => a.kind === "usage_limit");
    assert.equal(wall?.message, "usage limit: 3 agents reset time unknown, retrying every 30m0s");
    assert.equal(r.report.alerts_by_kind["usage_limit_wake_failed"], 3);
    const lift = events(r, "wall")[0]?.liftsAt ?? 0;
    assert.equal(r.report.walled_unwoken, 0);
    assert.ok((r.report.wake_delay_max_s ?? Infinity) <= 30 * 60 + 10, `max ${r.report.wake_delay_max_s} s`);
    assert.ok(
      events(r, "activity").some((e) => e.state === "working" && e.at >= lift),
      "working again after the lift",
    );
    assert.equal(r.report.wall_kills, 0);
    assert.deepEqual(r.report.violations, []);
  });
});

/** usage-wall with its walls changed. */
function wallVariant(change: Partial<WallSpec>): Scenario {
  const base = findScenario("usage-wall");
  const walls = base?.walls;
  assert.ok(base !== undefined && walls !== undefined);
  return { ...base, name: `usage-wall ${JSON.stringify(change)}`, walls: { ...walls, ...change } };
}

describe("permission-wait: townd approves only by rule, and tells a person once per wait", () => {
  it("approves `npm test` by the rule at once; never approves anything else", () => {
    const r = run("permission-wait");
    const approvals = events(r, "conduct").filter((e) => e.act === "approve");
    assert.ok(approvals.length > 50, `${approvals.length} approvals`);
    assert.ok(
      approvals.every((e) => e.effect === "approved" && e.reason.endsWith("Bash: npm test")),
      "only npm test",
    );
    const waits = events(r, "activity").filter((e) => e.state === "awaiting-permission");
    for (const wait of waits.filter((w) => w.detail === "Bash: npm test")) {
      const approval = approvals.find((a) => a.identity === wait.identity && a.at >= wait.at);
      assert.ok(approval !== undefined && approval.at - wait.at <= 3 * MINUTE, "approved at the next pass");
    }
  });

  it("tells a person once per other wait, 10 minutes in, naming the agent, the tool and the command", () => {
    const r = run("permission-wait");
    const waits = events(r, "activity").filter(
      (e) => e.state === "awaiting-permission" && e.detail !== "Bash: npm test",
    );
    const alerts = r.report.alerts.filter((a) => a.kind === "permission_wait");
    assert.ok(waits.length > 100, `${waits.length} waits`);
    assert.equal(alerts.length, waits.filter((w) => w.at + 10 * MINUTE <= r.start + 4 * 24 * HOUR).length);
    for (const wait of waits) {
      const told = alerts.filter(
        (a) =>
          a.agents[0] === wait.identity && r.start + a.at_ms >= wait.at && r.start + a.at_ms < wait.at + HOUR,
      );
      if (wait.at + 10 * MINUTE > r.start + 4 * 24 * HOUR) continue;
      assert.equal(told.length, 1, `${wait.identity} told once about the wait at ${wait.at - r.start}`);
      const delay = r.start + (told[0]?.at_ms ?? 0) - wait.at;
      assert.ok(delay >= 10 * MINUTE && delay <= 13 * MINUTE, `told ${delay} ms in`);
      assert.equal(told[0]?.message, `${wait.identity} has waited 10m for permission: ${wait.detail}`);
    }
    assert.equal(r.report.kills, 0);
    assert.deepEqual(r.report.violations, []);
  });

  it("with townd's defaults (no rule) it approves nothing", () => {
    const base = findScenario("permission-wait");
    assert.ok(base);
    const r = run({ ...base, name: "permission-wait-no-rule", settings: {} }, { days: 1 });
    assert.deepEqual(
      events(r, "conduct").filter((e) => e.act === "approve"),
      [],
    );
    assert.ok((r.report.alerts_by_kind["permission_wait"] ?? 0) > 0);
    assert.deepEqual(r.report.violations, []);
  });
});

describe("idle-patrol: idle is not hung", () => {
  it("patrol agents idle 15 minutes get their patrol nudge and patrol again; none is killed", () => {
    const r = run("idle-patrol");
    assert.equal(r.report.kills, 0);
    assert.equal(r.report.restarts, 0);
    const witness = events(r, "conduct", "rig01/witness");
    assert.ok(witness.length > 250, `${witness.length} nudges`);
    assert.ok(
      witness.every(
        (e) => e.act === "nudge" && e.effect === "started a turn" && /patrol nudge/.test(e.reason),
      ),
      "every nudge started a patrol",
    );
    const idleSpells = events(r, "activity", "rig01/witness").filter((e) => e.state === "idle");
    for (const nudge of witness) {
      const idle = idleSpells.findLast((e) => e.at < nudge.at);
      assert.equal((nudge.at - (idle?.at ?? 0)) / MINUTE, 15, "nudged 15 minutes into the idle spell");
    }
    assert.deepEqual(r.report.violations, []);
  });

  it("the Deacon that answers nothing is never killed for its very stale heartbeat, and nudged at doubling intervals", () => {
    const r = run("idle-patrol");
    assert.deepEqual(events(r, "kill", "deacon"), []);
    assert.equal(r.report.per_agent.find((a) => a.agent === "deacon")?.activity, "idle");
    // The watchdog's one HEALTH_CHECK per stale episode, then conduct's patrol nudges 15 m, 30 m, 1 h… apart.
    assert.equal(events(r, "nudge", "deacon").length, 1);
    const nudges = events(r, "conduct", "deacon").map((e) => e.at);
    const idleAt =
      events(r, "activity", "deacon").findLast((e) => e.state === "idle" && e.at < (nudges[0] ?? 0))?.at ?? 0;
    const gaps = [nudges[0] ?? 0, ...nudges.slice(1)].map(
      (at, i) => (at - (i === 0 ? idleAt : (nudges[i - 1] ?? 0))) / MINUTE,
    );
    assert.deepEqual(gaps.slice(0, 6), [15, 30, 60, 120, 240, 240]);
    // Its heartbeat went past the very-stale limit many times over.
    assert.ok(r.start + 4 * 24 * HOUR - idleAt > 10 * DEFAULT_WATCHDOG.veryStaleMs);
  });
});

describe("stalled-worker: the stuck ladder", () => {
  it("climbs nudge → Escape → resume → fresh → needs-human one rung at a time; every kill is a rung", () => {
    const r = run("stalled-worker");
    const rungs = new Set(events(r, "rung").map((e) => e.rung));
    assert.deepEqual([...rungs].sort(), [1, 2, 3, 4, 5]);
    for (const kill of events(r, "kill"))
      assert.match(kill.reason, /^stuck, rung [34] /, `${kill.identity} killed only by a respawn rung`);
    const resumed = events(r, "rung").filter((e) => e.rung === 3);
    assert.ok(resumed.length > 0 && resumed.every((e) => e.resumable));
    assert.deepEqual(r.report.violations, []);
  });

  it("a nudge or Escape cures what it can without a restart; a respawn cures the rest", () => {
    const r = run("stalled-worker");
    const cured = events(r, "stall-cured");
    assert.ok(cured.some((e) => e.by === "nudge") && cured.some((e) => e.by === "escape"));
    // Each stall the run leaves time for: 30 m to be stuck, two rungs of 3 m, a pass.
    const settled = (at: number) => at < r.start + 4 * 24 * HOUR - HOUR;
    const curable = events(r, "stall").filter(
      (s) => (s.cure === "nudge" || s.cure === "escape") && settled(s.at),
    );
    for (const stall of curable) {
      assert.ok(
        cured.some(
          (c) => c.identity === stall.identity && c.generation === stall.generation && c.at > stall.at,
        ),
        `${stall.identity}'s ${stall.cure} stall cured in its generation`,
      );
    }
  });

  it("the stall nothing cures ends at needs-human with one alert, not a restart loop", () => {
    const r = run("stalled-worker");
    const stuck = r.report.alerts.filter((a) => a.kind === "stuck");
    assert.deepEqual(
      stuck.map((a) => a.agents),
      [["rig04/witness"]],
    );
    const agent = r.report.per_agent.find((a) => a.agent === "rig04/witness");
    assert.ok(agent !== undefined);
    assert.equal(agent.state, "needs-human");
    assert.equal(agent.restarts, 2, "a resume and a fresh start, then a person");
  });

  it("a stalled Deacon nudged by its watchdog starts the ladder at Escape, within its very-stale limit", () => {
    const r = run("stalled-worker");
    const deaconRungs = events(r, "rung", "deacon");
    assert.ok(deaconRungs.length > 0);
    for (const stall of events(r, "stall", "deacon")) {
      const first = deaconRungs.find((e) => e.at > stall.at);
      const cured = events(r, "stall-cured", "deacon").find((c) => c.at > stall.at);
      if (first === undefined || (cured !== undefined && cured.at < first.at)) continue;
      assert.ok(first.rung >= 2, "the HEALTH_CHECK was its nudge");
      assert.ok(first.at - stall.at <= DEFAULT_WATCHDOG.veryStaleMs + 3 * MINUTE + SECOND);
    }
  });
});

describe("determinism", () => {
  it("usage-wall: the same seed gives the same report", () => {
    const strip = (simRun: SimRun) => JSON.stringify({ ...simRun.report, wall_ms: 0 });
    assert.equal(
      strip(runSimulation(findScenario("usage-wall") ?? assert.fail(), { days: 1, agents: 9, seed: 5 })),
      strip(runSimulation(findScenario("usage-wall") ?? assert.fail(), { days: 1, agents: 9, seed: 5 })),
    );
  });
});
