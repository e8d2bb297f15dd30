import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import { after, before, describe, it } from "node:test";
import {
  createSupervisedTown,
  startedPatrolTown,
  inputsOf,
  isAlive,
  assertRespawnLatency,
  killAndMeasure,
  killAndMeasureOnQuietMachine,
  type SupervisedTown,
} from "../../helpers/supervised-town.js";

/**
 * Dead agents on a real tmux server with the default 3-minute recovery interval: tmux's pane-died hook makes
 * the daemon respawn a dead agent at once (not at the next heartbeat), the first restart after a death is
 * immediate and later ones back off (B129, I3), and stopping the daemon leaves the agents running (B9).
 *
 * tmux 3.3a drops the pane-died notification for about one death in ten (measured here: 4/40 and 5/40 with
 * tmux alone; tmux/tmux#2483). The daemon's SIGCHLD kick (reap_kick_interval, 100 ms) and its death
 * poll (death_poll_interval, 0.5 s) catch those; the assertions say which path ran.
 */

/** A generous bound for the death poll (0.5 s by default): a death tmux did not report is seen by then. */
const DEATH_POLL_MS = 2000;

describe("agent deaths with the default 3-minute interval", { timeout: 90_000 }, () => {
  let town: SupervisedTown;
  let pollOnlyMs = Number.NaN;

  before(async () => {
    town = await startedPatrolTown({
      rigs: ["r1"],
      settings: (s) => {
        s["operational"] = {
          daemon: {
            // Three agents die here within 30 s on purpose; that must not count as a mass death (B112).
            mass_death_threshold: 10,
            // A retried measurement kills the witness again after 1 s: still a fresh first death.
            restart: { stability_period: "1s" },
            // What is measured here is the daemon's own path (hook → pass, the death poll); tmux answering
            // a death from an armed hook is armed-respawn.test.ts's.
            armed_respawn: false,
          },
        };
      },
    });
  });
  after(async () => {
    await town.cleanup();
  });

  it("respawns an agent killed with SIGKILL within 1 s, as a new generation, and says why (B129, I3)", async (t) => {
    const note = (text: string): void => {
      t.diagnostic(text);
    };
    const attempts = await killAndMeasureOnQuietMachine(
      town,
      ["gt-r1-witness", "gt-r1-witness"],
      async () => {
        await town.waitFor((s) => town.agent(s, "r1/witness").state === "running", 20_000, "the witness");
        await new Promise((r) => setTimeout(r, 1100)); // past stability_period: a fresh first death
      },
      note,
    );
    for (const attempt of attempts.slice(0, -1)) assertRespawnLatency(attempt, note, DEATH_POLL_MS, false);
    const m = attempts[attempts.length - 1];
    assert.ok(m !== undefined);
    assertRespawnLatency(m, note);
    assert.notEqual(m.after.generation, m.before.generation, "a new generation");
    assert.equal(m.after.command, "2.1.7");
    assert.equal(isAlive(m.before.pid), false, "the old process is gone");

    const status = await town.waitFor(
      (s) => s.agents.some((a) => a.identity === "r1/witness" && a.generation === m.after.generation),
      5000,
      "status to show the new generation",
    );
    const witness = town.agent(status, "r1/witness");
    assert.equal(witness.restarts_auto, attempts.length);
    assert.equal(witness.restarts_manual, 0);
    assert.equal(witness.last_reason, "pane died (killed by a signal)");
    assert.equal(witness.last_exit, "pane died (killed by a signal)");
    const log = town.log();
    assert.ok(
      log.some(
        (r) => r.agent === "r1/witness" && r.msg === "r1/witness: respawn (pane died (killed by a signal))",
      ),
      "the log says why the witness was respawned",
    );
    // Not the 3-minute heartbeat: a pass triggered by the death (hook or poll) respawned it.
    assert.ok(
      m.reasons.some((r) => r.startsWith("pane died")),
      `the respawning pass ran because a pane died (${m.reasons.join(", ")})`,
    );
    assert.equal(town.agent(status, "deacon").restarts, 0, "only the witness was touched");
    assert.equal(town.agent(status, "r1/refinery").restarts, 0, "only the witness was touched");

    // The new generation gets its own start-up sequence.
    await town.waitFor(
      (s) => town.agent(s, "r1/witness").state === "running",
      20_000,
      "the witness start-up",
    );
    const inputs = inputsOf(town.simEntries(), m.after.generation);
    assert.match(inputs[0]?.text ?? "", /^\[GAS TOWN\] r1\/witness <- daemon • .* • patrol$/);
  });

  it("respawns an agent that exits with status 3 and records the status", async (t) => {
    const before = await town.pane("gt-r1-refinery");
    assert.ok(before !== undefined && !before.dead);
    const typed = await town.tmux(["send-keys", "-t", "=gt-r1-refinery:", "-l", "/sim crash 3"]);
    assert.equal(typed.code, 0, typed.stderr);
    const sentAt = performance.now();
    await town.tmux(["send-keys", "-t", "=gt-r1-refinery:", "Enter"]);
    const after = await town.waitForPanes(
      (ps) => ps.some((p) => p.session === "gt-r1-refinery" && !p.dead && p.pid !== before.pid),
      DEATH_POLL_MS + 3000,
      "the refinery to be respawned",
    );
    t.diagnostic(`/sim crash 3 (Enter) -> new pane process ${(performance.now() - sentAt).toFixed(0)} ms`);
    const pane = after.find((p) => p.session === "gt-r1-refinery");
    assert.ok(pane !== undefined);
    assert.notEqual(pane.generation, before.generation);

    const crash = town.simEntries().find((e) => e.type === "crash" && e.pid === before.pid);
    assert.equal(crash?.code, 3, "the sim agent crashed with code 3");
    const status = await town.waitFor(
      (s) => town.agent(s, "r1/refinery").generation === pane.generation,
      5000,
      "status to show the refinery's new generation",
    );
    const refinery = town.agent(status, "r1/refinery");
    assert.equal(refinery.restarts_auto, 1);
    assert.equal(refinery.last_exit, "pane died (exit status 3)");
    assert.match(refinery.last_reason ?? "", /status 3/);
    assert.ok(town.log().some((r) => r.msg === "r1/refinery: respawn (pane died (exit status 3))"));
  });

  it("still respawns a dead agent when tmux reports nothing: the death poll (tmux#2483)", async (t) => {
    // Without the hook every death must be found by the poll.
    const unhooked = await town.tmux(["set-hook", "-gu", "pane-died"]);
    assert.equal(unhooked.code, 0, unhooked.stderr);
    // No pass of its own may be due (a start-up completing) when the deacon dies: only the poll may find it.
    await town.waitFor(
      (s) => s.agents.filter((a) => a.state === "running").length === 3,
      20_000,
      "all three agents to be running",
    );
    await town.waitForQuiet(500, 10_000);
    const m = await killAndMeasure(town, "hq-deacon");
    pollOnlyMs = m.respawnMs;
    t.diagnostic(`without the hook: kill -9 -> new pane process ${m.respawnMs.toFixed(0)} ms`);
    assert.equal(m.viaHook, false);
    assert.ok(m.reasons.includes("pane died in hq-deacon"), `reasons: ${m.reasons.join(", ")}`);
    assert.ok(m.respawnMs < DEATH_POLL_MS + 1000, `respawned after ${m.respawnMs.toFixed(0)} ms`);
    const deacon = town.agent(
      await town.waitFor((s) => town.agent(s, "deacon").generation === m.after.generation, 5000),
      "deacon",
    );
    assert.equal(deacon.restarts_auto, 1);
  });

  it("respawns within 1 s even when tmux drops the pane-died notification", {}, () => {
    assert.ok(pollOnlyMs < 1000, `respawned after ${pollOnlyMs.toFixed(0)} ms`);
  });

  it("leaves every agent running when the daemon stops (B9)", async () => {
    await town.waitFor(
      (s) => s.agents.filter((a) => a.state === "running").length === 3,
      20_000,
      "all three agents to be running",
    );
    const before = await town.panes();
    assert.equal(before.length, 3);
    const daemon = town.daemonPid();
    assert.ok(daemon !== undefined);
    const stopped = await town.townd(["stop"]);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /Daemon stopped/);
    assert.equal(isAlive(daemon), false);
    assert.equal((await town.status()).daemon.running, false);
    await new Promise((r) => setTimeout(r, 300));
    const after = await town.panes();
    assert.deepEqual(
      after.map((p) => [p.session, p.pid, p.dead, p.command]),
      before.map((p) => [p.session, p.pid, false, "2.1.7"]),
    );
    for (const pane of after) assert.ok(isAlive(pane.pid), `${pane.session}'s agent still runs`);
    assert.ok(town.log().some((r) => r.msg === "Supervision stopped; agents keep running"));
  });
});

