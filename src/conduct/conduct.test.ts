import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { planConduct, type ConductPlan } from "./conduct.js";
import { RESUME_FAIL_WINDOW_MS, STUCK_NUDGE } from "./ladder.js";
import { DEFAULT_CONDUCT } from "./settings.js";
import { WALL_CONTINUATION } from "./walls.js";
import {
  EMPTY_CONDUCT,
  type ActivityView,
  type ConductAgent,
  type ConductLimits,
  type ConductState,
} from "./types.js";

const S = 1000;
const M = 60 * S;

/** The defaults (the tests below spell out what they mean in minutes), with the context off for crew. */
const LIMITS: ConductLimits = {
  ...DEFAULT_CONDUCT,
  contextCyclePercent: (role) => (role === "crew" ? null : 80),
};

function agent(
  identity: string,
  activity: Partial<ActivityView> | undefined,
  extra: Partial<ConductAgent> = {},
): ConductAgent {
  return {
    identity,
    role: "polecat",
    wanted: true,
    verdict: "alive",
    generation: "g1",
    startedAt: 0,
    activity:
      activity === undefined
        ? undefined
        : { state: "working", since: 0, detail: "", resetsAt: null, limit: null, ...activity },
    progressAt: null,
    contextPercent: null,
    resumeSession: null,
    stuckAfterMs: 30 * M,
    starting: false,
    ...extra,
  };
}

/** Runs conduct over successive passes, carrying its state like the supervisor does. */
class Passes {
  state: ConductState = EMPTY_CONDUCT;
  private readonly limits: ConductLimits;
  constructor(limits: ConductLimits = LIMITS) {
    this.limits = limits;
  }
  at(now: number, agents: readonly ConductAgent[]): ConductPlan {
    const result = planConduct({
      now,
      agents,
      state: this.state,
      limits: this.limits,
      formatTime: (t) => `t+${t / S}s`,
    });
    this.state = result.state;
    return result;
  }
}

