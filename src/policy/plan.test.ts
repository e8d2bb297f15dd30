import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_LIMITS } from "../town/settings.js";
import type { DesiredAgent, HeldState } from "./desired.js";
import type { PolicyLimits } from "./limits.js";
import { plan, type AgentObservation, type Plan, type Verdict } from "./plan.js";
import { EMPTY_TOWN_STATE, emptyRecord, type AgentRecord, type TownPolicyState } from "./record.js";
import { noteSpawned } from "./spawn-result.js";

/**
 * The pure planner with a fake clock. A small simulator plays the executor: every spawn/respawn the plan
 * asks for gets a new generation, recorded with noteSpawned() as the supervisor does.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const T0 = Date.UTC(2026, 0, 1);

function deacon(held: HeldState | null = null, heldReason = ""): DesiredAgent {
  return {
    id: { role: "deacon" },
    identity: "deacon",
    session: "hq-deacon",
    wanted: held === null,
    held,
    heldReason,
  };
}

/** Limits where only the restart backoff matters (no crash loop, budget or mass death in the way). */
const BACKOFF_ONLY: PolicyLimits = {
  ...DEFAULT_LIMITS,
  crashLoop: { ...DEFAULT_LIMITS.crashLoop, count: 1000 },
  spawnBudget: { ...DEFAULT_LIMITS.spawnBudget, count: 1000 },
};

class Sim {
  records = new Map<string, AgentRecord>();
  town: TownPolicyState = EMPTY_TOWN_STATE;
  /** The generation running in the session now (null: no session of ours). */
  generation: string | null = null;
  private spawned = 0;
  readonly desired: DesiredAgent;
  readonly limits: PolicyLimits;
  constructor(desired: DesiredAgent = deacon(), limits: PolicyLimits = BACKOFF_ONLY) {
    this.desired = desired;
    this.limits = limits;
  }

  get record(): AgentRecord {
    return (
      this.records.get(this.desired.identity) ?? emptyRecord(this.desired.identity, this.desired.session)
    );
  }

  /** One pass at `at` (ms after T0) observing `verdict` for the current generation. */
  pass(at: number, verdict: Verdict, reason = "pane died (exit status 1)"): Plan {
    const now = T0 + at;
    const obs: AgentObservation = {
      desired: this.desired,
      verdict,
      verdictReason: verdict === "alive" ? "" : reason,
      generation: verdict === "missing" ? null : this.generation,
    };
    const result = plan({ now, agents: [obs], records: this.records, town: this.town, limits: this.limits });
    this.records = new Map(result.records);
    this.town = result.town;
    for (const action of result.actions) {
      if (action.kind !== "spawn" && action.kind !== "respawn") continue;
      this.generation = `g${++this.spawned}`;
      this.records.set(
        action.identity,
        noteSpawned(this.record, {
          generation: this.generation,
          at: now,
          reason: action.reason,
          manual: action.manual,
        }),
      );
    }
    return result;
  }
}

function kinds(result: Plan): string[] {
  return result.actions.map((a) => a.kind);
}

