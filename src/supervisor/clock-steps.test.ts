import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { Logger } from "../daemon/logger.js";
import type { DesiredAgent } from "../policy/desired.js";
import { plan, type AgentObservation, type Plan, type Verdict } from "../policy/plan.js";
import { EMPTY_TOWN_STATE, emptyRecord, type AgentRecord, type TownPolicyState } from "../policy/record.js";
import { noteSpawned } from "../policy/spawn-result.js";
import { townPaths } from "../town/paths.js";
import { DEFAULT_LIMITS, DEFAULT_WATCHDOG } from "../town/settings.js";
import { monotonicClock } from "../util/monotonic-clock.js";
import { recordToStatus, writeAgentsFile } from "./agents-file.js";
import { HeartbeatTimes } from "./heartbeat-times.js";
import { readHeartbeat, touchHeartbeat } from "./heartbeats.js";
import { loadHistory } from "./persisted-times.js";

/**
 * A wall clock stepped while the daemon runs (issue 14 item 5): the supervisor's time handling, pass by
 * pass, as Supervisor.pass does it: planner time from the daemon clock, heartbeats read from real files
 * (written, as a Deacon does, with the stepped wall clock) and timed by HeartbeatTimes.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const T0 = Date.UTC(2026, 0, 1);

const dir = mkdtempSync(join(tmpdir(), "townd-clock-"));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function agent(role: "deacon" | "witness"): DesiredAgent {
  return role === "deacon"
    ? { id: { role }, identity: "deacon", session: "hq-deacon", wanted: true, held: null, heldReason: "" }
    : {
        id: { role, rig: "r1" },
        identity: "r1/witness",
        session: "gt-r1-witness",
        wanted: true,
        held: null,
        heldReason: "",
      };
}

class Machine {
  /** Real time since the daemon started; the wall clock is that plus `step`. */
  elapsed = 0;
  step = 0;
  readonly clock = monotonicClock(
    () => T0 + this.elapsed + this.step,
    () => this.elapsed,
  );
  readonly heartbeats = new HeartbeatTimes(this.clock);
  readonly file = join(dir, `heartbeat-${Math.random().toString(36).slice(2)}.json`);
  records = new Map<string, AgentRecord>();
  town: TownPolicyState = EMPTY_TOWN_STATE;
  generation: string | null = null;
  spawned = 0;
  readonly desired: DesiredAgent;
  readonly watched: boolean;

  constructor(role: "deacon" | "witness") {
    this.desired = agent(role);
    this.watched = role === "deacon";
  }

  get record(): AgentRecord {
    return this.records.get(this.desired.identity) ?? emptyRecord(this.desired.identity, "s");
  }

  /** The agent writes a heartbeat, stamped by the (stepped) wall clock it shares with the daemon. */
  async beat(): Promise<void> {
    await touchHeartbeat(this.file, "patrol", new Date(this.clock.wall()));
  }

  pass(verdict: Verdict): Plan {
    const now = this.clock.now();
    const obs: AgentObservation = {
      desired: this.desired,
      verdict,
      verdictReason: verdict === "alive" ? "" : "pane died (exit status 1)",
      generation: verdict === "missing" ? null : this.generation,
      ...(this.watched
        ? {
            watchdog: DEFAULT_WATCHDOG,
            heartbeatAt: this.heartbeats.observe(this.file, readHeartbeat(this.file)),
          }
        : {}),
    };
    const result = plan({
      now,
      agents: [obs],
      records: this.records,
      town: this.town,
      limits: DEFAULT_LIMITS,
    });
    this.records = new Map(result.records);
    this.town = result.town;
    for (const action of result.actions) {
      if (action.kind !== "spawn" && action.kind !== "respawn") continue;
      this.generation = `g${++this.spawned}`;
      const spawn = { generation: this.generation, at: now, reason: action.reason, manual: action.manual };
      this.records.set(action.identity, noteSpawned(this.record, spawn));
    }
    return result;
  }
}

const kinds = (result: Plan): string[] => result.actions.map((a) => a.kind);