describe("a crash-looping agent", { timeout: 60_000 }, () => {
  let town: SupervisedTown;

  before(async () => {
    town = await createSupervisedTown({
      settings: (s, h) => {
        s["agents"] = { ...(s["agents"] as object), crashy: h.simRuntime(["--crash-after", "0s"]) };
        s["role_agents"] = { deacon: "crashy" };
      },
    });
  });
  after(async () => {
    await town.cleanup();
  });

  it("is started at most 3 times in 5 s: once, once more at once, then it waits 30 s (B129, I3)", async (t) => {
    const startedAt = Date.now();
    await town.start();
    await new Promise((r) => setTimeout(r, Math.max(0, startedAt + 5000 - Date.now())));

    const starts = town.simEntries().filter((e) => e.type === "start" && e.identity === "deacon");
    const crashes = town.simEntries().filter((e) => e.type === "crash");
    const spawns = town.log().filter((r) => r.agent === "deacon" && r.msg.startsWith("Started deacon"));
    t.diagnostic(`crash loop: ${spawns.length} starts in 5 s`);
    assert.ok(starts.length >= 2 && starts.length <= 3, `${starts.length} sim-agent starts`);
    assert.equal(spawns.length, starts.length, "every start the daemon made ran the agent");
    assert.equal(crashes.length, starts.length, "every start crashed");
    assert.ok(crashes.every((c) => c.code === 1));

    const status = await town.status();
    const deacon = town.agent(status, "deacon");
    assert.equal(deacon.state, "backoff");
    assert.equal(deacon.restarts_auto, spawns.length - 1);
    assert.equal(deacon.last_exit, "pane died (exit status 1)");
    assert.ok(deacon.next_attempt_at !== null);
    const wait = Date.parse(deacon.next_attempt_at) - Date.now();
    assert.ok(wait > 20_000 && wait <= 30_000, `next attempt in ${wait} ms (expected about 30 s)`);
    const pane = await town.pane("hq-deacon");
    assert.equal(pane?.dead, true, "the dead pane is kept (remain-on-exit) while backing off");
    assert.ok(
      town
        .log()
        .some(
          (r) => r.agent === "deacon" && /^deacon: wait \(backoff: .*next attempt in \d+s\)$/.test(r.msg),
        ),
      "the log says the deacon is backing off",
    );
  });
});
