import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  createSupervisedTown,
  inputsOf,
  isAlive,
  type CliRun,
  type Json,
  type LogRecord,
  type SimEntry,
  type SupervisedTown,
} from "../../helpers/supervised-town.js";
import { alertLines, logTail, sleep, spawnEvents, timeOf, until, type StoreEvent } from "./_helpers.js";

/**
 * The heartbeat watchdog on a real tmux server under the built daemon, with minutes shrunk to seconds through
 * settings/config.json (`watchdog.<role>: {stale 3s, very_stale 6s, grace 5s}`) and a 500 ms recovery
 * heartbeat so the watchdog is evaluated often. The Deacon is the simulated agent, which as GT_ROLE=deacon
 * writes `<town>/deacon/heartbeat.json` (reference §14) every --heartbeat-interval.
 *
 * Reference: §5.3, §14, §19.3 (#589 grace after start, #729 restart at once, #2086, #3638 detection must act),
 * B32–B37, B121–B122, B135; ARCHITECTURE I4 (a new generation gets its grace before any staleness verdict).
 * townd differs from B37 on purpose (#729, B135): a very stale agent is replaced in the same pass, not only killed.
 *
 * The watchdog's own restart is for an agent whose activity townd cannot read (I9): the agents that must be
 * restarted here run under the `generic` profile, whose screen townd does not know. A Claude agent that
 * stalls mid-turn climbs the stuck ladder instead (test/e2e/conduct), and one at its prompt is never hung.
 */

const HEALTH_CHECK = "HEALTH_CHECK: heartbeat stale, respond to confirm responsiveness";
const STALE_MS = 3000;
const VERY_STALE_MS = 6000;
const GRACE_MS = 5000;
const PASS_MS = 500;
/** A pass runs every 500 ms; a pass, its tmux calls and the log write take a little more on a loaded machine. */
const PASS_SLACK_MS = PASS_MS + 700;
const WATCHDOG = { stale: "3s", very_stale: "6s", grace: "5s" };
const INVALID_HEARTBEAT = "{ not json";
const OLD_HEARTBEAT = `${JSON.stringify({ timestamp: "2026-01-01T00:00:00.000Z", cycle: 7 })}\n`;

/** A town whose `role` runs the sim agent with `simArgs`, watched with the shrunk limits above. */
async function watchedTown(options: {
  role: "deacon" | "witness";
  simArgs: string[];
  rigs?: string[];
  daemon?: Json;
  /** false: no Claude hooks, so only the heartbeat file moves the watchdog (hook events count as beats). */
  hooks?: boolean;
  /** "generic": townd cannot read what the agent does, so the watchdog alone judges it. */
  profile?: "generic";
}): Promise<SupervisedTown> {
  return createSupervisedTown({
    ...(options.rigs === undefined ? {} : { rigs: options.rigs }),
    patrols:
      options.role === "deacon"
        ? { witness: { enabled: false }, refinery: { enabled: false } }
        : { deacon: { enabled: false }, refinery: { enabled: false } },
    settings: (s, h) => {
      s["agents"] = {
        ...(s["agents"] as Json),
        watched: h.simRuntime(options.simArgs, {
          ...(options.hooks === false ? { hooks: false } : {}),
          ...(options.profile === undefined ? {} : { profile: options.profile }),
        }),
      };
      s["role_agents"] = { [options.role]: "watched" };
      s["operational"] = {
        daemon: {
          recovery_heartbeat_interval: `${PASS_MS}ms`,
          watchdog: { [options.role]: options.role === "deacon" ? WATCHDOG : { enabled: true, ...WATCHDOG } },
          ...options.daemon,
        },
      };
    },
  });
}

const heartbeatsOf = (town: SupervisedTown, generation: string): SimEntry[] =>
  town.simEntries().filter((e) => e.type === "heartbeat" && e.generation === generation);

const healthChecks = (town: SupervisedTown, generation: string): SimEntry[] =>
  inputsOf(town.simEntries(), generation).filter((e) => e.text === HEALTH_CHECK);