describe("usage-limit walls", () => {
  const reset = 60 * M;
  const walled = (id: string, since = 0, resetsAt: number | null = reset): ConductAgent =>
    agent(id, { state: "rate-limited", since, resetsAt, limit: "session" });

  it("groups agents walled within 90 s into one alert, raised when the window closes", () => {
    const passes = new Passes();
    assert.equal(passes.at(0, [walled("a"), walled("b", 0)]).alerts.length, 0);
    const later = passes.at(80 * S, [walled("a"), walled("b"), walled("c", 80 * S)]);
    assert.equal(later.alerts.length, 0);
    assert.equal(later.wakeAt, 90 * S);
    const closed = passes.at(90 * S, [walled("a"), walled("b"), walled("c", 80 * S)]);
    assert.deepEqual(
      closed.alerts.map((a) => [a.kind, a.message]),
      [["usage_limit", `usage limit: 3 agents until t+${reset / S}s`]],
    );
    assert.equal(passes.at(5 * M, [walled("a"), walled("b"), walled("c", 80 * S)]).alerts.length, 0);
  });

  it("wakes each agent after reset + skew, one stagger apart, with the wait option and a continuation", () => {
    const passes = new Passes();
    const agents = [walled("a"), walled("b"), walled("c")];
    passes.at(0, agents);
    const due = reset + 3 * M;
    const first = passes.at(due, agents);
    assert.deepEqual(
      [...first.agents.entries()].flatMap(([id, p]) => (p.act === undefined ? [] : [id])),
      ["a"],
    );
    assert.deepEqual(first.agents.get("a")?.act, {
      kind: "keys",
      keys: "wall-wake",
      message: WALL_CONTINUATION,
      reason: `usage limit (session, resets t+${reset / S}s): wake 1`,
    });
    assert.equal(first.wakeAt, due + 5 * S);
    const second = passes.at(due + 5 * S, agents);
    assert.equal(second.agents.get("b")?.act?.kind, "keys");
    assert.equal(second.agents.get("a")?.act, undefined, "a is not woken twice");
    assert.equal(passes.at(due + 10 * S, agents).agents.get("c")?.act?.kind, "keys");
  });

  it("leaves the wall when the agent works again, and says the wall lifted once", () => {
    const passes = new Passes();
    passes.at(0, [walled("a")]);
    passes.at(2 * M, [walled("a")]);
    passes.at(reset + 3 * M, [walled("a")]);
    const back = passes.at(reset + 4 * M, [agent("a", { state: "working", since: reset + 3 * M })]);
    assert.deepEqual(
      back.alerts.map((a) => a.kind),
      ["usage_limit_lifted"],
    );
    assert.equal(passes.state.agents.get("a")?.wall, null);
    assert.equal(passes.at(reset + 5 * M, [agent("a", { state: "working" })]).alerts.length, 0);
  });

  it("says the whole wall lifted when its last agent works again, not only that agent (found by the simulator)", () => {
    const passes = new Passes();
    passes.at(0, [walled("a"), walled("b")]);
    passes.at(2 * M, [walled("a"), walled("b")]);
    const working = (id: string) => agent(id, { state: "working", since: reset + 3 * M });
    assert.deepEqual(passes.at(reset + 4 * M, [working("a"), walled("b")]).alerts, []);
    const lifted = passes.at(reset + 5 * M, [working("a"), working("b")]).alerts;
    assert.deepEqual(
      lifted.map((a) => [a.kind, a.message, a.identities]),
      [["usage_limit_lifted", "usage limit lifted: 2 agents working again", ["a", "b"]]],
    );
  });

  it("does not lift (or alert again) when a wake reads as working for a moment and walls again", () => {
    const passes = new Passes();
    passes.at(0, [walled("a")]);
    passes.at(2 * M, [walled("a")]);
    const wake = reset + 3 * M;
    passes.at(wake, [walled("a")]);
    const glimpse = passes.at(wake + 2 * S, [agent("a", { state: "working", since: wake + S })]);
    assert.deepEqual(glimpse.alerts, []);
    const again = passes.at(wake + 4 * S, [walled("a", wake + 3 * S)]);
    assert.deepEqual(again.alerts, [], "the same wall: no new usage_limit alert");
    assert.equal(passes.state.walls.length, 1);
  });

  it("lifts 20 s after the agent left the wall, however often it flips between working and idle since", () => {
    const passes = new Passes();
    passes.at(0, [walled("a")]);
    passes.at(2 * M, [walled("a")]);
    const wake = reset + 3 * M;
    passes.at(wake, [walled("a")]);
    const lifted: number[] = [];
    for (let t = 1; t <= 30; t += 1) {
      const state = t % 3 === 0 ? "idle" : "working";
      const since = wake + Math.floor(t / 3) * 3 * S;
      const plan = passes.at(wake + t * S, [agent("a", { state, since })]);
      if (plan.alerts.some((alert) => alert.kind === "usage_limit_lifted")) lifted.push(t);
    }
    assert.deepEqual(lifted, [20], "20 s after it first left, at the wake");
  });

  it("re-arms with a new reset, backs off failed wakes, and escalates once after maxWakes", () => {
    const passes = new Passes();
    passes.at(0, [walled("a")]);
    let now = reset + 3 * M;
    const wakes: number[] = [];
    const alerts: string[] = [];
    for (; now < reset + 6 * 60 * M; now += 30 * S) {
      const plan = passes.at(now, [walled("a")]);
      if (plan.agents.get("a")?.act !== undefined) wakes.push(now);
      alerts.push(...plan.alerts.filter((a) => a.kind !== "usage_limit").map((a) => a.kind));
    }
    assert.deepEqual(alerts, ["usage_limit_wake_failed"]);
    const gaps = wakes.slice(1).map((t, i) => t - (wakes[i] ?? 0));
    assert.ok(
      gaps.every((gap, i) => i === 0 || gap >= (gaps[i - 1] ?? 0)),
      `gaps grow: ${gaps.join(",")}`,
    );
    assert.ok(
      gaps.every((gap) => gap <= 30 * M + 2 * M + 30 * S),
      `bounded: ${gaps.join(",")}`,
    );

    const rearmed = new Passes();
    rearmed.at(0, [walled("a")]);
    rearmed.at(reset + 3 * M, [walled("a")]);
    const later = reset + 5 * 60 * M;
    const plan = rearmed.at(reset + 4 * M, [walled("a", 0, later)]);
    assert.equal(plan.agents.get("a")?.act, undefined);
    assert.match(plan.agents.get("a")?.note ?? "", new RegExp(`wake at t\\+${(later + 3 * M) / S}s`));
  });

  it("retries an unknown reset at the slow cadence and says so", () => {
    const passes = new Passes();
    const a = walled("a", 0, null);
    const plan = passes.at(M, [a]);
    assert.match(plan.agents.get("a")?.note ?? "", /reset time unknown: next try at t\+1800s/);
    assert.equal(passes.at(29 * M, [a]).agents.get("a")?.act, undefined);
    assert.equal(passes.at(30 * M, [a]).agents.get("a")?.act?.kind, "keys");
  });

  it("holds a walled agent that died until its wake, instead of counting a death", () => {
    const passes = new Passes();
    passes.at(0, [walled("a")]);
    const dead = agent("a", { state: "dead" }, { verdict: "dead" });
    const plan = passes.at(M, [dead]);
    assert.deepEqual(plan.agents.get("a")?.wall?.until, reset + 3 * M);
  });

  it("holds an agent that exited at its wall before any pass saw it walled (found by the simulator)", () => {
    // A headless CLI quits on the limit: the pass that finds its pane dead still has its hooks'
    // rate-limited, and no wall in memory yet.
    const passes = new Passes();
    passes.at(0, [agent("a", { state: "working" })]);
    const exited = agent("a", { state: "rate-limited", since: 10 * S, resetsAt: reset }, { verdict: "dead" });
    const plan = passes.at(11 * S, [exited]);
    assert.deepEqual(plan.agents.get("a")?.wall?.until, reset + 3 * M);
    // The hold stays once the daemon has noted the death, and the wall is one alert like any other.
    const dead = agent("a", { state: "dead", since: 11 * S }, { verdict: "dead" });
    assert.deepEqual(passes.at(2 * M, [dead]).agents.get("a")?.wall?.until, reset + 3 * M);
    assert.deepEqual(
      passes.state.walls.map((w) => w.identities),
      [["a"]],
    );
  });
});

