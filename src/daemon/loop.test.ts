import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { PassLoop } from "./loop.js";

/** PassLoop with real, short timers: assertions are about counts and order, with generous time bounds. */

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface PassRecord {
  reasons: readonly string[];
  start: number;
  end: number;
}

interface Harness {
  loop: PassLoop;
  passes: PassRecord[];
  errors: unknown[];
  controller: AbortController;
  running: Promise<void>;
  /** Most passes ever running at the same time. */
  maxConcurrent(): number;
  waitForPasses(count: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<number>;
}

function harness(options: {
  intervalMs: number | (() => number);
  passMs?: number;
  pass?: (reasons: readonly string[], signal: AbortSignal, index: number) => Promise<void>;
}): Harness {
  const controller = new AbortController();
  const passes: PassRecord[] = [];
  const errors: unknown[] = [];
  let concurrent = 0;
  let maxConcurrent = 0;
  const interval = options.intervalMs;
  const loop = new PassLoop({
    signal: controller.signal,
    intervalMs: typeof interval === "number" ? () => interval : interval,
    onPassError: (error) => errors.push(error),
    pass: async (reasons, signal) => {
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      const record: PassRecord = { reasons: [...reasons], start: Date.now(), end: 0 };
      passes.push(record);
      try {
        if (options.pass !== undefined) await options.pass(reasons, signal, passes.length - 1);
        else if (options.passMs !== undefined) await sleep(options.passMs);
      } finally {
        record.end = Date.now();
        concurrent--;
      }
    },
  });
  const running = loop.run();
  return {
    loop,
    passes,
    errors,
    controller,
    running,
    maxConcurrent: () => maxConcurrent,
    waitForPasses: async (count, timeoutMs = 3000) => {
      const deadline = Date.now() + timeoutMs;
      while (passes.filter((p) => p.end > 0).length < count) {
        if (Date.now() > deadline) throw new Error(`only ${passes.length} passes after ${timeoutMs} ms`);
        await sleep(5);
      }
    },
    stop: async () => {
      const started = Date.now();
      controller.abort(new Error("test over"));
      await running;
      return Date.now() - started;
    },
  };
}

describe("PassLoop", () => {
  it("runs the first pass at once, with reason start", async () => {
    const started = Date.now();
    const h = harness({ intervalMs: 10_000 });
    await h.waitForPasses(1, 1000);
    assert.ok(
      (h.passes[0]?.start ?? Infinity) - started < 100,
      "first pass without waiting for the interval",
    );
    assert.deepEqual(h.passes[0]?.reasons, ["start"]);
    await h.stop();
    assert.equal(h.passes.length, 1);
  });

  it("runs timer passes with reason heartbeat, each interval after the end of the previous pass", async () => {
    const h = harness({ intervalMs: 100, passMs: 150 });
    await h.waitForPasses(3, 3000);
    await h.stop();
    for (let i = 1; i < h.passes.length; i++) {
      const prev = h.passes[i - 1];
      const next = h.passes[i];
      assert.ok(prev !== undefined && next !== undefined);
      assert.deepEqual(next.reasons, ["heartbeat"]);
      // setTimeout may fire a millisecond early by Date.now(); never a whole interval early.
      assert.ok(next.start - prev.end >= 95, `gap ${next.start - prev.end} ms after pass ${i - 1} ended`);
      assert.ok(next.start - prev.start >= 245, "start-to-start is pass time plus interval");
    }
  });

  it("never overlaps passes, and folds triggers during a pass into exactly one following pass", async () => {
    let release: () => void = () => undefined;
    const h = harness({
      intervalMs: 10_000,
      pass: async (_reasons, _signal, index) => {
        if (index === 0) await new Promise<void>((resolve) => (release = resolve));
      },
    });
    await sleep(30);
    assert.equal(h.passes.length, 1, "the first pass is still running");
    h.loop.trigger("pane died");
    h.loop.trigger("lifecycle signal");
    h.loop.trigger("pane died");
    await sleep(50);
    assert.equal(h.passes.length, 1, "no pass starts while one runs");
    release();
    await h.waitForPasses(2, 1000);
    await sleep(100);
    assert.equal(h.passes.length, 2, "three triggers → one pass");
    assert.deepEqual(h.passes[1]?.reasons, ["pane died", "lifecycle signal"], "deduplicated, in order");
    assert.equal(h.maxConcurrent(), 1);
    await h.stop();
  });

  it("a trigger while waiting starts a pass at once", async () => {
    const h = harness({ intervalMs: 10_000 });
    await h.waitForPasses(1);
    const asked = Date.now();
    h.loop.trigger("config changed");
    await h.waitForPasses(2, 1000);
    assert.ok((h.passes[1]?.start ?? Infinity) - asked < 100);
    assert.deepEqual(h.passes[1]?.reasons, ["config changed"]);
    await h.stop();
  });

  it("a trigger before run() has started its first pass is served right after it", async () => {
    const controller = new AbortController();
    const reasons: string[][] = [];
    const loop = new PassLoop({
      signal: controller.signal,
      intervalMs: () => 10_000,
      onPassError: () => undefined,
      pass: (r) => {
        reasons.push([...r]);
        return Promise.resolve();
      },
    });
    loop.trigger("early");
    const running = loop.run();
    const deadline = Date.now() + 1000;
    while (reasons.length < 2 && Date.now() < deadline) await sleep(5);
    controller.abort();
    await running;
    assert.deepEqual(reasons, [["start"], ["early"]]);
  });

  it("many triggers under load still never overlap passes", async () => {
    const h = harness({ intervalMs: 20, passMs: 15 });
    const timer = setInterval(() => {
      h.loop.trigger("burst");
    }, 3);
    await sleep(400);
    clearInterval(timer);
    await h.stop();
    assert.equal(h.maxConcurrent(), 1);
    assert.ok(h.passes.length >= 5, `only ${h.passes.length} passes`);
    for (let i = 1; i < h.passes.length; i++) {
      assert.ok((h.passes[i]?.start ?? 0) >= (h.passes[i - 1]?.end ?? Infinity), `pass ${i} overlapped`);
    }
  });

  it("reads the interval before every wait, so a new interval applies without a restart", async () => {
    let interval = 10_000;
    const h = harness({ intervalMs: () => interval });
    await h.waitForPasses(1);
    interval = 50;
    h.loop.trigger("config reload");
    await h.waitForPasses(5, 2000);
    await h.stop();
    assert.deepEqual(h.passes[2]?.reasons, ["heartbeat"]);
  });

  it("abort ends the loop promptly while it waits for a long interval", async () => {
    const h = harness({ intervalMs: 60_000 });
    await h.waitForPasses(1);
    const took = await h.stop();
    assert.ok(took < 100, `run() resolved ${took} ms after abort`);
    assert.equal(h.passes.length, 1);
  });

  it("abort during a pass: the pass sees the signal, run() ends when it returns, no pass follows", async () => {
    let sawAbort = false;
    const h = harness({
      intervalMs: 10,
      pass: async (_reasons, signal, index) => {
        if (index > 0) return;
        await new Promise<void>((resolve) => {
          signal.addEventListener("abort", () => {
            sawAbort = true;
            resolve();
          });
        });
      },
    });
    await sleep(30);
    h.loop.trigger("more work");
    const took = await h.stop();
    assert.ok(sawAbort);
    assert.ok(took < 100, `run() resolved ${took} ms after abort`);
    await sleep(50);
    assert.equal(h.passes.length, 1, "no pass after abort, although one was triggered");
  });

  it("a pass that throws is reported and the loop goes on", async () => {
    const h = harness({
      intervalMs: 20,
      pass: (_reasons, _signal, index) =>
        index === 0 ? Promise.reject(new Error("boom")) : Promise.resolve(),
    });
    await h.waitForPasses(3, 2000);
    await h.stop();
    assert.equal(h.errors.length, 1);
    assert.match(String(h.errors[0]), /boom/);
  });

  it("an error thrown because of the abort is not reported as a failure", async () => {
    const h = harness({
      intervalMs: 10_000,
      pass: (_reasons, signal) =>
        new Promise<void>((_resolve, reject) => {
          signal.addEventListener("abort", () => {
            reject(new Error("aborted tmux call"));
          });
        }),
    });
    await sleep(20);
    await h.stop();
    assert.deepEqual(h.errors, []);
  });

  it("issue 14 item 14: a failed pass is retried with a short doubling backoff, not at the next heartbeat", async () => {
    const controller = new AbortController();
    const starts: { at: number; reasons: readonly string[] }[] = [];
    const loop = new PassLoop({
      signal: controller.signal,
      intervalMs: () => 3_600_000,
      retry: { initialMs: 50, maxMs: 200 },
      onPassError: () => undefined,
      pass: (reasons) => {
        starts.push({ at: Date.now(), reasons });
        // The first five passes fail (tmux down), then they succeed.
        return starts.length <= 5 ? Promise.reject(new Error("tmux not answering")) : Promise.resolve();
      },
    });
    const running = loop.run();
    const deadline = Date.now() + 5000;
    while (starts.length < 6 && Date.now() < deadline) await sleep(10);
    await sleep(400);
    controller.abort();
    await running;
    assert.equal(starts.length, 6, "five retries, then no more passes until the (hour-long) heartbeat");
    const gaps = starts.slice(1).map((s, i) => s.at - (starts[i]?.at ?? 0));
    // 50, 100, 200, 200 (capped), 200 ms.
    for (const [i, expected] of [50, 100, 200, 200, 200].entries()) {
      const gap = gaps[i] ?? 0;
      assert.ok(
        gap >= expected - 5 && gap < expected + 150,
        `retry ${i + 1} after ${gap} ms, expected ~${expected}`,
      );
    }
    assert.deepEqual(starts[1]?.reasons, ["retry after a failed pass"]);
  });
});
