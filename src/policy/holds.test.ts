import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { recordToStatus, statusToRecord } from "../supervisor/agents-file.js";
import { DEFAULT_LIMITS } from "../town/settings.js";
import type { DesiredAgent } from "./desired.js";
import { planWithHolds, type HoldsInput } from "./holds.js";
import type { ManualRequest, Plan, Verdict } from "./plan.js";
import { EMPTY_TOWN_STATE, emptyRecord, type AgentRecord, type TownPolicyState } from "./record.js";
import { noteSpawned } from "./spawn-result.js";

/**
 * Operator holds (`townd stop-agent`/`start-agent`, `townd down`/`up`) around the pure planner, on a fake
 * clock. A small town plays the executor: a kill removes the session, a spawn starts a new generation.
 */

const T0 = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;
/** Two deaths make a mass death here, so a town stop that counted its kills as deaths would show at once. */
const LIMITS = { ...DEFAULT_LIMITS, massDeath: { ...DEFAULT_LIMITS.massDeath, count: 2 } };

function desired(identity: string, session: string, role: "deacon" | "witness" | "refinery"): DesiredAgent {
  const id = role === "deacon" ? { role } : { role, rig: "r1" };
  return { id, identity, session, wanted: true, held: null, heldReason: "" };
}

const AGENTS = [
  desired("deacon", "hq-deacon", "deacon"),
  desired("r1/witness", "gt-r1-witness", "witness"),
  desired("r1/refinery", "gt-r1-refinery", "refinery"),
];

class Town {
  readonly agents: readonly DesiredAgent[];
  constructor(agents: readonly DesiredAgent[] = AGENTS) {
    this.agents = agents;
  }
  records = new Map<string, AgentRecord>();
  town: TownPolicyState = EMPTY_TOWN_STATE;
  /** What each session runs: a generation alive, dead, or nothing. */
  readonly sessions = new Map<string, { generation: string; dead: boolean }>();
  private spawned = 0;
  at = 0;

  record(identity: string): AgentRecord {
    return this.records.get(identity) ?? emptyRecord(identity, identity);
  }

  verdict(identity: string): Verdict {
    const session = this.sessions.get(identity);
    return session === undefined ? "missing" : session.dead ? "dead" : "alive";
  }

  die(identity: string): void {
    const session = this.sessions.get(identity);
    if (session !== undefined) session.dead = true;
  }

  pass(extra: Partial<HoldsInput> = {}, advanceMs = 10_000): Plan {
    this.at += advanceMs;
    const now = T0 + this.at;
    const result = planWithHolds({
      now,
      agents: this.agents.map((agent) => ({
        desired: agent,
        verdict: this.verdict(agent.identity),
        verdictReason: this.verdict(agent.identity) === "dead" ? "pane died (exit status 1)" : "",
        generation: this.sessions.get(agent.identity)?.generation ?? null,
      })),
      records: this.records,
      town: this.town,
      limits: LIMITS,
      ...extra,
    });
    this.records = new Map(result.records);
    this.town = result.town;
    for (const action of result.actions) {
      if (action.kind === "kill") this.sessions.delete(action.identity);
      if (action.kind !== "spawn" && action.kind !== "respawn") continue;
      const generation = `g${++this.spawned}`;
      this.sessions.set(action.identity, { generation, dead: false });
      this.records.set(
        action.identity,
        noteSpawned(this.record(action.identity), {
          generation,
          at: now,
          reason: action.reason,
          manual: action.manual,
        }),
      );
    }
    return result;
  }

  /** A town whose three agents have started and run. */
  static running(): Town {
    const town = new Town();
    town.pass();
    town.pass();
    assert.deepEqual(
      AGENTS.map((a) => town.verdict(a.identity)),
      ["alive", "alive", "alive"],
    );
    return town;
  }
}

const request = (identity: string, kind: ManualRequest["kind"], requestId?: string): ManualRequest => ({
  identity,
  kind,
  reason: `townd ${kind}`,
  requestId,
});

function kinds(result: Plan): string[] {
  return result.actions.map((a) => `${a.kind} ${a.identity}`);
}

