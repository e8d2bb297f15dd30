import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { EMPTY_CURATION, curateLine, parseRawEvent, type CurationState, type FeedEvent } from "./curate.js";

/** The curator's pure decisions (reference §11, B126) on the reference's raw event lines (§10.3). */

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const ts = (offsetMs: number): string => new Date(T0 + offsetMs).toISOString().replace(/\.\d+Z$/, "Z");

function raw(type: string, actor: string, at: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ ts: ts(at), source: "gt", type, actor, visibility: "feed", ...extra });
}

/** Curates lines in order; returns what the feed got. */
function curateAll(lines: readonly string[], state: CurationState = EMPTY_CURATION): FeedEvent[] {
  const out: FeedEvent[] = [];
  let current = state;
  for (const line of lines) {
    const result = curateLine(line, current, T0);
    current = result.state;
    if (result.event !== null) out.push(result.event);
  }
  return out;
}

describe("curateLine()", () => {
  it("keeps feed and both visibility, drops audit, malformed lines and wrongly typed fields", () => {
    const feed = curateAll([
      raw("mail", "mayor", 0, { payload: { to: "gastown/witness", subject: "hi" } }),
      raw("hook", "mayor", 0, { visibility: "audit" }),
      raw("handoff", "deacon", 0, { visibility: "both" }),
      "not json",
      "[1,2]",
      JSON.stringify({ ts: ts(0), type: 7, actor: "x", visibility: "feed" }),
      JSON.stringify({ ts: ts(0), type: "spawn", actor: "x", visibility: "feed", payload: "text" }),
    ]);
    assert.deepEqual(
      feed.map((e) => [e.type, e.summary]),
      [
        ["mail", "mayor → gastown/witness: hi"],
        ["handoff", "deacon handed off to fresh session"],
      ],
    );
  });

  it("writes the reference's feed fields: ts, source, type, actor, summary, payload (when set), count (when set)", () => {
    const [event] = curateAll([raw("done", "gastown/polecats/toast", 0, { payload: { bead: "gt-12" } })]);
    assert.deepEqual(Object.keys(event ?? {}), ["ts", "source", "type", "actor", "summary", "payload"]);
    assert.equal(event?.summary, "gastown/polecats/toast completed work on gt-12");
    const [bare] = curateAll([raw("kill", "daemon", 0, { payload: {} })]);
    assert.deepEqual(Object.keys(bare ?? {}), ["ts", "source", "type", "actor", "summary"]);
    assert.equal(bare?.summary, "daemon: kill");
  });

  it("B126: drops a done from the same actor within 10 s of the last one in the feed, per actor", () => {
    const feed = curateAll([
      raw("done", "a", 0),
      raw("done", "a", 5_000),
      raw("done", "b", 5_000),
      raw("done", "a", 10_000),
      raw("done", "a", 10_001 + 1_000),
      raw("done", "b", 30_000),
    ]);
    assert.deepEqual(
      feed.map((e) => `${e.actor}@${(Date.parse(e.ts) - T0) / 1000}`),
      ["a@0", "b@5", "a@11", "b@30"],
    );
  });

  it("a done dropped as a repeat does not move the window", () => {
    const feed = curateAll([raw("done", "a", 0), raw("done", "a", 8_000), raw("done", "a", 16_000)]);
    assert.deepEqual(
      feed.map((e) => (Date.parse(e.ts) - T0) / 1000),
      [0, 16],
    );
  });

  it("aggregates a third sling within 30 s into one dispatch, counting slings of any visibility", () => {
    const sling = (at: number, visibility = "feed"): string =>
      raw("sling", "mayor", at, { visibility, payload: { bead: `gt-${at}`, target: "gastown/toast" } });
    const feed = curateAll([sling(0, "audit"), sling(1_000), sling(2_000), sling(40_000)]);
    assert.deepEqual(
      feed.map((e) => [e.summary, e.count]),
      [
        ["mayor assigned gt-1000 to gastown/toast", undefined],
        ["mayor dispatching work to 3 agents", 3],
        ["mayor assigned gt-40000 to gastown/toast", undefined],
      ],
    );
  });

  it("summarises mass deaths as the reference does, and townd's own alerts by their message", () => {
    const feed = curateAll([
      JSON.stringify({
        ts: ts(0),
        source: "townd",
        type: "mass_death",
        actor: "daemon",
        payload: { count: 3, window: "30s", sessions: ["gt-r-a"], message: "3 agents died" },
        visibility: "feed",
      }),
      JSON.stringify({
        ts: ts(0),
        source: "townd",
        type: "crash_loop",
        actor: "daemon",
        payload: { agents: ["r/witness"], message: "r/witness is in a crash loop" },
        visibility: "feed",
      }),
    ]);
    assert.deepEqual(
      feed.map((e) => [e.type, e.summary]),
      [
        ["mass_death", "MASS DEATH: 3 sessions died simultaneously"],
        ["crash_loop", "r/witness is in a crash loop"],
      ],
    );
  });

  it("parseRawEvent() reads missing fields as empty and a null payload as none", () => {
    assert.deepEqual(parseRawEvent('{"type":"spawn","payload":null}'), {
      ts: "",
      source: "",
      type: "spawn",
      actor: "",
      payload: undefined,
      visibility: "",
    });
  });
});
