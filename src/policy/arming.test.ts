import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_LIMITS } from "../town/settings.js";
import { AHEAD_OF_THE_DAEMON, ARM_AFTER_MS, planArming, townTokens } from "./arming.js";
import type { DesiredAgent } from "./desired.js";
import type { PolicyLimits } from "./limits.js";
import { plan, type AgentObservation, type Plan } from "./plan.js";
import { EMPTY_TOWN_STATE, emptyRecord, type AgentRecord, type TownPolicyState } from "./record.js";
import { noteSpawned } from "./spawn-result.js";

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 1);

function witness(rig: string): DesiredAgent {
  return {
    id: { role: "witness", rig },
    identity: `${rig}/witness`,
    session: `gt-${rig}-witness`,
    wanted: true,
    held: null,
    heldReason: "",
  };
}

const POLECAT: DesiredAgent = {
  id: { role: "polecat", rig: "r1", name: "nux" },
  identity: "r1/polecats/nux",
  session: "gt-r1-nux",
  wanted: true,
  held: null,
  heldReason: "",
};

/** A record of an agent whose generation `gen` started at `startedAt`. */
function started(agent: DesiredAgent, gen: string, startedAt: number): AgentRecord {
  return noteSpawned(emptyRecord(agent.identity, agent.session), {
    generation: gen,
    at: startedAt,
    reason: "start",
    manual: false,
  });
}

function alive(agent: DesiredAgent, gen: string, extra: Partial<AgentObservation> = {}): AgentObservation {
  return { desired: agent, verdict: "alive", verdictReason: "agent is alive", generation: gen, ...extra };
}

/** A pass of the real planner, then the arming it implies. */
function passAndArm(
  agents: readonly AgentObservation[],
  records: ReadonlyMap<string, AgentRecord>,
  now: number,
  limits: PolicyLimits = DEFAULT_LIMITS,
  town: TownPolicyState = EMPTY_TOWN_STATE,
): { plan: Plan; armed: string[]; tokens: number } {
  const result = plan({ now, agents, records, town, limits });
  const arming = planArming({ now, limits }, agents, result.decisions, result.records, result.town);
  return { plan: result, armed: [...arming.armed].sort(), tokens: arming.tokens };
}

describe("planArming: arms exactly the agents the policy would respawn at once", () => {
  const now = T0 + 10 * MINUTE;
  const a = witness("a");
  const b = witness("b");

  it("arms a settled patrol agent left alone, with the town's allowance", () => {
    const records = new Map([
      [a.identity, started(a, "ga", T0)],
      [b.identity, started(b, "gb", T0)],
    ]);
    const { armed, tokens } = passAndArm([alive(a, "ga"), alive(b, "gb")], records, now);
    assert.deepEqual(armed, [a.identity, b.identity]);
    // One respawn ahead of the daemon, whatever the town's limits would allow (2 deaths before the pause).
    assert.equal(tokens, AHEAD_OF_THE_DAEMON);
    assert.equal(townTokens(EMPTY_TOWN_STATE, now, DEFAULT_LIMITS), DEFAULT_LIMITS.massDeath.count - 1);
  });

  it("leaves out a young generation, a polecat, a walled, stuck or held agent, and one with a request", () => {
    const records = new Map([
      [a.identity, started(a, "ga", now - ARM_AFTER_MS + 1)],
      [b.identity, { ...started(b, "gb", T0), operatorHold: "operator" as const }],
      [POLECAT.identity, started(POLECAT, "gp", T0)],
    ]);
    assert.deepEqual(
      passAndArm([alive(a, "ga"), alive(b, "gb"), alive(POLECAT, "gp")], records, now).armed,
      [],
    );
    const young = new Map([[a.identity, started(a, "ga", now - ARM_AFTER_MS + 1)]]);
    const result0 = plan({ now, agents: [alive(a, "ga")], records: young, limits: DEFAULT_LIMITS });
    const arming = planArming(
      { now, limits: DEFAULT_LIMITS },
      [alive(a, "ga")],
      result0.decisions,
      result0.records,
      result0.town,
    );
    assert.equal(arming.wakeAt, now + 1, "the daemon looks again when the generation has settled");
    const settled = new Map([[a.identity, started(a, "ga", T0)]]);
    const wall = { until: now + MINUTE, reason: "usage limit" };
    assert.deepEqual(passAndArm([alive(a, "ga", { wall })], settled, now).armed, []);
    const stuck = { reason: "no progress", resume: null, resumeFailed: false };
    assert.deepEqual(passAndArm([alive(a, "ga", { stuck })], settled, now).armed, []);
    assert.deepEqual(passAndArm([alive(a, "ga", { activity: "rate-limited" })], settled, now).armed, []);
    const result = plan({
      now,
      agents: [alive(a, "ga")],
      records: settled,
      limits: DEFAULT_LIMITS,
      requests: [{ identity: a.identity, kind: "cycle", reason: "handoff" }],
    });
    assert.deepEqual(
      [
        ...planArming(
          { now, limits: DEFAULT_LIMITS },
          [alive(a, "ga")],
          result.decisions,
          result.records,
          result.town,
        ).armed,
      ],
      [],
    );
    assert.deepEqual(passAndArm([alive(a, "ga")], settled, now).armed, [a.identity], "the control case arms");
  });

  it("does not arm an agent whose next death would wait: a streak without a stable run, a crash loop", () => {
    // Died and came back 2 minutes ago: a death now would be the second of a streak, with a backoff.
    const dying = { ...started(a, "ga2", now - 2 * MINUTE), failures: 1 };
    assert.deepEqual(passAndArm([alive(a, "ga2")], new Map([[a.identity, dying]]), now).armed, []);
    // Once it has run stably, a death would start a new streak: respawned at once again.
    const later = now + DEFAULT_LIMITS.restart.stabilityPeriodMs;
    assert.deepEqual(passAndArm([alive(a, "ga2")], new Map([[a.identity, dying]]), later).armed, [
      a.identity,
    ]);
    const looping = { ...started(a, "ga", T0), crashLoopSince: T0 };
    assert.deepEqual(
      passAndArm([alive(a, "ga")], new Map([[a.identity, looping]]), T0 + 2 * MINUTE).armed,
      [],
    );
  });

  it("spends no allowance the spawn budget or the mass-death count does not have", () => {
    const limits = DEFAULT_LIMITS;
    const spent = {
      ...EMPTY_TOWN_STATE,
      spawnTimes: Array.from({ length: limits.spawnBudget.count }, (_, i) => now - i * 1000),
    };
    assert.equal(townTokens(spent, now, limits), 0);
    const records = new Map([[a.identity, started(a, "ga", T0)]]);
    assert.deepEqual(passAndArm([alive(a, "ga")], records, now, limits, spent).armed, []);
    const dying = {
      ...EMPTY_TOWN_STATE,
      deaths: Array.from({ length: limits.massDeath.count - 1 }, (_, i) => ({
        at: now - 1000,
        identity: `x${i}`,
      })),
    };
    assert.equal(townTokens(dying, now, limits), 0, "one more death completes the mass death: none answered");
    const paused = { ...EMPTY_TOWN_STATE, massDeathUntil: now + MINUTE };
    assert.equal(townTokens(paused, now, limits), 0);
    assert.equal(townTokens(EMPTY_TOWN_STATE, now, limits), limits.massDeath.count - 1);
  });
});

