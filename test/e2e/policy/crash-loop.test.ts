import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  createSupervisedTown,
  type AgentStatusJson,
  type Json,
  type SupervisedTown,
} from "../../helpers/supervised-town.js";
import {
  alertLines,
  feedEvents,
  gaps,
  logTail,
  relative,
  sleep,
  spawnEvents,
  storeEvents,
  timeOf,
  until,
  type StoreEvent,
} from "./_helpers.js";

/**
 * An agent that crashes the moment it starts (`sim-agent --crash-after 0s --exit-code 7` as the Deacon's
 * runtime), on a real tmux server under the built daemon, with the restart policy shrunk through
 * settings/config.json: backoff 0, 1 s, 2 s, 4 s (initial 1 s × 2^n, capped at 4 s), crash-loop after 4
 * automatic restarts within 1 m, retried once every 20 s (reference §19.1, B129–B131; ARCHITECTURE I3).
 *
 * The first suite's steps build on each other, in order: the backoff sequence and the crash loop; a daemon
 * restart in the middle of the crash loop; the slow retry; `townd reset`. The second suite, in a town of its
 * own, interrupts the 4 s backoff with `townd restart` (a 4 s window leaves room for the CLI's start-up).
 */

const AGENT = "deacon";
const RETRY_MS = 20_000;
/** Backoff before each automatic restart: the first at once, then 1 s, 2 s, 4 s. */
const FLOORS = [0, 1000, 2000, 4000];
/**
 * A spawn-to-spawn gap is the backoff plus the time the agent takes to crash and the daemon to see it: node's
 * start-up (~0.4 s here, more under load) and tmux's pane-died hook (or the 250 ms death poll when tmux drops
 * the notification).
 */
const CRASH_SLACK_MS = 1800;

/** A town whose only agent, the Deacon, crashes the moment it starts, with the shrunk restart policy. */
function crashingDeaconTown(): Promise<SupervisedTown> {
  return createSupervisedTown({
    // Only the Deacon: no rigs, witness and refinery patrols off, the Mayor is off by default.
    patrols: { witness: { enabled: false }, refinery: { enabled: false } },
    settings: (s, h) => {
      s["agents"] = {
        ...(s["agents"] as Json),
        crashy: h.simRuntime(["--crash-after", "0s", "--exit-code", "7"]),
      };
      s["role_agents"] = { deacon: "crashy" };
      s["operational"] = {
        daemon: {
          // The default 3 m heartbeat: every wait below must be ended by the planner's wakeAt, not a poll.
          death_poll_interval: "250ms",
          restart: {
            initial_backoff: "1s",
            max_backoff: "4s",
            crash_loop_count: 4,
            crash_loop_window: "1m",
            crash_loop_retry: "20s",
          },
        },
      };
    },
  });
}