/** "Heartbeat complete" records (one per pass) logged within [from, to]. */
const passesBetween = (town: SupervisedTown, from: number, to: number): LogRecord[] =>
  town.log().filter((r) => r.msg.startsWith("Heartbeat complete") && timeOf(r) >= from && timeOf(r) <= to);

/**
 * The log records of the pass that carried out `decision` must also hold `started`: no pass ended between the
 * decision and the spawn, i.e. the pass that saw the agent hung replaced it.
 */
function assertSamePass(log: readonly LogRecord[], decision: LogRecord, started: LogRecord): void {
  const from = log.indexOf(decision);
  const to = log.indexOf(started);
  assert.ok(from >= 0 && to > from, "the decision comes before the start");
  const between = log.slice(from, to).filter((r) => r.msg.startsWith("Heartbeat complete"));
  assert.deepEqual(
    between.map((r) => r.msg),
    [],
    "no pass ended between the verdict and the new generation",
  );
}

describe(
  "deacon watchdog (a): grace after start, over a 2-hour-old heartbeat (#589, B32, B34, B122, I4)",
  { timeout: 60_000 },
  () => {
    let town: SupervisedTown;

    before(async () => {
      // It shows its prompt (and so starts heartbeating) only after 3 s: until then the daemon sees nothing but
      // the 2-hour-old file, which without the grace rule would be very stale (B35/B37 would kill it).
      town = await watchedTown({
        role: "deacon",
        simArgs: ["--heartbeat-interval", "1s", "--startup-delay", "3s"],
      });
    });
    after(async () => {
      await town.cleanup();
    });

    it("leaves a fresh Deacon alone through its grace, then as long as its heartbeats come (~12 s)", async (t) => {
      const old = new Date(Date.now() - 2 * 3600_000).toISOString();
      town.writeJson("deacon/heartbeat.json", {
        timestamp: old,
        cycle: 41,
        last_action: "before the daemon started",
        healthy_agents: 0,
        unhealthy_agents: 0,
      });
      await town.start();
      const spawn = await until(
        "the Deacon's first start",
        () => spawnEvents(town.root, "deacon")[0],
        20_000,
      );
      const generation = spawn.generation ?? "";

      await sleep(Math.max(0, spawn.at + 12_000 - Date.now()));
      const beats = heartbeatsOf(town, generation);
      const firstBeat = Date.parse(beats[0]?.ts ?? "");
      const graceSeen = passesBetween(town, spawn.at, firstBeat);
      t.diagnostic(
        `first heartbeat ${firstBeat - spawn.at} ms after the start; ${graceSeen.length} passes saw only the ` +
          `2-hour-old file; ${beats.length} heartbeats; ${passesBetween(town, spawn.at, Date.now()).length} passes in 12 s`,
      );
      assert.ok(graceSeen.length >= 3, "the watchdog looked several times while the file was 2 hours old");

      // Never restarted, never nudged, never judged hung.
      assert.equal(spawnEvents(town.root, "deacon").length, 1, "one start, no restart");
      const pane = await town.pane("hq-deacon");
      assert.ok(pane !== undefined && !pane.dead && isAlive(pane.pid));
      assert.equal(pane.generation, generation);
      const deacon = town.agent(town.snapshot(), "deacon");
      assert.equal(deacon.generation, generation);
      assert.equal(deacon.restarts, 0);
      assert.equal(deacon.state, "running");
      assert.deepEqual(healthChecks(town, generation), [], "no HEALTH_CHECK nudge");
      assert.ok(
        !town.log().some((r) => r.agent === "deacon" && /stale|heartbeat since|respawn|kill/.test(r.msg)),
        `no watchdog verdict in the log:\n${logTail(town)}`,
      );
      // B122: the agent's heartbeats continue the cycle of the file it found.
      assert.equal((beats[0] as unknown as Json | undefined)?.["cycle"], 42);
      const file = town.readJson("deacon/heartbeat.json");
      assert.ok(Date.now() - Date.parse(file["timestamp"] as string) < STALE_MS, "the file is fresh now");
    });
  },
);