describe("a wall clock stepped during a run", () => {
  it("stepped back 2 h: a dead agent is restarted when its backoff ends, not 2 h later", () => {
    const m = new Machine("witness");
    assert.deepEqual(kinds(m.pass("missing")), ["spawn"]);
    // Three quick deaths: the third waits out a 1-minute backoff (30 s, then ×2).
    m.elapsed += 5 * SECOND;
    assert.deepEqual(kinds(m.pass("dead")), ["respawn"]);
    m.elapsed += 5 * SECOND;
    const second = m.pass("dead");
    assert.equal(second.decisions[0]?.holdBy, "backoff");
    m.elapsed += 30 * SECOND;
    assert.deepEqual(kinds(m.pass("dead")), ["respawn"]);
    m.elapsed += 5 * SECOND;
    const held = m.pass("dead");
    assert.equal(held.decisions[0]?.holdBy, "backoff");
    const waitMs = (held.wakeAt ?? Infinity) - m.clock.now();
    assert.equal(waitMs, MINUTE);

    m.step = -2 * HOUR;
    m.elapsed += 30 * SECOND;
    assert.equal(m.pass("dead").decisions[0]?.holdBy, "backoff", "still within the backoff");
    m.elapsed += 30 * SECOND;
    const due = m.pass("dead");
    assert.deepEqual(kinds(due), ["respawn"], due.decisions[0]?.reason);
  });

  it("stepped forward 25 min: a Deacon heartbeating every 5 s is neither nudged nor killed", async () => {
    const m = new Machine("deacon");
    assert.deepEqual(kinds(m.pass("missing")), ["spawn"]);
    // The Deacon heartbeats every 5 s; the daemon passes every 30 s.
    const run = async (ms: number, onPass: (result: Plan) => void): Promise<void> => {
      for (let t = 0; t < ms; t += 5 * SECOND) {
        m.elapsed += 5 * SECOND;
        await m.beat();
        if (m.elapsed % (30 * SECOND) === 0) onPass(m.pass("alive"));
      }
    };
    const healthy = (result: Plan): void => {
      assert.deepEqual(kinds(result), [], result.decisions[0]?.reason);
    };
    await run(10 * MINUTE, healthy);
    // The wall clock jumps 25 min between the Deacon's last beat and the daemon's next pass.
    m.elapsed += 2 * SECOND;
    m.step = 25 * MINUTE;
    m.elapsed += SECOND;
    healthy(m.pass("alive"));
    await run(30 * MINUTE, healthy);
    assert.equal(m.spawned, 1, "the first generation still runs");
  });

  it("stepped forward 25 min: a Deacon that stops heartbeating is still found hung on time", async () => {
    const m = new Machine("deacon");
    m.pass("missing");
    for (let i = 0; i < 12; i++) {
      m.elapsed += 5 * SECOND;
      await m.beat();
    }
    healthyPass(m);
    m.step = 25 * MINUTE;
    // No more beats: stale after 5 min, hung after 20 min of daemon time, whatever the wall clock says.
    m.elapsed += 4 * MINUTE;
    healthyPass(m);
    m.elapsed += 2 * MINUTE;
    assert.deepEqual(kinds(m.pass("alive")), ["nudge"]);
    m.elapsed += 13 * MINUTE;
    assert.deepEqual(kinds(m.pass("alive")), []);
    m.elapsed += 2 * MINUTE;
    assert.deepEqual(kinds(m.pass("alive")), ["respawn"]);
  });
});

function healthyPass(m: Machine): void {
  const result = m.pass("alive");
  assert.deepEqual(kinds(result), [], result.decisions[0]?.reason);
}

describe("agents.json written before the wall clock was set back", () => {
  it("a next_attempt_at 2 h ahead is retried within the backoff cap, and the log says so", () => {
    const paths = { ...townPaths(dir), agentsFile: join(dir, "agents.json") };
    const wall = T0;
    const record: AgentRecord = {
      ...emptyRecord("r1/witness", "gt-r1-witness"),
      generation: "g3",
      deathCounted: "g3",
      startedAt: wall + 2 * HOUR - MINUTE,
      lastDeathAt: wall + 2 * HOUR,
      failures: 4,
      nextAttemptAt: wall + 2 * HOUR + 2 * MINUTE,
      restartTimes: [wall + 2 * HOUR - MINUTE],
    };
    const view = { role: "witness", rig: "r1", state: "waiting", pid: null };
    const town = { ...EMPTY_TOWN_STATE, spawnTimes: [wall + 2 * HOUR - MINUTE] };
    writeAgentsFile(paths, [recordToStatus(record, view)], town, wall + 2 * HOUR);

    let elapsed = 0;
    const clock = monotonicClock(
      () => wall + elapsed,
      () => elapsed,
    );
    const warnings: string[] = [];
    const log = { warn: (line: string) => warnings.push(line), error: () => undefined } as unknown as Logger;
    const history = loadHistory(paths, clock, DEFAULT_LIMITS, log);

    const obs: AgentObservation = {
      desired: agent("witness"),
      verdict: "dead",
      verdictReason: "pane died (exit status 1)",
      generation: "g3",
    };
    const at = (ms: number): Plan => {
      elapsed = ms;
      const input = { agents: [obs], records: history.records, town: history.town, limits: DEFAULT_LIMITS };
      return plan({ ...input, now: clock.now() });
    };
    assert.equal(at(0).decisions[0]?.holdBy, "backoff");
    const due = at(DEFAULT_LIMITS.restart.maxBackoffMs);
    assert.deepEqual(kinds(due), ["respawn"], due.decisions[0]?.reason);
    assert.equal(warnings.length, 1, "one log line");
    assert.match(
      warnings[0] ?? "",
      /5 time\(s\) up to 2h2m0s in the future .*r1\/witness next_attempt_at now in 10m0s/,
    );
  });
});