describe("plan()", () => {
  it("missing → spawn, with the reason; alive → nothing", () => {
    const sim = new Sim();
    const first = sim.pass(0, "missing");
    assert.equal(first.actions.length, 1);
    const spawn = first.actions[0];
    assert.deepEqual(
      spawn === undefined
        ? undefined
        : {
            kind: spawn.kind,
            identity: spawn.identity,
            session: spawn.session,
            reason: spawn.reason,
            manual: spawn.kind === "spawn" ? spawn.manual : undefined,
          },
      { kind: "spawn", identity: "deacon", session: "hq-deacon", reason: "no session", manual: false },
    );
    assert.equal(first.decisions[0]?.action, "spawn");
    const alive = sim.pass(5 * SECOND, "alive");
    assert.deepEqual(alive.actions, []);
    assert.equal(alive.decisions[0]?.action, "none");
    assert.match(alive.decisions[0].reason, /alive/);
  });

  it("dead → respawn at once the first time, with the death as the reason", () => {
    const sim = new Sim();
    sim.pass(0, "missing");
    sim.pass(10 * SECOND, "alive");
    const result = sim.pass(20 * SECOND, "dead", "pane died (exit status 3)");
    assert.equal(result.actions.length, 1);
    const action = result.actions[0];
    assert.equal(action?.kind, "respawn");
    assert.equal(action.reason, "pane died (exit status 3)");
    assert.equal(action.killTree, false, "a dead pane has nothing to kill");
    assert.equal(sim.record.failures, 1);
  });

  it("consecutive quick deaths back off 30 s, 60 s, 120 s, … capped at 10 m", () => {
    const sim = new Sim();
    sim.pass(0, "missing");
    let now = 0;
    const waits: number[] = [];
    for (let death = 1; death <= 9; death++) {
      now += 5 * SECOND; // dies 5 s after each start
      const atDeath = sim.pass(now, "dead");
      if (kinds(atDeath).includes("respawn")) {
        waits.push(0);
        continue;
      }
      assert.equal(atDeath.decisions[0]?.action, "wait");
      assert.equal(atDeath.decisions[0].holdBy, "backoff");
      const until = (atDeath.wakeAt ?? 0) - T0;
      waits.push(until - now);
      // Not a moment before the backoff ends…
      assert.deepEqual(
        kinds(sim.pass(until - 1, "dead")),
        [],
        `death ${death}: no respawn before the backoff`,
      );
      // …and at once when it does.
      assert.deepEqual(kinds(sim.pass(until, "dead")), ["respawn"], `death ${death}: respawn when it ends`);
      now = until;
    }
    assert.deepEqual(waits, [
      0,
      30 * SECOND,
      MINUTE,
      2 * MINUTE,
      4 * MINUTE,
      8 * MINUTE,
      10 * MINUTE,
      10 * MINUTE,
      10 * MINUTE,
    ]);
  });

  it("a death after a 30 m stable run restarts at once, even after a streak", () => {
    const sim = new Sim();
    sim.pass(0, "missing");
    sim.pass(5 * SECOND, "dead"); // failure 1: at once
    sim.pass(10 * SECOND, "dead"); // failure 2: backoff 30 s
    sim.pass(40 * SECOND, "dead"); // respawn
    assert.equal(sim.record.failures, 2);
    // Runs 31 minutes without being observed in between, then dies.
    const result = sim.pass(40 * SECOND + 31 * MINUTE, "dead");
    assert.deepEqual(kinds(result), ["respawn"]);
    assert.equal(sim.record.failures, 1, "a new streak");
  });

  it("an alive observation after the stability period clears the streak", () => {
    const sim = new Sim();
    sim.pass(0, "missing");
    sim.pass(5 * SECOND, "dead");
    sim.pass(10 * SECOND, "dead");
    sim.pass(40 * SECOND, "dead");
    assert.equal(sim.record.failures, 2);
    sim.pass(40 * SECOND + 30 * MINUTE, "alive");
    assert.equal(sim.record.failures, 0);
    assert.equal(sim.record.nextAttemptAt, null);
  });

  it("one death is counted once, however many passes see it", () => {
    const sim = new Sim();
    sim.pass(0, "missing");
    sim.pass(5 * SECOND, "dead"); // failure 1, respawned (g2)
    const death = sim.pass(10 * SECOND, "dead"); // g2 dies: failure 2, wait 30 s
    const wakeAt = death.wakeAt;
    for (const at of [11, 15, 20, 25, 39]) {
      const again = sim.pass(at * SECOND, "dead");
      assert.deepEqual(kinds(again), []);
      assert.equal(again.wakeAt, wakeAt, "the backoff does not move");
    }
    assert.equal(sim.record.failures, 2);
    assert.equal(sim.record.deathCounted, sim.generation);
  });

  it("a zombie is respawned with its process tree killed, only once a later pass confirms it", () => {
    const sim = new Sim();
    sim.pass(0, "missing");
    sim.pass(MINUTE, "alive");
    const first = sim.pass(2 * MINUTE, "zombie", 'pane runs "bash" with no agent process');
    assert.deepEqual(kinds(first), [], "one glimpse is not enough");
    assert.equal(first.decisions[0]?.action, "wait");
    const confirmed = sim.pass((first.wakeAt ?? 0) - T0, "zombie", 'pane runs "bash" with no agent process');
    assert.deepEqual(kinds(confirmed), ["respawn"]);
    const action = confirmed.actions[0];
    assert.equal(action?.kind === "respawn" ? action.killTree : undefined, true);
  });

  it("held agents get no new session, dead or missing", () => {
    for (const [held, why] of [
      ["disabled", "deacon patrol disabled in mayor/daemon.json"],
      ["parked", "rig is parked"],
    ] as const) {
      const sim = new Sim(deacon(held, why));
      for (const verdict of ["missing", "dead"] as const) {
        const result = sim.pass(0, verdict);
        assert.deepEqual(result.actions, [], `${held}/${verdict}`);
        assert.equal(result.decisions[0]?.action, "none");
        assert.equal(result.decisions[0].reason, `no new session: ${why}`);
      }
      const alive = sim.pass(SECOND, "alive");
      assert.deepEqual(alive.actions, [], "a running held agent is left alone by default");
      assert.match(alive.decisions[0]?.reason ?? "", /left alone/);
    }
  });

  it("stop_disabled kills held agents' sessions (alive or dead), never a missing one", () => {
    const limits: PolicyLimits = { ...BACKOFF_ONLY, stopDisabled: true };
    const sim = new Sim(deacon("disabled", "deacon patrol disabled in mayor/daemon.json"), limits);
    const alive = sim.pass(0, "alive");
    assert.deepEqual(kinds(alive), ["kill"]);
    assert.match(alive.actions[0]?.reason ?? "", /stop_disabled/);
    assert.deepEqual(kinds(sim.pass(SECOND, "dead")), ["kill"]);
    assert.deepEqual(kinds(sim.pass(2 * SECOND, "missing")), []);
  });

  it("a wait names the limit holding the agent and when it lets go (what `townd status` shows)", () => {
    // Backoff: the agent's own next attempt.
    const backoff = new Sim();
    backoff.pass(0, "missing");
    backoff.pass(5 * SECOND, "dead");
    const second = backoff.pass(10 * SECOND, "dead");
    assert.equal(second.decisions[0]?.holdBy, "backoff");
    assert.equal(second.decisions[0].until, second.wakeAt);
    assert.equal(second.decisions[0].until, T0 + 10 * SECOND + 30 * SECOND);

    // Mass-death cool-down: the town's pause, whatever the agent's backoff says.
    const paused = new Sim();
    paused.pass(0, "missing");
    paused.town = { ...paused.town, massDeathUntil: T0 + 2 * MINUTE };
    const duringPause = paused.pass(5 * SECOND, "dead");
    assert.deepEqual(kinds(duringPause), []);
    assert.equal(duringPause.decisions[0]?.holdBy, "mass-death");
    assert.equal(duringPause.decisions[0].until, T0 + 2 * MINUTE);

    // Spawn budget: when the oldest restart in the window leaves it.
    const budget = new Sim(deacon(), { ...BACKOFF_ONLY, spawnBudget: { count: 2, windowMs: 10 * MINUTE } });
    budget.pass(0, "missing");
    budget.town = { ...budget.town, spawnTimes: [T0 + SECOND, T0 + 2 * SECOND] };
    const spent = budget.pass(5 * SECOND, "dead");
    assert.deepEqual(kinds(spent), []);
    assert.equal(spent.decisions[0]?.holdBy, "spawn-budget");
    assert.equal(spent.decisions[0].until, T0 + SECOND + 10 * MINUTE);
    assert.equal(spent.wakeAt, T0 + SECOND + 10 * MINUTE);
  });

  it("plan() does not mutate its inputs", () => {
    const sim = new Sim();
    sim.pass(0, "missing");
    const records = new Map(sim.records);
    const before = JSON.stringify([...records]);
    plan({
      now: T0 + 5 * SECOND,
      agents: [{ desired: deacon(), verdict: "dead", verdictReason: "x", generation: sim.generation }],
      records,
      town: sim.town,
      limits: BACKOFF_ONLY,
    });
    assert.equal(JSON.stringify([...records]), before);
  });
});
