import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EMPTY_TOWN_STATE, emptyRecord, type AgentRecord } from "../policy/record.js";
import { DEFAULT_LIMITS } from "../town/settings.js";
import { restoreHistory, shiftRecord, shiftTown } from "./persisted-times.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const NOW = Date.UTC(2026, 0, 1);

describe("restoreHistory", () => {
  it("leaves plausible times alone", () => {
    const record: AgentRecord = {
      ...emptyRecord("deacon", "hq-deacon"),
      startedAt: NOW - HOUR,
      nextAttemptAt: NOW + MINUTE,
    };
    const town = { ...EMPTY_TOWN_STATE, massDeathUntil: NOW - MINUTE, spawnTimes: [NOW - MINUTE] };
    const restored = restoreHistory(new Map([["deacon", record]]), town, NOW, DEFAULT_LIMITS);
    assert.deepEqual(restored.records.get("deacon"), record);
    assert.deepEqual(restored.town, town);
    assert.equal(restored.note, null);
  });

  it("holds every deadline to its policy maximum and every past event to now", () => {
    const looping: AgentRecord = {
      ...emptyRecord("r1/witness", "gt-r1-witness"),
      crashLoopSince: NOW + HOUR,
      nextAttemptAt: NOW + 3 * HOUR,
      restartTimes: [NOW - MINUTE, NOW + HOUR],
    };
    const town = {
      spawnTimes: [NOW + 2 * HOUR],
      budgetExhaustedSince: NOW + HOUR,
      deaths: [{ at: NOW + HOUR, identity: "r1/witness" }],
      massDeathUntil: NOW + 2 * HOUR,
    };
    const restored = restoreHistory(new Map([["r1/witness", looping]]), town, NOW, DEFAULT_LIMITS);
    const record = restored.records.get("r1/witness");
    assert.ok(record !== undefined);
    assert.equal(record.nextAttemptAt, NOW + DEFAULT_LIMITS.crashLoop.retryMs, "a crash loop's retry");
    assert.equal(record.crashLoopSince, NOW);
    assert.deepEqual(record.restartTimes, [NOW - MINUTE, NOW]);
    assert.deepEqual(restored.town, {
      spawnTimes: [NOW],
      budgetExhaustedSince: NOW,
      deaths: [{ at: NOW, identity: "r1/witness" }],
      massDeathUntil: NOW + DEFAULT_LIMITS.massDeath.cooldownMs,
    });
    assert.match(restored.note ?? "", /^7 time\(s\) up to 3h0m0s in the future/);
    assert.match(restored.note ?? "", /mass_death_until now in 2m0s/);
  });
});

describe("shiftRecord and shiftTown", () => {
  it("move every time and back", () => {
    const record: AgentRecord = {
      ...emptyRecord("deacon", "hq-deacon"),
      startedAt: NOW,
      lastDeathAt: NOW,
      nextAttemptAt: NOW,
      zombieSince: NOW,
      restartTimes: [NOW],
      crashLoopSince: NOW,
      staleNudgedFor: NOW,
      failedToStart: { cause: "c", fix: "f", line: null, since: NOW },
      requestTimes: [NOW],
    };
    const moved = shiftRecord(record, HOUR);
    const times = [
      "startedAt",
      "lastDeathAt",
      "nextAttemptAt",
      "zombieSince",
      "crashLoopSince",
      "staleNudgedFor",
    ];
    for (const key of times) assert.equal(moved[key as keyof AgentRecord], NOW + HOUR, key);
    assert.deepEqual(moved.requestTimes, [NOW + HOUR]);
    assert.deepEqual(moved.restartTimes, [NOW + HOUR]);
    assert.equal(moved.failedToStart?.since, NOW + HOUR);
    assert.deepEqual(shiftRecord(moved, -HOUR), record);
    const town = { spawnTimes: [NOW], budgetExhaustedSince: NOW, deaths: [], massDeathUntil: null };
    assert.deepEqual(shiftTown(shiftTown(town, -HOUR), HOUR), town);
  });
});
