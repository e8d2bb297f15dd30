import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runSoak } from "../../bench/soak.js";
import { chaosRandom } from "./_helpers.js";

/**
 * Half a minute of bench/soak.ts (the 10-minute soak is not for CI): 8 simulated agents, a fault every ~3 s
 * (kill -9, /sim hang, /sim crash). The soak's own checks must pass: one session per identity, one tmux
 * server, the spawn budget, one daemon, every file parses. Keeps the soak script from rotting, too.
 */

describe("chaos: a 30-second soak", { timeout: 120_000 }, () => {
  it("random kills, hangs and crashes across 8 agents: the invariants hold", async (t) => {
    const { seed } = chaosRandom(0x50a6);
    const lines: string[] = [];
    const result = await runSoak({
      minutes: 0.5,
      agents: 8,
      intervalMs: 3000,
      seed,
      print: (line) => lines.push(line),
    });
    for (const line of lines.slice(-9)) t.diagnostic(line);
    assert.deepEqual(result.problems, [], lines.join("\n"));
    assert.ok(result.faults.kill + result.faults.hang + result.faults.crash >= 5, "faults were injected");
    assert.ok(result.restarts.maxInWindow <= result.restarts.budget);
  });
});
