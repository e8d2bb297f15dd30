import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { confirmReading, type Confirmation, type Glimpse } from "./confirm.js";
import type { ActivityReading } from "./state.js";

const idle: ActivityReading = { state: "idle", source: "screen", detail: "the empty input line" };
const working: ActivityReading = { state: "working", source: "screen", detail: "✶ Pondering… (3s)" };

/** Feeds readings taken at the given times, in order; returns each step's confirmation. */
function run(steps: readonly (readonly [number, ActivityReading | null])[], gap?: number): Confirmation[] {
  let pending: Glimpse | null = null;
  return steps.map(([at, reading]) => {
    const step = confirmReading(pending, reading, at, gap);
    pending = step.pending;
    return step;
  });
}

const states = (steps: Confirmation[]): (string | null)[] => steps.map((s) => s.confirmed?.state ?? null);

describe("confirmReading", () => {
  it("never confirms a single glimpse", () => {
    assert.deepEqual(states(run([[1000, idle]])), [null]);
  });

  it("confirms a state seen twice at least 400 ms apart, and keeps confirming it", () => {
    assert.deepEqual(
      states(
        run([
          [1000, idle],
          [1400, idle],
          [1800, idle],
        ]),
      ),
      [null, "idle", "idle"],
    );
  });

  it("counts from the first reading of the run: too close, then far enough", () => {
    assert.deepEqual(
      states(
        run([
          [1000, idle],
          [1399, idle],
          [1450, idle],
        ]),
      ),
      [null, null, "idle"],
    );
  });

  it("does not act on a prompt that flashes between tool calls", () => {
    const steps = run([
      [1000, working],
      [1400, working],
      [1800, idle],
      [2200, working],
      [2600, idle],
      [3000, working],
    ]);
    assert.deepEqual(states(steps), [null, "working", null, null, null, null]);
  });

  it("starts again after a reading that says nothing", () => {
    assert.deepEqual(
      states(
        run([
          [1000, idle],
          [1400, null],
          [1800, idle],
          [2300, idle],
        ]),
      ),
      [null, null, null, "idle"],
    );
  });

  it("gives the latest reading of the run: states agree even when details differ", () => {
    const later = { ...working, detail: "✶ Pondering… (4s)" };
    const [, second] = run([
      [1000, working],
      [1500, later],
    ]);
    assert.equal(second?.confirmed, later);
  });

  it("starts again when the clock goes back", () => {
    assert.deepEqual(
      states(
        run([
          [5000, idle],
          [1000, idle],
          [1500, idle],
        ]),
      ),
      [null, null, "idle"],
    );
  });

  it("takes another gap; the same instant twice is never two observations", () => {
    assert.deepEqual(
      states(
        run(
          [
            [1000, idle],
            [1100, idle],
          ],
          100,
        ),
      ),
      [null, "idle"],
    );
    assert.deepEqual(
      states(
        run(
          [
            [1000, idle],
            [1000, idle],
          ],
          0,
        ),
      ),
      [null, null],
    );
  });
});
