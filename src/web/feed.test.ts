import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TownEvent } from "../store/events.js";
import { until } from "../../test/helpers/wait.js";
import { TownFeed, type FeedUpdate, type StatusDocument, type TownSource } from "./feed.js";

/** A daemon stand-in: events in memory, a status, change notices on demand, and a count of every read. */
function fakeSource(): TownSource & { record(type: string): void; reads: number; listeners: number } {
  const events: TownEvent[] = [];
  const listeners = new Set<() => void>();
  const status: StatusDocument = {
    daemon: {},
    tmux: { socket: null },
    agents_updated_at: null,
    agents: [],
    problems: [],
  };
  const source = {
    reads: 0,
    get listeners() {
      return listeners.size;
    },
    record(type: string): void {
      events.push({
        id: events.length + 1,
        ts: "",
        type,
        identity: null,
        generation: null,
        reason: "",
        data: {},
      });
      for (const listener of listeners) listener();
    },
    status: () => {
      source.reads += 1;
      return status;
    },
    events: (query: URLSearchParams) => {
      source.reads += 1;
      return events.slice(-Number(query.get("limit") ?? 1000));
    },
    eventsAfter: (_query: URLSearchParams, afterId: number) => {
      source.reads += 1;
      return events.filter((e) => e.id > afterId);
    },
    onChange: (listener: () => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return source;
}

describe("TownFeed", () => {
  it("reads nothing while nothing changes, then hands on notices that come together as one batch", async () => {
    const source = fakeSource();
    source.record("before");
    const feed = new TownFeed(source, { coalesceMs: 20, onProblem: () => undefined });
    const updates: FeedUpdate[] = [];
    feed.subscribe((update) => updates.push(update));
    feed.start();
    const readsAtStart = source.reads;
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(source.reads, readsAtStart, "no polling");
    source.record("a");
    source.record("b");
    source.record("c");
    await until("a batch", () => updates.length > 0, 5000);
    assert.deepEqual(
      updates[0]?.events.map((e) => e.type),
      ["a", "b", "c"],
      "history is not news; the three notices are one batch",
    );
    source.record("d");
    await until("a second batch", () => updates.length > 1, 5000);
    assert.deepEqual(
      updates[1]?.events.map((e) => e.type),
      ["d"],
    );
    feed.stop();
    assert.equal(source.listeners, 0, "stop unsubscribes from the daemon");
  });

  it("reports a failing read once and keeps going", async () => {
    const source = fakeSource();
    const problems: string[] = [];
    let broken = true;
    const feed = new TownFeed(
      {
        ...source,
        eventsAfter: (query, afterId) => {
          if (broken) throw new Error("store gone");
          return source.eventsAfter(query, afterId);
        },
      },
      { coalesceMs: 5, onProblem: (message) => problems.push(message) },
    );
    const updates: FeedUpdate[] = [];
    feed.subscribe((update) => updates.push(update));
    feed.start();
    source.record("x");
    await until("the first batch", () => updates.length === 1, 5000);
    source.record("y");
    await until("the second batch", () => updates.length === 2, 5000);
    assert.equal(problems.length, 1, problems.join("\n"));
    assert.match(problems[0] ?? "", /store gone/);
    broken = false;
    source.record("z");
    await until("events again", () => updates.some((u) => u.events.length > 0), 5000);
    feed.stop();
  });
});