describe("permission waits", () => {
  const waiting = (since = 0): ConductAgent =>
    agent("a", { state: "awaiting-permission", since, detail: "Bash: rm -rf build" });

  it("tells a person once after the limit, naming the agent, the tool and the command", () => {
    const passes = new Passes();
    assert.equal(passes.at(9 * M, [waiting()]).alerts.length, 0);
    const told = passes.at(10 * M, [waiting()]);
    assert.deepEqual(
      told.alerts.map((a) => a.message),
      ["a has waited 10m for permission: Bash: rm -rf build"],
    );
    assert.equal(passes.at(20 * M, [waiting()]).alerts.length, 0);
    assert.equal(passes.at(40 * M, [waiting(30 * M)]).alerts.length, 1, "a new wait is told again");
  });

  it("never approves by itself; a rule for the tool approves only matching commands", () => {
    assert.equal(new Passes().at(0, [waiting()]).agents.get("a")?.act, undefined);
    const limits = {
      ...LIMITS,
      permission: { ...LIMITS.permission, autoApprove: [{ tool: "Bash", command: /^npm test$/ }] },
    };
    const passes = new Passes(limits);
    assert.equal(passes.at(0, [waiting()]).agents.get("a")?.act, undefined);
    const npm = agent("a", { state: "awaiting-permission", since: M, detail: "Bash: npm test" });
    assert.equal(passes.at(M, [npm]).agents.get("a")?.act?.kind, "keys");
    assert.equal(passes.at(M + S, [npm]).agents.get("a")?.act, undefined, "approved once per wait");
  });
});

describe("idle patrols", () => {
  it("nudges an idle patrol agent after the limit, then at doubling intervals, never other roles", () => {
    const passes = new Passes();
    const deacon = agent("deacon", { state: "idle", since: 0 }, { role: "deacon" });
    const crew = agent("crew", { state: "idle", since: 0 }, { role: "crew" });
    const nudgedAt: number[] = [];
    for (let now = 0; now <= 120 * M; now += M) {
      const plan = passes.at(now, [deacon, crew]);
      assert.equal(plan.agents.get("crew")?.act, undefined);
      if (plan.agents.get("deacon")?.act?.kind === "nudge") nudgedAt.push(now / M);
    }
    assert.deepEqual(nudgedAt, [15, 45, 105]);
  });

  it("starts over when the agent has worked in between", () => {
    const passes = new Passes();
    passes.at(15 * M, [agent("d", { state: "idle", since: 0 }, { role: "witness" })]);
    const plan = passes.at(31 * M, [agent("d", { state: "idle", since: 16 * M }, { role: "witness" })]);
    assert.equal(plan.agents.get("d")?.act?.kind, "nudge");
  });
});

