import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, it } from "node:test";
import { ActivityGate, readRunCount } from "./server-activity.js";

/** A gate over a run count the test sets. */
function fakeServer(): { gate: ActivityGate; runs: (n: number) => void; vanish: () => void } {
  let count: number | undefined = 100;
  return {
    gate: new ActivityGate(() => count),
    runs: (n) => {
      count = (count ?? 0) + n;
    },
    vanish: () => {
      count = undefined;
    },
  };
}

describe("ActivityGate", () => {
  it("is active at the first look, then quiet while the server does not run", () => {
    const { gate } = fakeServer();
    assert.equal(gate.check(7), "active");
    assert.equal(gate.check(7), "quiet");
    assert.equal(gate.check(7), "quiet");
  });

  it("is active once the server ran, and only for that look", () => {
    const { gate, runs } = fakeServer();
    gate.check(7);
    runs(1);
    assert.equal(gate.check(7), "active");
    assert.equal(gate.check(7), "quiet");
  });

  it("does not count the wake-ups of our own kicks, but counts any beyond them", () => {
    const { gate, runs } = fakeServer();
    gate.check(7);
    gate.expect(1);
    runs(1);
    assert.equal(gate.check(7), "quiet", "our kick alone");
    gate.expect(1);
    runs(3);
    assert.equal(gate.check(7), "active", "our kick and something else");
    gate.expect(1);
    assert.equal(gate.check(7), "quiet", "a kick the server slept through is no activity");
    runs(1);
    assert.equal(gate.check(7), "active", "an expected kick is forgotten once looked at");
  });

  it("does not count our own command: quiet while it settles, then a new baseline", () => {
    const { gate, runs } = fakeServer();
    gate.check(7);
    gate.settle();
    runs(5);
    assert.equal(gate.check(7), "quiet");
    runs(2);
    gate.rebase();
    assert.equal(gate.check(7), "quiet");
    runs(1);
    assert.equal(gate.check(7), "active");
  });

  it("is active for a new server pid, and unknown when the count cannot be read", () => {
    const { gate, vanish } = fakeServer();
    gate.check(7);
    assert.equal(gate.check(8), "active", "a restarted server");
    vanish();
    assert.equal(gate.check(8), "unknown");
    assert.equal(gate.check(8), "unknown");
  });
});

describe("readRunCount", () => {
  it("stays put while a process sleeps and grows while it runs", async () => {
    const sleeper = spawn("sleep", ["1000"], { stdio: "ignore" });
    const busy = spawn(process.execPath, ["-e", "setInterval(() => {}, 5)"], { stdio: "ignore" });
    try {
      const sleeping = sleeper.pid ?? 0;
      const running = busy.pid ?? 0;
      await new Promise((resolve) => setTimeout(resolve, 300));
      const before = [readRunCount(sleeping), readRunCount(running)];
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.ok(
        before.every((count) => Number.isInteger(count)),
        `counts ${JSON.stringify(before)}`,
      );
      assert.equal(readRunCount(sleeping), before[0], "a sleeping process does not run");
      assert.ok((readRunCount(running) ?? 0) > (before[1] ?? 0), "a process woken every 5 ms does");
      assert.equal(readRunCount(999_999_999), undefined);
    } finally {
      sleeper.kill("SIGKILL");
      busy.kill("SIGKILL");
      await Promise.all([once(sleeper, "exit"), once(busy, "exit")]);
    }
  });
});
