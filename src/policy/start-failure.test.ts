import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_LIMITS, DEFAULT_WATCHDOG } from "../town/settings.js";
import type { DesiredAgent } from "./desired.js";
import { plan, type AgentObservation, type Plan } from "./plan.js";
import { EMPTY_TOWN_STATE, emptyRecord, type AgentRecord, type TownPolicyState } from "./record.js";
import { noteSpawned } from "./spawn-result.js";

/** Failed starts and missing commands in the pure planner: configuration problems, not deaths. */

const T0 = Date.UTC(2026, 0, 1);
const SECOND = 1000;
const ROOT_REFUSAL = {
  cause: "claude refuses --dangerously-skip-permissions when run as root",
  fix: 'set "IS_SANDBOX": "1"',
  line: "--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons",
};

function agent(identity: string): DesiredAgent {
  const rig = identity.includes("/") ? identity.split("/")[0] : undefined;
  return {
    id: rig === undefined ? { role: "deacon" } : { role: "witness", rig },
    identity,
    session: `s-${identity.replace("/", "-")}`,
    wanted: true,
    held: null,
    heldReason: "",
  };
}

/** A town of agents that each run generation `g1`, started at T0. */
class Town {
  records = new Map<string, AgentRecord>();
  town: TownPolicyState = EMPTY_TOWN_STATE;
  readonly agents: DesiredAgent[];
  constructor(identities: string[]) {
    this.agents = identities.map(agent);
    for (const a of this.agents) {
      this.records.set(
        a.identity,
        noteSpawned(emptyRecord(a.identity, a.session), {
          generation: "g1",
          at: T0,
          reason: "first start",
          manual: false,
        }),
      );
    }
  }

  pass(at: number, observe: (desired: DesiredAgent) => Partial<AgentObservation>): Plan {
    const agents = this.agents.map((desired) => ({
      desired,
      verdict: "dead" as const,
      verdictReason: "pane died (exit status 1)",
      generation: this.records.get(desired.identity)?.generation ?? null,
      ...observe(desired),
    }));
    const result = plan({
      now: T0 + at,
      agents,
      records: this.records,
      town: this.town,
      limits: DEFAULT_LIMITS,
    });
    this.records = new Map(result.records);
    this.town = result.town;
    return result;
  }
}

describe("failed starts", () => {
  it("three agents refusing to start at once are one alert each, never a mass death, and wait the retry period", () => {
    const town = new Town(["deacon", "r1/witness", "r1/refinery"]);
    const first = town.pass(SECOND, () => ({ startFailure: ROOT_REFUSAL }));
    assert.deepEqual(
      first.alerts.map((a) => a.kind),
      ["failed_to_start", "failed_to_start", "failed_to_start"],
    );
    assert.match(first.alerts[0]?.message ?? "", /IS_SANDBOX.*'townd reset deacon' retries now/);
    assert.deepEqual(first.actions, [], "no respawn");
    assert.deepEqual(town.town.deaths, [], "not counted toward mass death");
    for (const decision of first.decisions) {
      assert.equal(decision.holdBy, "failed-to-start");
      assert.equal(decision.until, T0 + SECOND + DEFAULT_LIMITS.crashLoop.retryMs);
    }
    const record = town.records.get("deacon");
    assert.equal(record?.failures, 0, "the failure streak is not extended");
    assert.equal(record.failedToStart?.cause, ROOT_REFUSAL.cause);

    const again = town.pass(30 * SECOND, () => ({ startFailure: ROOT_REFUSAL }));
    assert.deepEqual(again.alerts, [], "one alert per episode");
    assert.deepEqual(again.actions, []);
  });

  it("retries at the crash-loop cadence, and a reset retries at once", () => {
    const town = new Town(["deacon"]);
    town.pass(SECOND, () => ({ startFailure: ROOT_REFUSAL }));
    const retry = town.pass(SECOND + DEFAULT_LIMITS.crashLoop.retryMs, () => ({
      startFailure: ROOT_REFUSAL,
    }));
    assert.deepEqual(
      retry.actions.map((a) => a.kind),
      ["respawn"],
    );
    const reset = plan({
      now: T0 + 2 * SECOND,
      agents: [
        {
          desired: agent("deacon"),
          verdict: "dead",
          verdictReason: "pane died (exit status 1)",
          generation: "g1",
        },
      ],
      records: new Town(["deacon"]).records,
      town: EMPTY_TOWN_STATE,
      limits: DEFAULT_LIMITS,
      requests: [{ identity: "deacon", kind: "reset", reason: "townd reset" }],
    });
    assert.equal(reset.records.get("deacon")?.failedToStart, null);
  });

  it("a command that is missing is never spawned, with one alert", () => {
    const town = new Town(["deacon"]);
    const unavailable = {
      cause: 'the command "claude" is not on the daemon\'s PATH',
      fix: "install it",
      line: null,
    };
    const first = town.pass(SECOND, () => ({ verdict: "missing", unavailable }));
    assert.deepEqual(first.actions, []);
    assert.deepEqual(
      first.alerts.map((a) => a.kind),
      ["failed_to_start"],
    );
    assert.equal(first.decisions[0]?.holdBy, "failed-to-start");
    const second = town.pass(5 * SECOND, () => ({ verdict: "missing", unavailable }));
    assert.deepEqual([second.actions, second.alerts], [[], []]);
    // Installed: the next pass spawns.
    const fixed = town.pass(10 * SECOND, () => ({ verdict: "missing" }));
    assert.deepEqual(
      fixed.actions.map((a) => a.kind),
      ["spawn"],
    );
  });

  it("an ordinary early crash is still a death (mass death counts it)", () => {
    const town = new Town(["deacon", "r1/witness", "r1/refinery"]);
    const result = town.pass(SECOND, () => ({}));
    assert.deepEqual(
      result.alerts.map((a) => a.kind),
      ["mass_death"],
    );
  });
});

describe("heartbeat watchdog without any heartbeat file", () => {
  it("never judges an agent whose heartbeat file has never existed; judges it once one did", () => {
    const town = new Town(["deacon"]);
    const watchdog = { ...DEFAULT_WATCHDOG, graceMs: 10 * SECOND };
    const quiet = town.pass(60 * 60 * SECOND, () => ({
      verdict: "alive",
      generation: "g1",
      watchdog,
      heartbeatAt: null,
    }));
    assert.deepEqual(quiet.actions, []);
    assert.match(quiet.decisions[0]?.reason ?? "", /no heartbeat yet/);
    // One heartbeat, long ago: from now on the tiers apply (very stale → restart).
    const stale = town.pass(61 * 60 * SECOND, () => ({
      verdict: "alive",
      generation: "g1",
      watchdog,
      heartbeatAt: T0 + 1000,
    }));
    assert.deepEqual(
      stale.actions.map((a) => a.kind),
      ["respawn"],
    );
    assert.equal(town.records.get("deacon")?.heartbeatSeen, true);
  });
});
