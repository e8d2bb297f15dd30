import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { StatusChangeTracker, type AgentFacts } from "./status-changes.js";

const T0 = Date.parse("2026-11-24T12:00:00.000Z");
const at = (s: number): string => new Date(T0 + s * 1000).toISOString();

function deacon(facts: Partial<AgentFacts>): AgentFacts {
  return {
    identity: "deacon",
    role: "deacon",
    state: "running",
    generation: "g1",
    started_at: at(0),
    last_death_at: null,
    restarts_auto: 0,
    restarts_manual: 0,
    ...facts,
  };
}

describe("StatusChangeTracker", () => {
  it("takes the first look as a baseline: an earlier daemon's deaths and restarts are not counted again", () => {
    const tracker = new StatusChangeTracker();
    const changes = tracker.observe(
      [deacon({ last_death_at: at(-60), restarts_auto: 4, restarts_manual: 2 })],
      T0 + 10_000,
    );
    assert.deepEqual(changes, { deaths: [], restarts: [], respawnSeconds: [], readySeconds: [] });
  });

  it("follows a death, the respawn that replaced it, and the new generation becoming ready", () => {
    const tracker = new StatusChangeTracker();
    tracker.observe([deacon({})], T0 + 5000);
    const died = tracker.observe([deacon({ state: "backoff", last_death_at: at(60) })], T0 + 60_100);
    assert.deepEqual(died.deaths, [{ role: "deacon" }]);
    assert.deepEqual(died.respawnSeconds, []);
    const respawned = tracker.observe(
      [
        deacon({
          state: "starting",
          generation: "g2",
          started_at: at(90),
          last_death_at: at(60),
          restarts_auto: 1,
        }),
      ],
      T0 + 90_000,
    );
    assert.deepEqual(respawned.deaths, [], "the same death is not counted twice");
    assert.deepEqual(respawned.restarts, [{ role: "deacon", kind: "auto", count: 1 }]);
    assert.deepEqual(respawned.respawnSeconds, [{ role: "deacon", seconds: 30 }]);
    assert.deepEqual(respawned.readySeconds, [], "still starting");
    const ready = tracker.observe(
      [deacon({ generation: "g2", started_at: at(90), last_death_at: at(60), restarts_auto: 1 })],
      T0 + 93_500,
    );
    assert.deepEqual(ready.readySeconds, [{ role: "deacon", seconds: 3.5 }]);
    const again = tracker.observe(
      [deacon({ generation: "g2", started_at: at(90), last_death_at: at(60), restarts_auto: 1 })],
      T0 + 200_000,
    );
    assert.deepEqual(again.readySeconds, [], "a generation is ready once");
  });

  it("times no respawn for a manual restart of a live agent, and counts it as manual", () => {
    const tracker = new StatusChangeTracker();
    tracker.observe([deacon({ last_death_at: at(-100) })], T0);
    const restarted = tracker.observe(
      [deacon({ generation: "g2", started_at: at(50), last_death_at: at(-100), restarts_manual: 1 })],
      T0 + 50_000,
    );
    assert.deepEqual(restarted.restarts, [{ role: "deacon", kind: "manual", count: 1 }]);
    assert.deepEqual(restarted.respawnSeconds, [], "the last death was before the previous start");
    assert.deepEqual(restarted.deaths, []);
    assert.deepEqual(restarted.readySeconds, [{ role: "deacon", seconds: 0 }]);
  });

  it("forgets agents that are gone, and takes them as new when they come back", () => {
    const tracker = new StatusChangeTracker();
    tracker.observe([deacon({})], T0);
    tracker.observe([], T0 + 1000);
    const back = tracker.observe([deacon({ last_death_at: at(2), restarts_auto: 3 })], T0 + 3000);
    assert.deepEqual(back.deaths, []);
    assert.deepEqual(back.restarts, []);
  });
});