describe(
  "a crash-looping agent: backoff, crash loop, daemon restart, retry, reset (B129–B131, I3)",
  { timeout: 150_000 },
  () => {
    let town: SupervisedTown;
    /** When the crash_loop alert was raised (its log line). */
    let crashLoopAt = 0;
    /** next_attempt_at while in crash-loop, as the first daemon wrote it. */
    let retryAt = "";
    /** The crash-loop retry's spawn, its death, and the next attempt the daemon then scheduled (epoch ms). */
    let retryDeath = { spawn: 0, at: 0, next: 0 };

    before(async () => {
      town = await crashingDeaconTown();
    });
    after(async () => {
      await town.cleanup();
    });

    const spawns = (): StoreEvent[] => spawnEvents(town.root, AGENT);
    const detail = (): string => `spawns at +${relative(spawns().map((e) => e.at))} ms\n${logTail(town)}`;

    it("restarts with growing delays ≈0, 1 s, 2 s, 4 s, then enters crash-loop with ONE crash_loop alert (B129, B130, I3)", async (t) => {
      await town.start();
      const alert = await until(
        "the crash_loop alert",
        () => alertLines(town, "crash_loop")[0],
        40_000,
        detail,
      );
      crashLoopAt = timeOf(alert);

      const started = spawns();
      const times = started.map((e) => e.at);
      const spawnGaps = gaps(times);
      t.diagnostic(
        `spawns at +${relative(times)} ms; gaps ${spawnGaps.join(", ")} ms (floors ${FLOORS.join(", ")})`,
      );
      assert.deepEqual(
        started.map((e) => e.type),
        ["spawn_done", "respawn_done", "respawn_done", "respawn_done", "respawn_done"],
        "the first start and exactly crash_loop_count (4) automatic restarts",
      );
      FLOORS.forEach((floor, i) => {
        const gap = spawnGaps[i] ?? Number.NaN;
        assert.ok(gap >= floor, `gap ${i + 1} is ${gap} ms, below its backoff of ${floor} ms`);
        assert.ok(
          gap <= floor + CRASH_SLACK_MS,
          `gap ${i + 1} is ${gap} ms, more than ${floor} + ${CRASH_SLACK_MS}`,
        );
        if (i > 0) {
          const previous = spawnGaps[i - 1] ?? 0;
          assert.ok(gap >= previous - 200, `gaps must not shrink: ${spawnGaps.join(", ")}`);
        }
      });

      // The backoff itself, from the pass that saw the death (its "wait" decision) to the respawn.
      const events = storeEvents(town.root).filter((e) => e.identity === AGENT);
      const waits = events.filter((e) => e.type === "decision" && e.data["hold"] === "backoff");
      const measured = waits.map((w) => {
        const next = events.find((e) => e.id > w.id && e.type === "respawn_done");
        return next === undefined ? Number.NaN : next.at - w.at;
      });
      t.diagnostic(`death seen -> respawn: ${measured.join(", ")} ms (backoffs 1000, 2000, 4000)`);
      assert.equal(
        waits.length,
        3,
        "a backoff wait before the 2nd, 3rd and 4th restart (the 1st is immediate)",
      );
      [1000, 2000, 4000].forEach((backoff, i) => {
        const ms = measured[i] ?? Number.NaN;
        assert.ok(ms >= backoff && ms <= backoff + 600, `backoff ${i + 1}: ${ms} ms, expected ${backoff} ms`);
      });
      assert.match(waits[0]?.reason ?? "", /^backoff: pane died \(exit status 7\); next attempt in 1s$/);

      // Every start was the sim agent, and every one crashed with code 7.
      const starts = town.simEntries().filter((e) => e.type === "start" && e.identity === AGENT);
      const crashes = town.simEntries().filter((e) => e.type === "crash");
      assert.equal(starts.length, 5);
      assert.equal(crashes.length, 5);
      assert.ok(crashes.every((c) => c.code === 7));

      // ONE alert, in the log, in .events.jsonl (reference §10.3 format) and in the store.
      assert.equal(alertLines(town, "crash_loop").length, 1);
      assert.equal(
        alert.msg,
        "ALERT crash_loop: deacon is in a crash loop (4 automatic restarts within 1m0s, last: pane died " +
          "(exit status 7)); retrying once every 20s; 'townd reset deacon' retries now",
      );
      const feed = feedEvents(town.root).filter((e) => e.type === "crash_loop");
      assert.equal(feed.length, 1, "one crash_loop line in .events.jsonl");
      const [line] = feed;
      assert.ok(line !== undefined);
      assert.equal(line.actor, "daemon");
      assert.equal(line.visibility, "feed");
      assert.match(line.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, "RFC 3339 UTC seconds");
      assert.deepEqual(line.payload["agents"], [AGENT]);
      assert.equal(storeEvents(town.root).filter((e) => e.type === "crash_loop").length, 1);

      const status = await town.status();
      const deacon = town.agent(status, AGENT);
      assert.equal(deacon.state, "crash-loop");
      assert.equal(deacon.restarts_auto, 4);
      assert.equal(deacon.restarts_manual, 0);
      assert.equal(deacon.last_exit, "pane died (exit status 7)");
      assert.match(deacon.last_reason ?? "", /^crash loop: 4 automatic restarts within 1m0s$/);
      assert.ok(deacon.next_attempt_at !== null);
      retryAt = deacon.next_attempt_at;
      const wait = Date.parse(retryAt) - crashLoopAt;
      assert.ok(Math.abs(wait - RETRY_MS) < 1000, `next attempt ${wait} ms after the alert (expected 20 s)`);
      assert.equal((await town.pane("hq-deacon"))?.dead, true, "the dead pane is kept while it waits");
    });

    it("stays in crash-loop across `townd stop` + `townd start`: the history is kept, no burst of spawns (B129)", async (t) => {
      const before = spawns().length;
      const oldPid = town.daemonPid();
      const stopped = await town.townd(["stop"]);
      assert.equal(stopped.code, 0, stopped.stderr);
      const newPid = await town.start();
      assert.notEqual(newPid, oldPid);
      // Several passes of the new daemon, each of which would respawn the dead Deacon if it had forgotten.
      await town.forcePasses(4, 10_000);
      await sleep(1000);
      t.diagnostic(`new daemon PID ${newPid}; ${town.snapshot().daemon.heartbeat_count} passes, no spawn`);

      assert.equal(spawns().length, before, "no spawn after the daemon restart");
      assert.equal(town.simEntries().filter((e) => e.type === "start").length, before);
      const deacon = town.agent(await town.status(), AGENT);
      assert.equal(deacon.state, "crash-loop");
      assert.equal(deacon.next_attempt_at, retryAt, "the retry time survived the restart");
      assert.equal(deacon.restarts_auto, 4);
      const newDaemonLog = town
        .log()
        .filter((r) => timeOf(r) >= Date.parse(town.snapshot().daemon.started_at ?? ""));
      assert.ok(
        newDaemonLog.some((r) =>
          /^deacon: wait \(crash-loop: pane died \(exit status 7\); next attempt in \d+s\)$/.test(r.msg),
        ),
        `the new daemon says it holds the Deacon back:\n${logTail(town)}`,
      );
      assert.equal(alertLines(town, "crash_loop").length, 1, "no second alert from the new daemon");
    });

    it("retries once crash_loop_retry (20 s) has passed, not before, and raises no new alert (B130)", async (t) => {
      const before = spawns().length;
      const retry = await until(
        "the crash-loop retry",
        () => spawns()[before],
        Date.parse(retryAt) - Date.now() + 5000,
        detail,
      );
      const late = retry.at - Date.parse(retryAt);
      t.diagnostic(
        `crash-loop retry ${retry.at - crashLoopAt} ms after the alert (${late} ms after next_attempt_at)`,
      );
      assert.ok(retry.at >= Date.parse(retryAt), "not before the retry time");
      assert.ok(late < 1000, `retried ${late} ms after its time`);
      assert.equal(retry.reason, "crash-loop retry: pane died (exit status 7)");
      assert.equal(spawns().length, before + 1, "exactly one retry");

      // It crashes again: still crash-loop, still ONE alert.
      const lastDeath = (a: AgentStatusJson): number => {
        const died = (a as unknown as Json)["last_death_at"];
        return typeof died === "string" ? Date.parse(died) : Number.NaN;
      };
      const deacon = town.agent(
        await town.waitFor(
          (s) =>
            s.agents.some(
              (a) =>
                a.identity === AGENT &&
                a.state === "crash-loop" &&
                a.generation === retry.generation &&
                lastDeath(a) >= retry.at,
            ),
          10_000,
          "the Deacon back in crash-loop after its retry",
        ),
        AGENT,
      );
      retryDeath = {
        at: lastDeath(deacon),
        next: Date.parse(deacon.next_attempt_at ?? ""),
        spawn: retry.at,
      };
      t.diagnostic(
        `after the retry died, next attempt ${retryDeath.next - retryDeath.spawn} ms after the retry's spawn ` +
          `(crash_loop_retry is ${RETRY_MS} ms; max_backoff 4000 ms)`,
      );
      assert.equal(deacon.restarts_auto, 5);
      assert.equal(alertLines(town, "crash_loop").length, 1);
      assert.equal(feedEvents(town.root).filter((e) => e.type === "crash_loop").length, 1);
    });

    // Found by this suite (and by the simulator): noteSpawned (src/policy/spawn-result.ts) set nextAttemptAt
    // to null when the retry spawned, so the retry's death was held only by the backoff (max_backoff: 4 s here,
    // 10 m by default) instead of crash_loop_retry (20 s here, 60 m by default).
    it("schedules the next crash-loop retry a full crash_loop_retry after the last one (B130)", () => {
      const next = retryDeath.next - retryDeath.spawn;
      assert.ok(
        Math.abs(next - RETRY_MS) < 1000,
        `next retry ${next} ms after this one, expected ${RETRY_MS} ms`,
      );
    });

    it("`townd reset deacon` forgets the crash loop: retried at once (B131)", async (t) => {
      const sent = Date.now();
      const reset = await town.townd(["reset", "deacon"]);
      assert.equal(reset.code, 0, reset.stderr);
      // Either the control API's answer ("✓ deacon: respawn (…)") or the queued request's ("✓ … took the reset …").
      assert.match(reset.stdout, /^✓ .*deacon/);
      // Not a crash-loop retry (the next one is ~20 s away): the streak starts over.
      const spawn = await until(
        "the spawn after the reset",
        () => spawns().find((e) => e.at >= sent && !e.reason.startsWith("crash-loop retry")),
        5000,
        detail,
      );
      t.diagnostic(`townd reset -> respawn ${spawn.at - sent} ms (CLI start-up included)`);
      assert.ok(spawn.at - sent < 2500, `respawned ${spawn.at - sent} ms after the reset`);
      assert.equal(spawn.reason, "pane died (exit status 7)");
      assert.ok(spawn.at < retryDeath.next, "long before the crash-loop retry it was waiting for");
      await town.waitFor(
        (s) => town.agent(s, AGENT).generation === spawn.generation,
        5000,
        "status to show the generation started after the reset",
      );
      const records = town.readJson("daemon/agents.json")["agents"] as Json[];
      const deacon = records.find((a) => a["identity"] === AGENT);
      assert.ok(deacon !== undefined);
      assert.equal(deacon["crash_loop_since"], null, "the crash loop is forgotten");
      const restartTimes = deacon["restart_times"] as unknown[];
      assert.ok(restartTimes.length <= 2, `so is the restart history (${restartTimes.length} left of 5)`);
    });
  },
);

