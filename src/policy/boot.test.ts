import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_LIMITS } from "../town/settings.js";
import { bootStatusJson, triageOutcome, type BootSettings } from "./boot.js";
import type { DesiredAgent } from "./desired.js";
import type { PolicyLimits } from "./limits.js";
import { plan, type Action, type AgentObservation, type Decision, type Plan, type Verdict } from "./plan.js";
import { EMPTY_TOWN_STATE, emptyRecord, type AgentRecord, type TownPolicyState } from "./record.js";
import { noteSpawnFailed, noteSpawned } from "./spawn-result.js";

/**
 * Boot, the Deacon's triage dog, through the real planner on a fake clock (reference §5.2, B38–B41,
 * [HEAD] B132–B133). The test plays the executor: every spawn it is asked for gets a new generation.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const T0 = Date.UTC(2026, 0, 1);

const DEACON: DesiredAgent = {
  id: { role: "deacon" },
  identity: "deacon",
  session: "hq-deacon",
  wanted: true,
  held: null,
  heldReason: "",
};
const BOOT: DesiredAgent = {
  id: { role: "boot" },
  identity: "boot",
  session: "gt-boot",
  wanted: true,
  held: null,
  heldReason: "",
};

interface Look {
  boot?: Verdict;
  deacon?: Verdict;
  /** Age of the Deacon's heartbeat (ms); absent: it has none. */
  beatAge?: number;
  bootExtra?: Partial<AgentObservation>;
  bootDesired?: DesiredAgent;
}

class Town {
  records = new Map<string, AgentRecord>();
  town: TownPolicyState = EMPTY_TOWN_STATE;
  generations = new Map<string, string>();
  spawns: { identity: string; at: number; action: Action }[] = [];
  private count = 0;
  readonly settings: BootSettings;
  readonly limits: PolicyLimits;
  constructor(
    settings: BootSettings = { degraded: false, cooldownMs: 2 * MINUTE },
    limits: PolicyLimits = DEFAULT_LIMITS,
  ) {
    this.settings = settings;
    this.limits = limits;
  }

  record(identity: string): AgentRecord {
    return this.records.get(identity) ?? emptyRecord(identity, identity === "boot" ? "gt-boot" : "hq-deacon");
  }

  /** One pass at `at` ms after T0, observing what `look` says. */
  pass(at: number, look: Look = {}): Plan {
    const now = T0 + at;
    const observe = (desired: DesiredAgent, verdict: Verdict): AgentObservation => ({
      desired,
      verdict,
      verdictReason:
        verdict === "alive" ? "" : verdict === "missing" ? "no session" : "pane died (exit status 0)",
      generation: verdict === "missing" ? null : (this.generations.get(desired.identity) ?? null),
    });
    const deacon: AgentObservation = {
      ...observe(DEACON, look.deacon ?? "alive"),
      watchdog: { staleMs: 5 * MINUTE, veryStaleMs: 20 * MINUTE, graceMs: 5 * MINUTE },
      heartbeatAt: look.beatAge === undefined ? null : now - look.beatAge,
    };
    const boot: AgentObservation = {
      ...observe(look.bootDesired ?? BOOT, look.boot ?? "missing"),
      ...look.bootExtra,
    };
    const result = plan({
      now,
      agents: [deacon, boot],
      records: this.records,
      town: this.town,
      limits: this.limits,
      boot: this.settings,
    });
    this.records = new Map(result.records);
    this.town = result.town;
    for (const action of result.actions) {
      if (action.kind !== "spawn" && action.kind !== "respawn") continue;
      const generation = `g${++this.count}`;
      this.generations.set(action.identity, generation);
      this.spawns.push({ identity: action.identity, at, action });
      this.records.set(
        action.identity,
        noteSpawned(this.record(action.identity), {
          generation,
          at: now,
          reason: action.reason,
          manual: action.manual,
        }),
      );
    }
    return result;
  }

  bootSpawns(): number[] {
    return this.spawns.filter((s) => s.identity === "boot").map((s) => s.at);
  }
}

function bootDecision(result: Plan): Decision {
  const decision = result.decisions.find((d) => d.identity === "boot");
  assert.ok(decision !== undefined, "a decision for boot");
  return decision;
}