describe(
  "deacon watchdog (b): stale → one nudge → very stale → restart in the same pass (#729, #3638, B36, B37→B135, B121)",
  { timeout: 60_000 },
  () => {
    let town: SupervisedTown;

    before(async () => {
      // Prompt after 2 s, heartbeats every 1 s from then, none after 4 s: the last one lands about 3.x s in.
      town = await watchedTown({
        role: "deacon",
        profile: "generic",
        // Busy: a working Deacon whose heartbeats stop is hung; an idle one would not be (I9).
        simArgs: [
          "--busy",
          "--heartbeat-interval",
          "1s",
          "--startup-delay",
          "2s",
          "--stop-heartbeat-after",
          "4s",
        ],
      });
      await town.start();
    });
    after(async () => {
      await town.cleanup();
    });

    let first: StoreEvent;
    let second: StoreEvent;

    it("nudges exactly once with HEALTH_CHECK when stale, restarts when very stale, within one pass", async (t) => {
      // The daemon judges the timestamp in the file (written just before the agent logs its beat), so that is
      // the clock here: the last one gen 1 wrote, read while waiting (gen 2 overwrites it seconds later).
      let lastBeat = Number.NaN;
      [first, second] = (await until(
        "the Deacon's restart",
        () => {
          const spawns = spawnEvents(town.root, "deacon");
          if (spawns.length >= 2) return spawns;
          try {
            lastBeat = Date.parse(town.readJson("deacon/heartbeat.json")["timestamp"] as string);
          } catch {
            // Not written yet, or being replaced.
          }
          return undefined;
        },
        30_000,
        () => logTail(town),
      )) as [StoreEvent, StoreEvent];
      const gen1 = first.generation ?? "";
      const beats = heartbeatsOf(town, gen1);
      const loggedBeat = Date.parse(beats.at(-1)?.ts ?? "");
      assert.ok(
        lastBeat <= loggedBeat && loggedBeat - lastBeat < 1000,
        "the file holds gen 1's last heartbeat",
      );
      assert.ok(beats.length >= 1, "gen 1 heartbeated before it stopped");
      assert.ok(town.simEntries().some((e) => e.type === "heartbeat-stopped" && e.generation === gen1));

      // One nudge, typed into the agent once its heartbeat was stale and before it was very stale.
      const nudges = healthChecks(town, gen1);
      assert.equal(nudges.length, 1, "exactly one HEALTH_CHECK nudge for the stale episode");
      const nudgeDecision = town
        .log()
        .find((r) => r.agent === "deacon" && /^deacon: nudge \(heartbeat stale \(\d+s old\)\)$/.test(r.msg));
      assert.ok(nudgeDecision !== undefined, "the log says why it nudged");
      const nudgedAfter = timeOf(nudgeDecision) - lastBeat;
      const nudgeTyped = Date.parse(nudges[0]?.ts ?? "") - lastBeat;
      assert.ok(
        nudgedAfter >= STALE_MS && nudgedAfter <= STALE_MS + PASS_SLACK_MS,
        `nudge decided ${nudgedAfter} ms after the last heartbeat`,
      );
      assert.ok(nudgeTyped < VERY_STALE_MS, `nudge arrived ${nudgeTyped} ms after the last heartbeat`);
      assert.ok(town.log().some((r) => /^Nudged deacon: heartbeat stale \(\d+s old\)$/.test(r.msg)));

      // Restarted by the pass that first saw it very stale.
      assert.match(second.reason, /^heartbeat very stale \(\d+s old\)$/);
      const log = town.log();
      const decision = log.find(
        (r) => r.agent === "deacon" && /^deacon: respawn \(heartbeat very stale/.test(r.msg),
      );
      const started = log.find(
        (r) => r.generation === second.generation && r.msg.startsWith("Started deacon"),
      );
      assert.ok(decision !== undefined && started !== undefined);
      assertSamePass(log, decision, started);
      const restartedAfter = second.at - lastBeat;
      t.diagnostic(
        `last heartbeat +${lastBeat - first.at} ms after start; nudge decided after ${nudgedAfter} ms (typed ${nudgeTyped} ms), ` +
          `restart decided after ${timeOf(decision) - lastBeat} ms, new generation after ${restartedAfter} ms ` +
          `(stale ${STALE_MS}, very stale ${VERY_STALE_MS}, pass ${PASS_MS} ms)`,
      );
      assert.ok(timeOf(decision) - lastBeat >= VERY_STALE_MS, "not before it was very stale");
      assert.ok(
        restartedAfter <= VERY_STALE_MS + PASS_SLACK_MS,
        `restarted ${restartedAfter} ms after the last heartbeat`,
      );
      const passesWhileStale = passesBetween(town, timeOf(nudgeDecision), timeOf(decision));
      assert.ok(
        passesWhileStale.length >= 3,
        `${passesWhileStale.length} passes saw it stale: one nudge only`,
      );

      // The old process is gone (its tree was killed), the session runs the new generation.
      const oldPid = town.simEntries().find((e) => e.type === "start" && e.generation === gen1)?.pid ?? 0;
      await until("the old Deacon process to be gone", () => !isAlive(oldPid), 10_000);
      const deacon = town.agent(
        await town.waitFor(
          (s) => town.agent(s, "deacon").generation === second.generation,
          5000,
          "status to show gen 2",
        ),
        "deacon",
      );
      assert.equal(deacon.restarts_auto, 1);
      assert.match(deacon.last_exit ?? "", /^heartbeat very stale/);
    });

    it("gives the new generation its grace: the very stale file it inherits is not held against it (I4)", async (t) => {
      const gen2 = second.generation ?? "";
      // Gen 2 shows its prompt (and heartbeats) only 2 s in; until then the file still holds gen 1's last beat,
      // already very stale. It must survive that, then be judged on its own heartbeats.
      const firstBeat = await until("gen 2's first heartbeat", () => heartbeatsOf(town, gen2)[0], 10_000);
      const seen = passesBetween(town, second.at, Date.parse(firstBeat.ts));
      t.diagnostic(
        `${seen.length} passes saw gen 2 with only gen 1's very stale heartbeat; first own beat +${Date.parse(firstBeat.ts) - second.at} ms`,
      );
      assert.ok(seen.length >= 2, "the watchdog looked at gen 2 before its first heartbeat");
      await sleep(Math.max(0, second.at + GRACE_MS + PASS_MS - Date.now()));
      assert.equal(spawnEvents(town.root, "deacon").length, 2, "gen 2 not restarted during its grace");
      assert.equal((await town.pane("hq-deacon"))?.generation, gen2);
      assert.deepEqual(healthChecks(town, gen2), [], "nor nudged");
    });
  },
);

describe(
  "deacon watchdog (c0): no heartbeat file, or an invalid one, causes no action (B33)",
  { timeout: 60_000 },
  () => {
    let town: SupervisedTown;

    before(async () => {
      town = await watchedTown({ role: "deacon", simArgs: ["--stop-heartbeat-after", "0s"] });
      await town.start();
    });
    after(async () => {
      await town.cleanup();
    });

    it("leaves a Deacon that never wrote a heartbeat alone past its grace, and says so in status", async () => {
      const started = await until(
        "the Deacon to run",
        () => spawnEvents(town.root, "deacon")[0],
        15_000,
        () => logTail(town),
      );
      // Past the grace and the very-stale limit, with a pass every 500 ms: nothing happens.
      await sleep(GRACE_MS + VERY_STALE_MS + 2 * PASS_SLACK_MS);
      const status = await town.status();
      const deacon = town.agent(status, "deacon");
      assert.equal(deacon.generation, started.generation, "never restarted");
      assert.equal(deacon.restarts, 0);
      assert.equal(deacon.state, "running");
      assert.equal((deacon as unknown as Json)["detail"], "no heartbeat yet");
      assert.equal((deacon as unknown as Json)["heartbeat_seen"], false);
      assert.equal(healthChecks(town, started.generation ?? "").length, 0, "not nudged either");

      // An invalid file is no heartbeat either (B33).
      writeFileSync(join(town.root, "deacon", "heartbeat.json"), INVALID_HEARTBEAT);
      await town.forcePasses(town.snapshot().daemon.heartbeat_count + 4, 10_000);
      assert.equal(spawnEvents(town.root, "deacon").length, 1);
    });
  },
);

describe(
  "deacon watchdog (c): a heartbeat file never refreshed since start → restart once grace ends (§19.3 PATCH-005, I4)",
  { timeout: 60_000 },
  () => {
    let town: SupervisedTown;

    before(async () => {
      town = await watchedTown({
        role: "deacon",
        simArgs: ["--busy", "--stop-heartbeat-after", "0s"],
        hooks: false,
        profile: "generic",
        // Two automatic restarts within a minute make a crash loop here (for the #2086 step below).
        daemon: { restart: { initial_backoff: "1s", crash_loop_count: 2 } },
      });
      // A heartbeat an earlier Deacon wrote: the watchdog is armed, and this Deacon never writes one.
      writeFileSync(join(town.root, "deacon", "heartbeat.json"), OLD_HEARTBEAT);
      await town.start();
    });
    after(async () => {
      await town.cleanup();
    });

    it("restarts a Deacon that never heartbeats when its grace ends, and grants each new generation the grace", async (t) => {
      const spawns = await until(
        "three generations",
        () => {
          const all = spawnEvents(town.root, "deacon");
          return all.length >= 3 ? all : undefined;
        },
        30_000,
        () => logTail(town),
      );
      const [g1, g2, g3] = spawns as [StoreEvent, StoreEvent, StoreEvent];
      const life1 = g2.at - g1.at;
      const life2 = g3.at - g2.at;
      t.diagnostic(
        `generation lifetimes: ${life1} ms, ${life2} ms (grace ${GRACE_MS} ms; 2nd restart after a 1 s backoff)`,
      );
      const file = readFileSync(join(town.root, "deacon", "heartbeat.json"), "utf8");
      assert.equal(file, OLD_HEARTBEAT, "it never wrote one: the file is still the old one");
      // The age is rounded to the second: 5s, or 6s when the pass that noticed came late in its half second.
      assert.match(g2.reason, /^no heartbeat since it started [56]s ago \(grace 5s\)$/);
      assert.ok(life1 >= GRACE_MS && life1 <= GRACE_MS + PASS_SLACK_MS, `gen 1 restarted after ${life1} ms`);
      // The 2nd restart is the 2nd consecutive failure: after the grace, the 1 s backoff (I3) applies.
      assert.ok(
        life2 >= GRACE_MS + 1000 && life2 <= GRACE_MS + 1000 + PASS_SLACK_MS + 500,
        `gen 2 restarted after ${life2} ms`,
      );
      assert.match(g3.reason, /^no heartbeat since it started \d+s ago \(grace 5s\)$/);
      const hung = town.log().filter((r) => /^deacon: respawn \(no heartbeat since it started/.test(r.msg));
      assert.equal(hung.length, 2);
    });

    it("leaves a hung Deacon alone once it is in crash-loop: no kill, no restart (#2086, B130)", async (t) => {
      // Gen 3's grace ends too: a 3rd hung verdict, after 2 automatic restarts in the window → crash loop.
      const alert = await until(
        "the crash_loop alert",
        () => alertLines(town, "crash_loop")[0],
        15_000,
        () => logTail(town),
      );
      const spawns = spawnEvents(town.root, "deacon");
      const g3 = spawns[2];
      assert.ok(g3 !== undefined);
      t.diagnostic(`crash loop ${timeOf(alert) - g3.at} ms after gen 3 started`);
      assert.match(
        alert.msg,
        /^ALERT crash_loop: deacon is in a crash loop \(2 automatic restarts within 30m0s, last: no heartbeat since it started/,
      );
      const pane = await town.pane("hq-deacon");
      assert.ok(pane !== undefined && !pane.dead);
      assert.equal(pane.generation, g3.generation);
      // The reference's #2086: the stale-heartbeat path must not kill the Deacon during a crash loop.
      await town.forcePasses(town.snapshot().daemon.heartbeat_count + 6, 10_000);
      await sleep(1000);
      const later = await town.pane("hq-deacon");
      assert.ok(later !== undefined && !later.dead && isAlive(later.pid), "the hung Deacon was not killed");
      assert.equal(later.pid, pane.pid);
      assert.equal(spawnEvents(town.root, "deacon").length, 3, "nor restarted");
      assert.ok(!town.log().some((r) => r.msg.startsWith("Killed session hq-deacon")));
      const deacon = town.agent(town.snapshot(), "deacon");
      assert.equal(deacon.state, "crash-loop");
      assert.equal(alertLines(town, "crash_loop").length, 1);
    });
  },
);

describe(
  "witness watchdog (d): an opted-in role heartbeating through `townd heartbeat --as` (B34, B36, B122)",
  { timeout: 60_000 },
  () => {
    let town: SupervisedTown;
    let beating = true;
    let beatLoop: Promise<number> = Promise.resolve(0);

    before(async () => {
      town = await watchedTown({ role: "witness", rigs: ["r1"], simArgs: ["--busy"], profile: "generic" });
      await town.start();
    });
    after(async () => {
      beating = false;
      await beatLoop.catch(() => undefined);
      await town.cleanup();
    });

    it("is left alone while heartbeats come, nudged once and restarted once they stop", async (t) => {
      const spawn = await until("the witness's start", () => spawnEvents(town.root, "r1/witness")[0], 20_000);
      const gen1 = spawn.generation ?? "";

      // Heartbeat on the agent's behalf, as its `townd heartbeat` would, for 10 s.
      // Each run is recorded, not asserted, inside the loop: a failure shows once the loop has ended.
      const runs: CliRun[] = [];
      beatLoop = (async () => {
        while (beating) {
          runs.push(await town.townd(["heartbeat", "--as", "r1/witness", "patrolling"]));
          await sleep(700);
        }
        return runs.length;
      })();
      await sleep(Math.max(0, spawn.at + 10_000 - Date.now()));
      beating = false;
      const beats = await beatLoop;
      for (const run of runs) assert.equal(run.code, 0, `townd heartbeat failed: ${run.stderr}`);
      const outputs = runs.map((run) => run.stdout.trim());
      const file = town.readJson("daemon/heartbeats/gt-r1-witness.json");
      const lastBeat = Date.parse(file["timestamp"] as string);
      t.diagnostic(`${beats} heartbeats in 10 s; last: ${outputs.at(-1) ?? ""}`);
      assert.match(outputs[0] ?? "", /^✓ Heartbeat #1 for r1\/witness$/);
      assert.equal(file["cycle"], beats, "cycle counts every heartbeat (B122)");
      assert.equal(file["last_action"], "patrolling");
      assert.equal(spawnEvents(town.root, "r1/witness").length, 1, "not restarted while heartbeats came");
      assert.deepEqual(healthChecks(town, gen1), [], "not nudged while heartbeats came");

      // Silence: stale → one nudge, very stale → restart.
      const [, restart] = (await until(
        "the witness's restart",
        () => {
          const all = spawnEvents(town.root, "r1/witness");
          return all.length >= 2 ? all : undefined;
        },
        VERY_STALE_MS + 5000,
        () => logTail(town),
      )) as [StoreEvent, StoreEvent];
      const nudges = healthChecks(town, gen1);
      t.diagnostic(
        `after the last heartbeat: nudge typed at ${Date.parse(nudges[0]?.ts ?? "") - lastBeat} ms, ` +
          `restart at ${restart.at - lastBeat} ms`,
      );
      assert.equal(nudges.length, 1, "one HEALTH_CHECK nudge");
      const nudgeAt = Date.parse(nudges[0]?.ts ?? "") - lastBeat;
      assert.ok(
        nudgeAt >= STALE_MS && nudgeAt < VERY_STALE_MS,
        `nudged ${nudgeAt} ms after the last heartbeat`,
      );
      assert.match(restart.reason, /^heartbeat very stale \(\d+s old\)$/);
      const restartAt = restart.at - lastBeat;
      assert.ok(
        restartAt >= VERY_STALE_MS && restartAt <= VERY_STALE_MS + PASS_SLACK_MS,
        `restarted ${restartAt} ms after the last heartbeat`,
      );
      const log = town.log();
      const decision = log.find((r) => r.msg.startsWith("r1/witness: respawn (heartbeat very stale"));
      const started = log.find(
        (r) => r.generation === restart.generation && r.msg.startsWith("Started r1/witness"),
      );
      assert.ok(decision !== undefined && started !== undefined);
      assertSamePass(log, decision, started);
    });
  },
);
