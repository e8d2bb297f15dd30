import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_LIMITS, DEFAULT_WATCHDOG } from "../town/settings.js";
import type { DesiredAgent } from "./desired.js";
import { plan, type AgentObservation } from "./plan.js";
import { emptyRecord, EMPTY_TOWN_STATE, type AgentRecord } from "./record.js";

/**
 * The planner's side of conduct (src/conduct/): what it does with a stuck rung and a wall, and what the
 * watchdog's own verdict does to an agent whose activity is known (I9).
 */

const T0 = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;

const polecat: DesiredAgent = {
  id: { role: "polecat", rig: "r1", name: "p1" },
  identity: "r1/polecats/p1",
  session: "gt-r1-p1",
  wanted: true,
  held: null,
  heldReason: "",
};

const running: AgentRecord = {
  ...emptyRecord(polecat.identity, polecat.session),
  generation: "g1",
  startedAt: T0,
};

function observe(extra: Partial<AgentObservation>): AgentObservation {
  return {
    desired: polecat,
    verdict: "alive",
    verdictReason: "agent process running",
    generation: "g1",
    ...extra,
  };
}

function once(obs: AgentObservation, now = T0 + 40 * MINUTE, record = running) {
  return plan({
    now,
    agents: [obs],
    records: new Map([[polecat.identity, record]]),
    town: EMPTY_TOWN_STATE,
    limits: DEFAULT_LIMITS,
  });
}

describe("the planner with conduct", () => {
  it("replaces a stuck agent like a hung one, resuming its conversation, counted as an automatic restart", () => {
    const result = once(
      observe({ stuck: { reason: "stuck, rung 3 (resume)", resume: "s-1", resumeFailed: false } }),
    );
    assert.deepEqual(result.actions, [
      {
        kind: "respawn",
        identity: polecat.identity,
        session: polecat.session,
        reason: "stuck, rung 3 (resume)",
        manual: false,
        topic: "patrol",
        requestId: undefined,
        killTree: true,
        resume: "s-1",
      },
    ]);
    assert.equal(result.decisions[0]?.verdict, "hung");
    assert.equal(result.records.get(polecat.identity)?.restartTimes.length, 1);
  });

  it("holds a stuck respawn back by the restart policy like any other", () => {
    const town = { ...EMPTY_TOWN_STATE, massDeathUntil: T0 + 50 * MINUTE };
    const result = plan({
      now: T0 + 40 * MINUTE,
      agents: [observe({ stuck: { reason: "stuck, rung 4", resume: null, resumeFailed: false } })],
      records: new Map([[polecat.identity, running]]),
      town,
      limits: DEFAULT_LIMITS,
    });
    assert.deepEqual(result.actions, []);
    assert.equal(result.decisions[0]?.holdBy, "mass-death");
  });

  it("counts no death for a walled agent's exit and holds its respawn until the wake, then respawns it uncounted", () => {
    const wall = { until: T0 + 60 * MINUTE, reason: "usage limit: back at 15:45" };
    const dead = observe({ verdict: "dead", verdictReason: "pane died (exit status 1)", wall });
    const held = once(dead);
    assert.deepEqual(held.actions, []);
    assert.equal(held.decisions[0]?.holdBy, "usage-limit");
    assert.equal(held.wakeAt, wall.until);
    const record = held.records.get(polecat.identity);
    assert.equal(record?.failures, 0, "no death counted");
    assert.equal(record.lastDeathAt, null);
    assert.deepEqual(held.town.deaths, [], "no mass-death candidate");

    const woken = once(dead, wall.until, record);
    assert.equal(woken.actions[0]?.kind, "respawn");
    assert.deepEqual(woken.records.get(polecat.identity)?.restartTimes, [], "not in the crash-loop window");
    assert.deepEqual(woken.town.spawnTimes, [], "not in the spawn budget");
  });

  it("counts no death for a resume that died at once, and starts fresh now", () => {
    const stuck = { reason: "the resumed conversation died at once", resume: null, resumeFailed: true };
    const result = once(observe({ verdict: "dead", verdictReason: "pane died (exit status 1)", stuck }));
    assert.equal(result.actions[0]?.kind, "respawn");
    assert.equal("resume" in result.actions[0], false);
    assert.equal(result.records.get(polecat.identity)?.failures, 0);
  });

  it("lets the watchdog restart only an agent whose activity cannot be read (I9)", () => {
    const watched = { watchdog: DEFAULT_WATCHDOG, heartbeatAt: T0 + MINUTE, heartbeatFileSeen: true };
    const seen = { ...running, heartbeatSeen: true };
    const verdicts = (["working", "idle", "rate-limited", undefined, "starting"] as const).map((activity) => {
      const result = once(
        observe({ ...watched, ...(activity === undefined ? {} : { activity }) }),
        T0 + 40 * MINUTE,
        seen,
      );
      return `${activity ?? "unreadable"}: ${result.actions[0]?.kind ?? "none"}`;
    });
    assert.deepEqual(verdicts, [
      "working: none",
      "idle: none",
      "rate-limited: none",
      "unreadable: respawn",
      "starting: respawn",
    ]);
  });
});
