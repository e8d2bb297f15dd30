import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { ActivityGate } from "../tmux/server-activity.js";
import type { TmuxSnapshot } from "../tmux/types.js";
import { waitFor } from "../util/sleep.js";
import { DeathWatch } from "./death-poll.js";
import { QUIET_POLL_MS, TmuxWatch } from "./tmux-watch.js";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const ALIVE: TmuxSnapshot = {
  serverRunning: true,
  panes: [
    {
      session: "a1",
      paneId: "%1",
      panePid: 11,
      command: "node",
      dead: false,
      deadStatus: null,
      generation: "g1",
      identity: "r/a1",
    },
  ],
};

/** A TmuxWatch over a fake server: a run count the test moves, and kicks, polls and news recorded. */
function harness(options: { readable?: boolean; now?: () => number } = {}) {
  let runs = 0;
  let snapshot = ALIVE;
  const kicks: number[] = [];
  const news: string[] = [];
  let polls = 0;
  const deathWatch = new DeathWatch();
  deathWatch.noteAlive([["a1", "node"]], true);
  const watch = new TmuxWatch({
    watch: deathWatch,
    snapshot: () => {
      polls += 1;
      // Our own snapshot wakes the server: the watch must not take that for activity.
      runs += 3;
      return Promise.resolve(snapshot);
    },
    serverPid: () => 4242,
    onNews: (text) => news.push(text),
    kick: (pid) => {
      kicks.push(pid);
      runs += 1;
    },
    gate: new ActivityGate(() => (options.readable === false ? undefined : runs)),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  return {
    watch,
    kicks,
    news,
    polls: () => polls,
    serverRuns: (n: number) => {
      runs += n;
    },
    show: (next: TmuxSnapshot) => {
      snapshot = next;
    },
  };
}

describe("TmuxWatch", () => {
  let stop: (() => void) | undefined;
  afterEach(() => {
    stop?.();
  });

  it("leaves a server that does not run alone: no kick, no snapshot after the first look", async () => {
    const h = harness();
    stop = () => {
      h.watch.stop();
    };
    h.watch.arm(10, 25);
    await waitFor(() => (h.polls() >= 1 ? true : undefined), { timeoutMs: 3000 });
    await sleep(100);
    const settled = { kicks: h.kicks.length, polls: h.polls() };
    await sleep(400);
    assert.deepEqual(
      { kicks: h.kicks.length, polls: h.polls() },
      settled,
      "its own kicks and polls woke nothing",
    );
  });

  it("kicks the server once and polls it once after it ran, and reports what the poll shows", async () => {
    const h = harness();
    stop = () => {
      h.watch.stop();
    };
    h.watch.arm(10, 25);
    await sleep(200);
    const before = { kicks: h.kicks.length, polls: h.polls() };
    h.show({ ...ALIVE, panes: ALIVE.panes.map((pane) => ({ ...pane, dead: true })) });
    h.serverRuns(2);
    const reported = await waitFor(() => h.news[0], { timeoutMs: 3000 });
    assert.equal(reported, "pane died in a1");
    assert.deepEqual(h.kicks.slice(before.kicks), [4242]);
    assert.ok(h.polls() > before.polls);
  });

  it("kicks and polls at every interval when the server's activity cannot be read", async () => {
    const h = harness({ readable: false });
    stop = () => {
      h.watch.stop();
    };
    h.watch.arm(10, 25);
    await sleep(400);
    assert.ok(h.kicks.length >= 5, `${h.kicks.length} kicks in 400 ms at 10 ms`);
    assert.ok(h.polls() >= 3, `${h.polls()} polls in 400 ms at 25 ms`);
  });

  it("polls a quiet server anyway once QUIET_POLL_MS has passed", async () => {
    let now = 0;
    const h = harness({ now: () => now });
    stop = () => {
      h.watch.stop();
    };
    h.watch.arm(10, 25);
    await waitFor(() => (h.polls() >= 1 ? true : undefined), { timeoutMs: 3000 });
    await sleep(100);
    const quiet = h.polls();
    now += QUIET_POLL_MS;
    await waitFor(() => (h.polls() > quiet ? true : undefined), { timeoutMs: 3000 });
    assert.equal(h.kicks.length, 1, "only the first look's kick: the quiet server was never kicked again");
  });

  it("kicks at once when told a terminal was freed, between its looks, unless kicks are off", () => {
    const h = harness();
    stop = () => {
      h.watch.stop();
    };
    h.watch.arm(60_000, 0);
    const before = h.kicks.length;
    h.watch.kickNow();
    assert.deepEqual(h.kicks.slice(before), [4242]);
    h.watch.arm(0, 0);
    h.watch.kickNow();
    assert.equal(h.kicks.length, before + 1, "reap_kick_interval 0: no kick");
  });

  it("is off at interval 0", async () => {
    const h = harness({ readable: false });
    stop = () => {
      h.watch.stop();
    };
    h.watch.arm(0, 0);
    await sleep(150);
    assert.deepEqual({ kicks: h.kicks.length, polls: h.polls() }, { kicks: 0, polls: 0 });
  });
});