describe("Boot, the Deacon's triage dog (src/policy/boot.ts)", () => {
  it("B40: is spawned as gt-boot when the Deacon has no heartbeat, through the planner (I3)", () => {
    const town = new Town();
    const result = town.pass(0);
    const action = result.actions.find((a) => a.identity === "boot");
    assert.deepEqual(
      action && { kind: action.kind, session: action.session, manual: "manual" in action && action.manual },
      { kind: "spawn", session: "gt-boot", manual: false },
    );
    assert.match(bootDecision(result).reason, /Spawning Boot for triage: the Deacon has no heartbeat/);
    assert.equal(result.bootTriage, null);
  });

  it("B38: is skipped while its session runs an agent", () => {
    const town = new Town();
    town.pass(0);
    for (let at = 10 * SECOND; at <= 10 * MINUTE; at += 10 * SECOND) {
      const result = town.pass(at, { boot: "alive" });
      assert.equal(result.actions.length, 0, `no action at ${at / SECOND}s`);
      assert.equal(bootDecision(result).reason, "Boot already running, skipping spawn");
    }
    assert.deepEqual(town.bootSpawns(), [0]);
  });

  it("B132: never runs twice within 2 minutes; its exit is no death (no backoff, no crash loop)", () => {
    const town = new Town();
    // Boot ends itself a few seconds after each start; passes every 5 s for an hour.
    let started = -Infinity;
    for (let at = 0; at <= 60 * MINUTE; at += 5 * SECOND) {
      const alive = town.bootSpawns().length > 0 && at - started < 10 * SECOND;
      const result = town.pass(at, {
        boot: town.bootSpawns().length === 0 ? "missing" : alive ? "alive" : "dead",
      });
      if (result.actions.some((a) => a.identity === "boot")) started = at;
      assert.ok(
        !result.alerts.some((a) => a.kind === "crash_loop"),
        `no crash-loop alert at ${at / SECOND}s`,
      );
    }
    const spawns = town.bootSpawns();
    const gaps = spawns.slice(1).map((at, i) => at - (spawns[i] ?? 0));
    assert.ok(
      gaps.every((gap) => gap === 2 * MINUTE),
      `every gap is 2 minutes: ${gaps.join(", ")}`,
    );
    assert.equal(spawns.length, 31);
    // Every run after the first replaces the ended pane (nothing left to kill).
    assert.ok(town.spawns.slice(1).every((s) => s.action.kind === "respawn" && !s.action.killTree));
    const record = town.record("boot");
    assert.equal(record.failures, 0);
    assert.equal(record.crashLoopSince, null);
    assert.deepEqual(record.restartTimes, []);
    assert.deepEqual(town.town.spawnTimes, [], "Boot's runs use none of the spawn budget");
  });

  it("B132: the pass that skips for the cooldown wakes the daemon when it ends", () => {
    const town = new Town();
    town.pass(0);
    const result = town.pass(30 * SECOND, { boot: "dead" });
    assert.equal(result.actions.length, 0);
    assert.match(bootDecision(result).reason, /Boot ran 30s ago; it runs at most once per 2m0s/);
    assert.equal(result.wakeAt, T0 + 2 * MINUTE);
    assert.equal(town.pass(2 * MINUTE - 1, { boot: "dead" }).actions.length, 0);
    assert.equal(town.pass(2 * MINUTE, { boot: "dead" }).actions[0]?.identity, "boot");
  });

  it("B133: is not spawned while the Deacon's heartbeat is fresh, and is once it is 5 minutes old", () => {
    const town = new Town();
    const fresh = town.pass(0, { beatAge: 4 * MINUTE });
    assert.equal(fresh.actions.length, 0);
    assert.match(bootDecision(fresh).reason, /heartbeat is fresh \(4m old\)/);
    assert.equal(fresh.wakeAt, T0 + MINUTE, "looks again when the heartbeat turns stale");
    const stale = town.pass(MINUTE, { beatAge: 5 * MINUTE });
    assert.equal(stale.actions[0]?.identity, "boot");
    assert.match(bootDecision(stale).reason, /the Deacon's heartbeat is 5m old/);
  });

  it("B39: with GT_DEGRADED=true runs a mechanical triage instead, at most once per cooldown", () => {
    const town = new Town({ degraded: true, cooldownMs: 2 * MINUTE });
    const first = town.pass(0, { deacon: "missing" });
    assert.equal(first.bootTriage, "GT_DEGRADED=true");
    assert.deepEqual(
      first.actions.map((a) => `${a.kind} ${a.identity}`),
      ["spawn deacon"],
      "the Deacon is started once, by its own decision; no Boot session",
    );
    const deaconDecision = first.decisions.find((d) => d.identity === "deacon");
    assert.deepEqual(triageOutcome(deaconDecision, { ok: true, detail: "" }), {
      lastAction: "start",
      target: "deacon",
    });
    assert.equal(town.pass(MINUTE, { deacon: "alive" }).bootTriage, null, "within the cooldown");
    const second = town.pass(2 * MINUTE, { deacon: "alive" });
    assert.equal(second.bootTriage, "GT_DEGRADED=true");
    assert.deepEqual(
      triageOutcome(
        second.decisions.find((d) => d.identity === "deacon"),
        undefined,
      ),
      { lastAction: "nothing" },
    );
    assert.deepEqual(town.bootSpawns(), []);
  });

  it("B39: an agent that cannot be started (missing command) means degraded triage and one alert", () => {
    const town = new Town();
    const unavailable = {
      cause: 'the command "nope" is not on the daemon\'s PATH',
      fix: "install it",
      line: null,
    };
    const first = town.pass(0, { bootExtra: { unavailable } });
    assert.match(first.bootTriage ?? "", /Boot cannot start: the command "nope"/);
    assert.deepEqual(
      first.alerts.map((a) => [a.kind, a.identities]),
      [["failed_to_start", ["boot"]]],
    );
    const later = town.pass(3 * MINUTE, { bootExtra: { unavailable } });
    assert.notEqual(later.bootTriage, null);
    assert.deepEqual(later.alerts, [], "one alert per episode");
    assert.deepEqual(town.bootSpawns(), []);
  });

  it("B41: a Boot CLI that refuses to start means degraded triage until the slow retry", () => {
    const town = new Town();
    town.pass(0);
    const startFailure = { cause: "Claude refuses to run as root", fix: "set IS_SANDBOX=1", line: "no root" };
    const failed = town.pass(2 * SECOND, { boot: "dead", bootExtra: { startFailure } });
    assert.deepEqual(
      failed.alerts.map((a) => a.kind),
      ["failed_to_start"],
    );
    assert.equal(failed.actions.length, 0, "within the cooldown");
    const triage = town.pass(2 * MINUTE, { boot: "dead" });
    assert.match(triage.bootTriage ?? "", /Boot cannot start: Claude refuses to run as root/);
    assert.equal(triage.actions.length, 0);
    const retry = town.pass(62 * MINUTE, { boot: "dead" });
    assert.equal(retry.actions[0]?.identity, "boot", "retried after crash_loop_retry (1 h)");
  });

  it("B41: a Boot spawn that failed means degraded triage until its backoff ends", () => {
    const town = new Town();
    town.pass(0);
    // As the executor records a spawn tmux refused.
    town.records.set(
      "boot",
      noteSpawnFailed(
        town.record("boot"),
        { at: T0 + 3 * MINUTE, message: "tmux refused" },
        DEFAULT_LIMITS.restart,
      ),
    );
    const triage = town.pass(3 * MINUTE, { boot: "dead" });
    assert.match(
      triage.bootTriage ?? "",
      /^Boot cannot start: spawn failed: tmux refused; next attempt in 30s$/,
    );
    assert.equal(triage.actions.length, 0);
    assert.equal(town.pass(5 * MINUTE + 1, { boot: "dead" }).actions[0]?.identity, "boot");
  });

  it("I3: waits out a mass-death cool-down like every automatic start", () => {
    const town = new Town();
    town.town = { ...EMPTY_TOWN_STATE, massDeathUntil: T0 + MINUTE };
    const held = town.pass(0);
    assert.equal(held.actions.length, 0);
    assert.equal(bootDecision(held).holdBy, "mass-death");
    assert.equal(held.wakeAt, T0 + MINUTE);
    assert.equal(town.pass(MINUTE).actions[0]?.identity, "boot");
  });

  it("B24: held with the Deacon's patrol: no run, and a running Boot is left to end itself", () => {
    const town = new Town();
    const off = { ...BOOT, wanted: false, held: "disabled" as const, heldReason: "deacon patrol disabled" };
    const result = town.pass(0, { bootDesired: off });
    assert.equal(result.actions.length, 0);
    assert.equal(bootDecision(result).reason, "no triage: deacon patrol disabled");
    assert.equal(town.pass(SECOND, { bootDesired: off, boot: "alive" }).actions.length, 0);
  });

  it("Boot's exit never counts toward a mass death", () => {
    const town = new Town(undefined, {
      ...DEFAULT_LIMITS,
      massDeath: { ...DEFAULT_LIMITS.massDeath, count: 2 },
    });
    town.pass(0, { deacon: "missing" });
    town.pass(SECOND, { boot: "alive" });
    const result = town.pass(2 * SECOND, { boot: "dead", deacon: "dead" });
    assert.deepEqual(result.alerts, [], "one agent died; Boot only ended");
  });
});

describe("triageOutcome() and .boot-status.json", () => {
  const decision = (d: Partial<Decision>): Decision => ({
    identity: "deacon",
    verdict: "missing",
    action: "none",
    reason: "",
    ...d,
  });

  it("a Deacon start that failed, or one that waits, is an error naming why", () => {
    assert.deepEqual(triageOutcome(decision({ action: "spawn" }), { ok: false, detail: "tmux refused" }), {
      lastAction: "error",
      target: "deacon",
      error: "tmux refused",
    });
    assert.deepEqual(
      triageOutcome(
        decision({ action: "wait", holdBy: "backoff", reason: "backoff: no session" }),
        undefined,
      ),
      { lastAction: "error", target: "deacon", error: "the Deacon is not running: backoff: no session" },
    );
    assert.deepEqual(triageOutcome(decision({ verdict: "alive" }), undefined), { lastAction: "nothing" });
  });

  it("has the reference's fields: target and error only when set", () => {
    const at = new Date(T0);
    assert.deepEqual(bootStatusJson({ lastAction: "nothing" }, at, at), {
      running: false,
      started_at: "2026-01-01T00:00:00.000Z",
      completed_at: "2026-01-01T00:00:00.000Z",
      last_action: "nothing",
    });
  });
});