describe("townd stop-agent / start-agent: an operator's hold", () => {
  it("kills the agent's session once; its end is no death, and nothing starts it for hours", () => {
    const town = Town.running();
    const before = town.record("r1/witness");
    const stop = town.pass({ requests: [request("r1/witness", "stop", "op-1")] });
    assert.deepEqual(kinds(stop), ["kill r1/witness"]);
    const answered = stop.decisions.find((d) => d.requestId === "op-1");
    assert.equal(answered?.reason, "stop: townd stop");
    const held = town.record("r1/witness");
    assert.equal(held.operatorHold, "operator");
    assert.equal(held.deathCounted, before.generation, "the killed generation's end is counted as done");
    for (let i = 0; i < 40; i++) {
      const result = town.pass({}, 5 * MINUTE);
      assert.deepEqual(kinds(result), [], `nothing acts on it, pass ${i}`);
      const decision = result.decisions.find((d) => d.identity === "r1/witness");
      assert.equal(decision?.holdBy, "operator");
      assert.equal(decision.reason, "stopped by the operator; 'townd start-agent r1/witness' starts it");
    }
    const after = town.record("r1/witness");
    assert.equal(after.failures, 0, "no death counted");
    assert.equal(after.lastDeathAt, null);
    assert.equal(after.nextAttemptAt, null, "no backoff");
    assert.deepEqual(after.restartTimes, [], "nothing toward a crash loop");
    assert.deepEqual(town.town.deaths, [], "nothing toward a mass death");
  });

  it("no lifecycle request, `townd restart` or reset starts a held agent; each is answered", () => {
    const town = Town.running();
    town.pass({ requests: [request("r1/witness", "stop")] });
    const result = town.pass({
      requests: [
        request("r1/witness", "cycle", "msg-1"),
        request("r1/witness", "restart", "msg-2"),
        request("r1/witness", "reset", "op-3"),
      ],
    });
    assert.deepEqual(kinds(result), []);
    const reasons = result.decisions.filter((d) => d.requested === true).map((d) => [d.requestId, d.reason]);
    const why = "stopped by the operator; 'townd start-agent r1/witness' starts it";
    assert.deepEqual(reasons, [
      ["msg-1", `cycle not done: ${why}`],
      ["msg-2", `restart not done: ${why}`],
      ["op-3", "reset: townd reset"],
    ]);
    assert.equal(town.record("r1/witness").operatorHold, "operator");
  });

  it("`start-agent` lifts the hold: a manual start of a new generation, still no death counted", () => {
    const town = Town.running();
    town.pass({ requests: [request("r1/witness", "stop")] });
    town.pass({}, 30 * MINUTE);
    const start = town.pass({ requests: [request("r1/witness", "start", "op-2")] });
    assert.deepEqual(kinds(start), ["spawn r1/witness"]);
    assert.equal(start.actions[0]?.kind === "spawn" && start.actions[0].manual, true);
    const record = town.record("r1/witness");
    assert.equal(record.operatorHold, null);
    assert.equal(record.failures, 0);
    assert.equal(record.manualRestarts, 1, "counted as a manual start");
    assert.equal(record.autoRestarts, 0);
    assert.deepEqual(town.town.deaths, []);
    assert.deepEqual(kinds(town.pass()), [], "and it stays up");
  });

  it("other agents are planned as before: one dying meanwhile is restarted by the policy", () => {
    const town = Town.running();
    town.pass({ requests: [request("r1/witness", "stop")] });
    town.die("deacon");
    const result = town.pass();
    assert.deepEqual(kinds(result), ["respawn deacon"]);
    assert.equal(town.record("deacon").failures, 1, "a real death is counted");
  });

  it("the hold survives a daemon restart: daemon/agents.json keeps it as held_by", () => {
    const town = Town.running();
    town.pass({ requests: [request("r1/witness", "stop")] });
    const record = town.record("r1/witness");
    const status = recordToStatus(record, { role: "witness", rig: "r1", state: "stopped", pid: null });
    assert.equal(status.held_by, "operator");
    assert.equal(status.held_until, null);
    assert.deepEqual(statusToRecord(status), record);
    // A new daemon's planner, from the file alone: still held.
    town.records = new Map([...town.records].map(([k, r]) => [k, statusToRecord(statusOf(r))]));
    assert.deepEqual(kinds(town.pass({}, 60 * MINUTE)), []);
  });
});

function statusOf(record: AgentRecord): ReturnType<typeof recordToStatus> {
  return recordToStatus(record, { role: "x", rig: null, state: "running", pid: null });
}

const STOPPED = "the town was stopped by 'townd down' at 2026-01-01T00:00:00.000Z";

