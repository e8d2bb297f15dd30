import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { monotonicClock } from "../util/monotonic-clock.js";
import { HeartbeatTimes } from "./heartbeat-times.js";

const T0 = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;

function setup(): { times: HeartbeatTimes; advance: (ms: number) => void; step: (ms: number) => void } {
  let elapsed = 0;
  let step = 0;
  const clock = monotonicClock(
    () => T0 + elapsed + step,
    () => elapsed,
  );
  return {
    times: new HeartbeatTimes(clock),
    advance: (ms) => (elapsed += ms),
    step: (ms) => (step += ms),
  };
}

describe("HeartbeatTimes", () => {
  it("a beat on disk before the daemon's first read keeps its own time, never one in the future", () => {
    const { times } = setup();
    assert.equal(times.observe("a", { at: T0 - 3 * MINUTE, key: "1" }), T0 - 3 * MINUTE);
    assert.equal(times.observe("b", { at: T0 + 60 * MINUTE, key: "1" }), T0);
  });

  it("a beat keeps the time it was first given while it stays the same", () => {
    const { times, advance, step } = setup();
    assert.equal(times.observe("f", { at: T0, key: "1" }), T0);
    advance(MINUTE);
    step(-120 * MINUTE);
    assert.equal(times.observe("f", { at: T0, key: "1" }), T0);
  });

  it("a beat written before a step forward is no older than the daemon's previous read", () => {
    const { times, advance, step } = setup();
    times.observe("f", { at: T0, key: "1" });
    advance(25_000);
    const beatAt = T0 + 25_000;
    advance(5000);
    step(25 * MINUTE);
    // Its stamp says 25 min before the read; it cannot be older than the read at T0 that did not see it.
    assert.equal(times.observe("f", { at: beatAt, key: "2" }), T0);
  });

  it("a beat written after a step is timed by the current skew", () => {
    const { times, advance, step } = setup();
    times.observe("f", { at: T0, key: "1" });
    advance(MINUTE);
    step(25 * MINUTE);
    advance(MINUTE);
    // Written 10 s ago by the stepped wall clock.
    const writtenAt = T0 + 2 * MINUTE + 25 * MINUTE - 10_000;
    assert.equal(times.observe("f", { at: writtenAt, key: "2" }), T0 + 2 * MINUTE - 10_000);
  });

  it("a file that disappears and comes back is timed from the read that found none", () => {
    const { times, advance } = setup();
    assert.equal(times.observe("f", null), null);
    advance(MINUTE);
    assert.equal(times.observe("f", { at: T0 - 60 * MINUTE, key: "1" }), T0);
  });
});