describe(
  "`townd restart` during a backoff (I3: manual, not held back, counted as manual)",
  { timeout: 60_000 },
  () => {
    let town: SupervisedTown;

    before(async () => {
      town = await crashingDeaconTown();
      await town.start();
    });
    after(async () => {
      await town.cleanup();
    });

    const spawns = (): StoreEvent[] => spawnEvents(town.root, AGENT);
    const detail = (): string => `spawns at +${relative(spawns().map((e) => e.at))} ms\n${logTail(town)}`;

    it("restarts the agent at once, and counts it in restarts_manual", async (t) => {
      // After 3 automatic restarts (at once, 1 s, 2 s) the 4th waits 4 s: interrupt that wait.
      const held = await town.waitFor(
        (s) =>
          s.agents.some(
            (a) =>
              a.identity === AGENT &&
              a.state === "backoff" &&
              a.restarts_auto === 3 &&
              a.next_attempt_at !== null &&
              Date.parse(a.next_attempt_at) - Date.now() > 2500,
          ),
        20_000,
        "the 4 s backoff before the 4th automatic restart",
      );
      const deacon = town.agent(held, AGENT);
      const nextAttempt = Date.parse(deacon.next_attempt_at ?? "");
      const before = spawns().length;
      const sent = Date.now();
      const restart = await town.townd(["restart", "deacon"]);
      assert.equal(restart.code, 0, restart.stderr);
      // Either the control API's answer ("✓ deacon: respawn (…)") or the queued request's ("✓ … took the restart …").
      assert.match(restart.stdout, /^✓ .*deacon/);
      const spawn = await until("the manual restart", () => spawns()[before], 5000, detail);
      t.diagnostic(
        `townd restart -> respawn ${spawn.at - sent} ms (CLI start-up included), ` +
          `${nextAttempt - spawn.at} ms before the backoff would have ended`,
      );
      assert.equal(spawn.reason, "restart requested: townd restart");
      assert.ok(spawn.at < nextAttempt, "not held back by the backoff");
      assert.ok(spawn.at - sent < 2500, `restarted ${spawn.at - sent} ms after the request`);
      const after = town.agent(
        await town.waitFor(
          (s) => s.agents.some((a) => a.identity === AGENT && a.generation === spawn.generation),
          5000,
          "status to show the manual restart",
        ),
        AGENT,
      );
      assert.equal(after.restarts_manual, 1, "counted as manual");
      assert.equal(after.restarts_auto, 3, "not counted as automatic");
      assert.ok(
        town.log().some((r) => r.msg === "deacon: respawn (restart requested: townd restart)"),
        "the log says why",
      );
    });
  },
);