describe("townd down / up: the town's hold", () => {
  it("down kills every session at once without a mass death; every agent stays down", () => {
    const town = Town.running();
    const down = town.pass({ townStopped: STOPPED });
    assert.deepEqual(kinds(down), ["kill deacon", "kill r1/witness", "kill r1/refinery"]);
    for (let i = 0; i < 10; i++) {
      const result = town.pass({ townStopped: STOPPED }, 10 * MINUTE);
      assert.deepEqual(kinds(result), []);
      assert.deepEqual(result.alerts, [], "no mass death, no alert of any kind");
      assert.equal(result.decisions[0]?.reason, `${STOPPED}; 'townd up' starts it`);
    }
    for (const agent of AGENTS) {
      assert.equal(town.record(agent.identity).operatorHold, "town-stopped");
      assert.equal(town.record(agent.identity).failures, 0);
    }
  });

  it("start-agent is refused while the town is stopped, naming `townd up`", () => {
    const town = Town.running();
    town.pass({ townStopped: STOPPED });
    const result = town.pass({ townStopped: STOPPED, requests: [request("deacon", "start", "op-1")] });
    assert.deepEqual(kinds(result), []);
    assert.equal(
      result.decisions.find((d) => d.requestId === "op-1")?.reason,
      `start not done: ${STOPPED}; 'townd up' starts it`,
    );
  });

  it("up starts what the town's stop held; an agent stopped on its own (stop-agent, shutdown) stays down", () => {
    const town = Town.running();
    town.pass({ requests: [request("r1/witness", "stop")] });
    town.pass({ requests: [request("r1/refinery", "shutdown")] });
    town.pass({ townStopped: STOPPED });
    assert.deepEqual([...town.sessions.keys()], []);
    const up = town.pass({ townStart: true });
    assert.deepEqual(kinds(up), ["spawn deacon"]);
    assert.equal(town.record("deacon").operatorHold, null);
    assert.equal(town.record("r1/witness").operatorHold, "operator", "stop-agent outlives down and up");
    assert.equal(town.record("r1/refinery").operatorHold, null);
    assert.match(town.record("r1/refinery").stoppedReason ?? "", /^shutdown requested/);
    assert.deepEqual(kinds(town.pass()), [], "nothing else starts later");
    assert.deepEqual(town.town.deaths, []);
  });

  it("a daemon that never saw the town stopped (down without a daemon) counts no deaths on up either", () => {
    const town = Town.running();
    // `townd down` with no daemon running kills the sessions itself: the records know nothing of it.
    town.sessions.clear();
    const up = town.pass({ townStopped: STOPPED, townStart: true });
    assert.deepEqual(kinds(up), ["spawn deacon", "spawn r1/witness", "spawn r1/refinery"]);
    assert.deepEqual(up.alerts, []);
    for (const agent of AGENTS) {
      assert.equal(town.record(agent.identity).failures, 0, `${agent.identity}: no death`);
      assert.equal(town.record(agent.identity).manualRestarts, 1);
    }
  });

  it("stop-agent during a town stop makes the hold the agent's own", () => {
    const town = Town.running();
    town.pass({ townStopped: STOPPED });
    town.pass({ townStopped: STOPPED, requests: [request("deacon", "stop")] });
    assert.equal(town.record("deacon").operatorHold, "operator");
    assert.deepEqual(kinds(town.pass({ townStart: true })), ["spawn r1/witness", "spawn r1/refinery"]);
  });

  it("a town hold whose intent file is gone is lifted by start-agent, one agent at a time", () => {
    const town = Town.running();
    town.pass({ townStopped: STOPPED });
    assert.deepEqual(kinds(town.pass()), [], "no file, still held by the records");
    assert.deepEqual(kinds(town.pass({ requests: [request("deacon", "start")] })), ["spawn deacon"]);
    assert.equal(town.record("r1/witness").operatorHold, "town-stopped");
  });
});

describe("holds and Boot, the Deacon's triage dog", () => {
  const boot: DesiredAgent = {
    id: { role: "boot" },
    identity: "boot",
    session: "hq-boot",
    wanted: true,
    held: null,
    heldReason: "",
  };
  const deacon = AGENTS[0] as DesiredAgent;

  it("Boot does not triage a Deacon the operator stopped; `up` leaves Boot to its own schedule", () => {
    const town = new Town([deacon, boot]);
    town.pass();
    town.pass({ requests: [request("deacon", "stop")] });
    town.sessions.delete("boot"); // Boot's run ends, as it does, by itself.
    const result = town.pass({}, 10 * MINUTE);
    assert.deepEqual(kinds(result), [], "no Boot run for a Deacon held down");
    assert.equal(
      result.decisions.find((d) => d.identity === "boot")?.reason,
      "no triage: the Deacon is stopped by the operator",
    );
    town.pass({ requests: [request("deacon", "start")] });
    town.pass({ townStopped: STOPPED });
    const up = town.pass({ townStart: true });
    assert.ok(kinds(up).includes("spawn deacon"));
    assert.ok(!kinds(up).includes("spawn boot"), "up starts no Boot run of its own");
  });
});
