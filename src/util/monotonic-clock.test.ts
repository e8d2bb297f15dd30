import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clockSkew, daemonClock, monotonicClock } from "./monotonic-clock.js";

describe("monotonicClock", () => {
  it("starts at the wall clock and then moves only with elapsed time", () => {
    let elapsed = 50;
    let step = 0;
    const wall = (): number => 1_000_000 - 50 + elapsed + step;
    const clock = monotonicClock(wall, () => elapsed);
    assert.equal(clock.now(), 1_000_000);
    elapsed += 10;
    step -= 2 * 3_600_000;
    assert.equal(clock.now(), 1_000_010, "a wall clock set back moves no daemon time");
    assert.equal(clockSkew(clock), 2 * 3_600_000);
    step += 3 * 3_600_000;
    assert.equal(clock.now(), 1_000_010, "nor does one set forward");
    assert.equal(clock.wall(), 1_000_010 + 3_600_000);
  });

  it("the process clock agrees with the wall clock when nothing was stepped", () => {
    assert.ok(Math.abs(clockSkew(daemonClock)) < 1000);
  });
});
