import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UsageTracker } from "./usage.js";

const totals = (costUsd: number | null, inputTokens: number | null, outputTokens: number | null) => ({
  costUsd,
  inputTokens,
  outputTokens,
});

describe("UsageTracker", () => {
  it("adds each generation's growth, its first totals whole", () => {
    const usage = new UsageTracker();
    assert.deepEqual(usage.update([{ generation: "g1", role: "deacon", totals: totals(0.5, 1000, 200) }]), [
      { role: "deacon", costUsd: 0.5, inputTokens: 1000, outputTokens: 200 },
    ]);
    assert.deepEqual(usage.update([{ generation: "g1", role: "deacon", totals: totals(0.75, 1500, 200) }]), [
      { role: "deacon", costUsd: 0.25, inputTokens: 500, outputTokens: 0 },
    ]);
    assert.deepEqual(
      usage.update([{ generation: "g1", role: "deacon", totals: totals(0.75, 1500, 200) }]),
      [],
    );
  });

  it("keeps a generation whose statusline cannot be read now, so its totals are not counted twice", () => {
    const usage = new UsageTracker();
    usage.update([{ generation: "g1", role: "deacon", totals: totals(1, 10, 10) }]);
    assert.deepEqual(usage.update([{ generation: "g1", role: "deacon", totals: null }]), []);
    assert.deepEqual(usage.update([{ generation: "g1", role: "deacon", totals: totals(1, 10, 10) }]), []);
  });

  it("counts a total that went down (a new session in the same generation) anew, and ignores absent fields", () => {
    const usage = new UsageTracker();
    usage.update([{ generation: "g1", role: "witness", totals: totals(2, null, null) }]);
    assert.deepEqual(usage.update([{ generation: "g1", role: "witness", totals: totals(0.5, 300, null) }]), [
      { role: "witness", costUsd: 0.5, inputTokens: 300, outputTokens: 0 },
    ]);
  });

  it("forgets generations that no longer run", () => {
    const usage = new UsageTracker();
    usage.update([{ generation: "g1", role: "deacon", totals: totals(1, 1, 1) }]);
    usage.update([{ generation: "g2", role: "deacon", totals: totals(0.1, 1, 1) }]);
    assert.deepEqual(usage.update([{ generation: "g1", role: "deacon", totals: totals(1, 1, 1) }]), [
      { role: "deacon", costUsd: 1, inputTokens: 1, outputTokens: 1 },
    ]);
  });
});