describe("the stuck ladder", () => {
  const working = (progressAt: number | null, extra: Partial<ConductAgent> = {}): ConductAgent =>
    agent("w", { state: "working", since: 0 }, { progressAt, ...extra });

  it("climbs nudge → Escape → resume → fresh → needs-human, one rung per wait without progress", () => {
    const passes = new Passes();
    assert.equal(passes.at(29 * M, [working(0, { resumeSession: "s-1" })]).agents.get("w")?.act, undefined);
    const rungs: string[] = [];
    let generation = "g1";
    for (let now = 30 * M; now <= 50 * M; now += M) {
      const plan = passes.at(now, [working(0, { resumeSession: "s-1", generation })]);
      const step = plan.agents.get("w");
      if (step?.act?.kind === "nudge") rungs.push(`nudge:${step.act.message === STUCK_NUDGE}`);
      if (step?.act?.kind === "keys") rungs.push(step.act.keys);
      if (step?.stuck !== undefined && !rungs.includes(`respawn:${step.stuck.resume}`)) {
        rungs.push(`respawn:${step.stuck.resume}`);
        // The planner respawned it: a new generation, just as stuck.
        generation = `${generation}x`;
      }
      for (const alert of plan.alerts) rungs.push(alert.kind);
      if (step?.needsHuman !== undefined && !rungs.includes("needs-human")) rungs.push("needs-human");
    }
    assert.deepEqual(rungs, ["nudge:true", "escape", "respawn:s-1", "respawn:null", "stuck", "needs-human"]);
  });

  it("rests when progress returns, and climbs on if the stall comes back soon", () => {
    const passes = new Passes();
    assert.equal(passes.at(30 * M, [working(0)]).agents.get("w")?.act?.kind, "nudge");
    assert.equal(passes.at(31 * M, [working(31 * M)]).agents.get("w")?.act, undefined);
    assert.notEqual(passes.state.agents.get("w")?.ladder?.resolvedAt, null);
    const again = passes.at(61 * M, [working(31 * M)]);
    assert.deepEqual(again.agents.get("w")?.act, {
      kind: "keys",
      keys: "escape",
      reason: again.agents.get("w")?.note,
    });
  });

  it("asks for a fresh start at once when a resumed conversation dies within seconds", () => {
    const passes = new Passes();
    passes.at(30 * M, [working(0, { resumeSession: "s-1" })]);
    passes.at(33 * M, [working(0, { resumeSession: "s-1" })]);
    assert.equal(
      passes.at(36 * M, [working(0, { resumeSession: "s-1" })]).agents.get("w")?.stuck?.resume,
      "s-1",
    );
    const died = agent("w", { state: "dead" }, { verdict: "dead", generation: "g2", startedAt: 36 * M });
    const plan = passes.at(36 * M + RESUME_FAIL_WINDOW_MS - S, [died]);
    assert.deepEqual(plan.agents.get("w")?.stuck, {
      reason: "stuck, rung 4 (fresh respawn): the resumed conversation died at once",
      resume: null,
      resumeFailed: true,
    });
  });

  it("never treats idle, waiting or walled agents as stuck", () => {
    const passes = new Passes();
    for (const state of [
      "idle",
      "awaiting-permission",
      "rate-limited",
      "auth-required",
      "needs-human",
    ] as const) {
      const plan = passes.at(2 * 60 * M, [agent("w", { state, since: 0 }, { role: "polecat" })]);
      assert.equal(plan.agents.get("w")?.stuck, undefined, state);
      const act = plan.agents.get("w")?.act;
      assert.ok(act === undefined || (act.kind === "keys" && act.keys === "wall-wake"), state);
    }
  });
});

describe("context", () => {
  it("cycles an idle agent over its role's threshold once per generation, and waits for its prompt", () => {
    const passes = new Passes();
    const busy = agent("p", { state: "working" }, { contextPercent: 85 });
    assert.equal(passes.at(0, [busy]).agents.get("p")?.cycle, undefined);
    const idle = agent("p", { state: "idle" }, { contextPercent: 85 });
    assert.match(passes.at(S, [idle]).agents.get("p")?.cycle ?? "", /context 85% used \(threshold 80%\)/);
    assert.equal(passes.at(2 * S, [idle]).agents.get("p")?.cycle, undefined, "once per generation");
    assert.notEqual(passes.at(3 * S, [{ ...idle, generation: "g2" }]).agents.get("p")?.cycle, undefined);
    const crew = agent("c", { state: "idle" }, { role: "crew", contextPercent: 99 });
    assert.equal(new Passes().at(0, [crew]).agents.get("c")?.cycle, undefined, "off for the role");
    assert.equal(
      new Passes().at(0, [agent("x", { state: "idle" })]).agents.get("x")?.cycle,
      undefined,
      "no report",
    );
  });
});
