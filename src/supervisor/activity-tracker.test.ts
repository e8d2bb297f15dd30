import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ActivityChange } from "../activity/book.js";
import { runtimeProfile } from "../activity/profiles.js";
import type { ActivityReading } from "../activity/state.js";
import type { DesiredAgent } from "../policy/desired.js";
import { CONFIRM_GAP_MS } from "../activity/confirm.js";
import {
  ActivityTracker,
  UNREADABLE_CONFIRM_MS,
  UNREADABLE_SCREEN,
  type TrackedAgent,
} from "./activity-tracker.js";
import type { ObservedAgent } from "./observe.js";

const deacon: DesiredAgent = {
  id: { role: "deacon" },
  identity: "deacon",
  session: "hq-deacon",
  wanted: true,
  held: null,
  heldReason: "",
};

function tracked(
  state: string,
  generation = "g1",
  verdict: ObservedAgent["verdict"] = "alive",
): TrackedAgent {
  return {
    observed: {
      desired: deacon,
      verdict,
      verdictReason: "pane died (exit status 1)",
      generation,
      pane: undefined,
    },
    state,
    detail: null,
    profile: runtimeProfile("claude"),
  };
}

/** A tracker over a fake clock, a fake screen source (one tmux call recorded per observe) and a fixed classifier. */
function harness() {
  let now = 1_000_000;
  let screenState: ActivityReading | null = { state: "idle", source: "screen", detail: "at its prompt" };
  const calls: string[][] = [];
  const changes: ActivityChange[] = [];
  const tracker = new ActivityTracker({
    client: {
      captureScreens: (sessions) => {
        calls.push([...sessions]);
        return Promise.resolve(new Map(sessions.map((s) => [s, "screen"])));
      },
    },
    classify: () => screenState,
    now: () => now,
    onChange: (change) => changes.push(change),
  });
  const signal = new AbortController().signal;
  return {
    tracker,
    calls,
    changes,
    signal,
    at: (ms: number) => {
      now = 1_000_000 + ms;
    },
    screen: (reading: ActivityReading | null) => {
      screenState = reading;
    },
  };
}

describe("ActivityTracker", () => {
  it("an agent no profile reads is 'starting' during its start-up, then unknown, not 'starting' for ever", async () => {
    const h = harness();
    const generic = (state: string): TrackedAgent => ({ ...tracked(state), profile: null });
    await h.tracker.observe([generic("starting")], h.signal);
    assert.equal(h.tracker.activity("deacon")?.state, "starting");
    h.at(10_000);
    await h.tracker.observe([generic("running")], h.signal);
    assert.equal(h.tracker.activity("deacon"), undefined);
    assert.deepEqual(h.calls, [], "no screen is read for it");
  });

  it("believes a screen state only on a second look at least 400 ms later, and asks for it", async () => {
    const h = harness();
    const first = await h.tracker.observe([tracked("running")], h.signal);
    assert.equal(h.tracker.activity("deacon"), undefined, "one glimpse is not enough");
    assert.equal(first.wakeAt, 1_000_000 + 500);
    h.at(200);
    await h.tracker.observe([tracked("running")], h.signal);
    assert.equal(h.tracker.activity("deacon"), undefined, "200 ms later is too soon");
    h.at(CONFIRM_GAP_MS);
    const confirmed = await h.tracker.observe([tracked("running")], h.signal);
    assert.equal(h.tracker.activity("deacon")?.state, "idle");
    assert.equal(confirmed.wakeAt, null);
    assert.deepEqual(
      h.changes.map((c) => [c.from?.state ?? null, c.to.state]),
      [[null, "idle"]],
    );
  });

  it("takes a screen for unreadable only after 5 s of it, not for a keystroke's glimpse (the watchdog acts on it)", async () => {
    const h = harness();
    await h.tracker.observe([tracked("running")], h.signal);
    h.at(500);
    await h.tracker.observe([tracked("running")], h.signal);
    assert.equal(h.tracker.activity("deacon")?.state, "idle");
    // A nudge being typed: the input line holds text, the screen shows nothing townd knows.
    h.screen(null);
    h.at(1000);
    const glimpse = await h.tracker.observe([tracked("running")], h.signal);
    assert.equal(glimpse.wakeAt, 1_000_000 + 1000 + UNREADABLE_CONFIRM_MS);
    h.at(1500);
    await h.tracker.observe([tracked("running")], h.signal);
    assert.equal(h.tracker.activity("deacon")?.state, "idle", "half a second of typed text is no verdict");
    h.screen({ state: "idle", source: "screen", detail: "at its prompt" });
    h.at(2000);
    await h.tracker.observe([tracked("running")], h.signal);
    assert.deepEqual(
      h.changes.map((c) => c.to.state),
      ["idle"],
    );
    // Unreadable for 5 s: believed.
    h.screen(null);
    h.at(3000);
    await h.tracker.observe([tracked("running")], h.signal);
    h.at(3000 + UNREADABLE_CONFIRM_MS);
    await h.tracker.observe([tracked("running")], h.signal);
    assert.equal(h.tracker.activity("deacon")?.detail, UNREADABLE_SCREEN);
  });

  it("reads every quiet agent's screen in one call, and none while its hooks are fresh", async () => {
    const h = harness();
    h.tracker.noteHook("deacon", "g1", { state: "working", source: "hook", detail: "PreToolUse: Bash" });
    assert.equal(h.tracker.activity("deacon")?.state, "working", "a hook applies at once");
    h.at(60_000);
    await h.tracker.observe([tracked("running")], h.signal);
    assert.deepEqual(h.calls, [], "a hook a minute old still speaks for the agent");
    h.at(3 * 60_000);
    await h.tracker.observe([tracked("running")], h.signal);
    assert.deepEqual(h.calls, [["hq-deacon"]]);
  });

  it("classifies 500 quiet agents' screens with one tmux call per pass", async () => {
    const h = harness();
    const agents = Array.from({ length: 500 }, (_, index): TrackedAgent => {
      const base = tracked("running", `g${index}`);
      const desired = { ...deacon, identity: `r/polecat/p${index}`, session: `gt-r-p${index}` };
      return { ...base, observed: { ...base.observed, desired } };
    });
    await h.tracker.observe(agents, h.signal);
    assert.equal(h.calls.length, 1);
    assert.equal(h.calls[0]?.length, 500);
  });

  it("lets the process decide starting, failed-to-start and dead, whatever a hook said", async () => {
    const h = harness();
    h.tracker.noteHook("deacon", "g1", { state: "working", source: "hook", detail: "UserPromptSubmit" });
    await h.tracker.observe([tracked("backoff", "g1", "dead")], h.signal);
    assert.equal(h.tracker.activity("deacon")?.state, "dead");
    await h.tracker.observe([tracked("starting", "g2")], h.signal);
    assert.equal(h.tracker.activity("deacon")?.state, "starting");
    assert.equal(h.tracker.json("deacon")?.source, "process");
  });
});
