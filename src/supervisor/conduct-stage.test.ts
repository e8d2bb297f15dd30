import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_CONDUCT } from "../conduct/settings.js";
import type { DesiredAgent } from "../policy/desired.js";
import type { TownConfig } from "../town/config.js";
import { ActivityTracker } from "./activity-tracker.js";
import { ConductStage } from "./conduct-stage.js";
import type { AgentSession } from "./hook-activity.js";
import type { ObservedAgent } from "./observe.js";

const witness: DesiredAgent = {
  id: { role: "witness", rig: "r1" },
  identity: "r1/witness",
  session: "gt-r1-witness",
  wanted: true,
  held: null,
  heldReason: "",
};

/** No heartbeat watchdog for the Witness: only conduct's own progress signals count. */
const observed: ObservedAgent = {
  desired: witness,
  verdict: "alive",
  verdictReason: "agent running",
  generation: "g1",
  pane: undefined,
};

const config = {
  daemon: { conduct: { ...DEFAULT_CONDUCT, stuck: { afterMs: 60_000, rungWaitMs: 30_000 } } },
} as unknown as TownConfig;

function harness() {
  let now = 10_000_000;
  let beat: number | null = null;
  const tracker = new ActivityTracker({
    client: { captureScreens: () => Promise.resolve(new Map()) },
    classify: () => null,
    now: () => now,
    onChange: () => undefined,
  });
  const stage = new ConductStage({
    tracker,
    hooks: {
      session: (): AgentSession | undefined => undefined,
      lastBeat: (identity, generation) => (identity === "r1/witness" && generation === "g1" ? beat : null),
    },
    statuslineDir: "/nonexistent",
    clock: { now: () => now, wall: () => now },
    profileOf: () => "claude",
    isStarting: () => false,
  });
  return {
    tracker,
    plan: () => stage.plan([observed], new Map(), config).agents.get("r1/witness"),
    at: (ms: number) => {
      now = 10_000_000 + ms;
    },
    hookBeat: () => {
      beat = now;
    },
  };
}

describe("ConductStage", () => {
  it("counts a working agent's hook events as progress, with or without a heartbeat watchdog", () => {
    const h = harness();
    h.tracker.noteHook("r1/witness", "g1", { state: "working", source: "hook", detail: "UserPromptSubmit" });
    h.at(50_000);
    h.hookBeat();
    h.at(100_000);
    assert.equal(h.plan(), undefined, "a hook 50 s ago: not stuck (limit 60 s)");
    h.at(111_000);
    const stuck = h.plan();
    assert.equal(stuck?.act?.kind, "nudge");
    assert.match(stuck.act.reason, /^stuck, rung 1 \(nudge\): no progress for 61s while working$/);
  });
});