/** What the daemon observes of an agent whose armed hook has respawned it with `generation`. */
function firedHook(agent: DesiredAgent, generation: string): AgentObservation {
  return {
    desired: agent,
    verdict: "dead",
    verdictReason: "pane died",
    generation,
    armedRespawn: generation,
  };
}

describe("the planner records a respawn tmux made from an armed hook", () => {
  const a = witness("a");
  const now = T0 + 10 * MINUTE;

  it("counts the death, counts the restart in both budgets, and starts nothing itself", () => {
    const record = started(a, "ga", T0);
    const obs = firedHook(a, "gb");
    const result = plan({
      now,
      agents: [obs],
      records: new Map([[a.identity, record]]),
      limits: DEFAULT_LIMITS,
    });
    assert.equal(result.actions.length, 1);
    const action = result.actions[0];
    assert.ok(action?.kind === "respawn");
    assert.equal(action.armed, "gb");
    assert.equal(action.killTree, false);
    assert.equal(action.reason, "pane died", "the death's reason, as for a respawn the daemon makes");
    const after = result.records.get(a.identity);
    assert.ok(after !== undefined);
    assert.equal(after.failures, 1, "the death is counted");
    assert.equal(after.deathCounted, "ga");
    assert.deepEqual(after.restartTimes, [now]);
    assert.deepEqual(result.town.spawnTimes, [now]);
    assert.deepEqual(result.town.deaths, [{ at: now, identity: a.identity }]);
  });

  it("a restart asked for in the same pass replaces the armed generation, killing its tree", () => {
    const obs = firedHook(a, "gb");
    const result = plan({
      now,
      agents: [obs],
      records: new Map([[a.identity, started(a, "ga", T0)]]),
      limits: DEFAULT_LIMITS,
      requests: [{ identity: a.identity, kind: "restart", reason: "operator" }],
    });
    const action = result.actions[0];
    assert.ok(action?.kind === "respawn");
    assert.equal(action.armed, undefined, "the daemon starts its own generation");
    assert.equal(action.killTree, true, "the armed generation runs: its tree is killed first");
  });

  it("records it even when deaths it did not answer completed a mass death in the same moment", () => {
    const agents = ["a", "b", "c"].map(witness);
    const records = new Map(
      agents.map((agent) => [agent.identity, started(agent, `g${agent.identity}`, T0)]),
    );
    const observations: AgentObservation[] = agents.map((agent, index) =>
      index === 0
        ? firedHook(agent, "new")
        : {
            desired: agent,
            verdict: "dead",
            verdictReason: "pane died (exit status 1)",
            generation: `g${agent.identity}`,
          },
    );
    const result = plan({ now, agents: observations, records, limits: DEFAULT_LIMITS });
    assert.equal(result.alerts.filter((alert) => alert.kind === "mass_death").length, 1);
    const respawns = result.actions.filter((action) => action.kind === "respawn");
    assert.deepEqual(
      respawns.map((action) => action.identity),
      ["a/witness"],
      "only the one tmux already made; the others wait out the pause",
    );
    assert.match(respawns[0]?.reason ?? "", /before the daemon could hold it \(mass-death/);
    assert.deepEqual(result.town.spawnTimes, [now]);
  });
});
