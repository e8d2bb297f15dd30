import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startedPatrolTown, isAlive, type SupervisedTown } from "../../helpers/supervised-town.js";
import { eventRows, requestRows, sleep, until } from "./_helpers.js";

/**
 * A shutdown request (B76) kills the agent's session and keeps it down — through passes of every kind
 * (SIGUSR1, deaths elsewhere, the heartbeat) and through a daemon restart — with status `stopped` and the
 * reason, until `townd start-agent` or a cycle/restart request brings it back (B77: restart also when the
 * agent was not running).
 */

describe("shutdown requests", { timeout: 90_000 }, () => {
  let town: SupervisedTown;

  before(async () => {
    town = await startedPatrolTown({
      rigs: ["r1"],
      // A short heartbeat, so "stays down" is checked across timer-driven passes as well as forced ones.
      settings: (s) => {
        s["operational"] = { daemon: { recovery_heartbeat_interval: "500ms" } };
      },
    });
  });
  after(async () => {
    await town.cleanup();
  });

  /** Asserts the witness's session stays gone over `passes` further passes (forced with SIGUSR1). */
  async function staysDown(passes: number): Promise<void> {
    const from = town.snapshot().daemon.heartbeat_count;
    for (let i = 0; i < passes; i++) {
      await town.forcePasses(from + i + 1, 10_000);
      assert.equal(
        await town.pane("gt-r1-witness"),
        undefined,
        `no witness session after pass #${from + i + 1}`,
      );
    }
    const status = town.snapshot();
    assert.equal(town.agent(status, "r1/witness").state, "stopped");
  }

  it("B76: `townd request shutdown --as r1/witness` kills the session; it stays down across passes, state stopped with the reason", async () => {
    const before = await town.pane("gt-r1-witness");
    assert.ok(before !== undefined && !before.dead);
    const run = await town.townd([
      "request",
      "shutdown",
      "--as",
      "r1/witness",
      "--reason",
      "maintenance window",
    ]);
    assert.equal(run.code, 0, run.stderr);
    await town.waitForPanes(
      (ps) => !ps.some((p) => p.session === "gt-r1-witness"),
      10_000,
      "the witness session to go",
    );
    await until("the old witness process to end", () => !isAlive(before.pid), 10_000);

    const row = await until(
      "the shutdown request to be done",
      () => requestRows(town).find((r) => r.action === "shutdown" && r.status === "done"),
      10_000,
      () => JSON.stringify(requestRows(town)),
    );
    assert.equal(row.identity, "r1/witness");
    assert.equal(row.detail, "shutdown requested: maintenance window");

    await staysDown(6);
    const status = town.snapshot();
    const witness = town.agent(status, "r1/witness");
    assert.equal(witness.state, "stopped");
    assert.equal(
      (witness as unknown as Record<string, unknown>)["stopped_reason"],
      "shutdown requested: maintenance window",
    );
    assert.equal(witness.restarts, 0, "a shutdown is not a restart");
    assert.equal(witness.failures, 0, "and not a death");
    assert.equal(town.agent(status, "r1/refinery").state, "running", "only the witness stopped");

    // `townd status` shows it as stopped too, and timer-driven heartbeats do not bring it back either.
    const shown = await town.status();
    assert.equal(town.agent(shown, "r1/witness").state, "stopped");
    const count = town.snapshot().daemon.heartbeat_count;
    await town.waitFor((s) => s.daemon.heartbeat_count >= count + 3, 10_000, "three heartbeat passes");
    assert.equal(await town.pane("gt-r1-witness"), undefined);
    const spawns = eventRows(town).filter(
      (e) => e.identity === "r1/witness" && (e.type === "spawn_done" || e.type === "respawn_done"),
    );
    assert.equal(spawns.length, 1, "only the first start: nothing respawned it");
  });

  it("B76: the shutdown holds across a daemon restart (the stop is remembered in daemon/agents.json)", async () => {
    const stopped = await town.townd(["stop", "--timeout", "10s"]);
    assert.equal(stopped.code, 0, stopped.stderr);
    // B5: a request sent while no daemon runs waits in the inbox and is carried out by the next daemon's first pass.
    const refinery = await town.pane("gt-r1-refinery");
    const queued = await town.townd(["request", "cycle", "--as", "r1/refinery"]);
    assert.equal(queued.code, 0, queued.stderr);
    assert.match(
      queued.stdout,
      /^● Queued cycle of r1\/refinery \(msg-[0-9a-z]+\); the daemon is not running$/m,
    );
    await town.start();
    await town.waitFor(
      (s) => s.daemon.running && s.daemon.heartbeat_count >= 1,
      15_000,
      "the new daemon's first pass",
    );
    await staysDown(5);
    assert.notEqual(
      (await town.pane("gt-r1-refinery"))?.generation,
      refinery?.generation,
      "the queued cycle ran",
    );
    assert.ok(
      requestRows(town).some(
        (r) => r.identity === "r1/refinery" && r.action === "cycle" && r.status === "done",
      ),
    );
    await town.waitFor(
      (s) => town.agent(s, "r1/refinery").state === "running",
      20_000,
      "the refinery to run",
    );
  });

  it("`townd start-agent r1/witness` brings it back as a new generation, running", async () => {
    const run = await town.townd(["start-agent", "r1/witness"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /r1\/witness/);
    const panes = await town.waitForPanes(
      (ps) => ps.some((p) => p.session === "gt-r1-witness" && !p.dead),
      10_000,
      "the witness session to come back",
    );
    const pane = panes.find((p) => p.session === "gt-r1-witness");
    const status = await town.waitFor(
      (s) =>
        town.agent(s, "r1/witness").state === "running" &&
        town.agent(s, "r1/witness").generation === pane?.generation,
      20_000,
      "the witness to be running again",
    );
    const witness = town.agent(status, "r1/witness");
    assert.equal((witness as unknown as Record<string, unknown>)["stopped_reason"], null);
    // It stays up: a few passes later it is the same generation.
    await town.forcePasses(town.snapshot().daemon.heartbeat_count + 3, 10_000);
    assert.equal((await town.pane("gt-r1-witness"))?.generation, pane?.generation);
  });

  it("B77: a cycle request for a stopped agent brings it back too", async () => {
    const down = await town.townd(["request", "shutdown", "--as", "r1/witness"]);
    assert.equal(down.code, 0, down.stderr);
    await town.waitForPanes(
      (ps) => !ps.some((p) => p.session === "gt-r1-witness"),
      10_000,
      "the witness to go",
    );
    await town.waitFor(
      (s) => town.agent(s, "r1/witness").state === "stopped",
      10_000,
      "the witness to be stopped",
    );
    await staysDown(2);

    const up = await town.townd(["request", "cycle", "--as", "r1/witness"]);
    assert.equal(up.code, 0, up.stderr);
    const panes = await town.waitForPanes(
      (ps) => ps.some((p) => p.session === "gt-r1-witness" && !p.dead),
      10_000,
      "the witness session to come back",
    );
    const generation = panes.find((p) => p.session === "gt-r1-witness")?.generation;
    await town.waitFor(
      (s) =>
        town.agent(s, "r1/witness").state === "running" &&
        town.agent(s, "r1/witness").generation === generation,
      20_000,
      "the witness to be running again",
    );
    const rows = requestRows(town).filter((r) => r.identity === "r1/witness");
    assert.deepEqual(
      rows.map((r) => [r.action, r.status]),
      [
        ["shutdown", "done"],
        ["shutdown", "done"],
        ["cycle", "done"],
      ],
    );
    // The revived witness stays up, and the daemon is healthy.
    await sleep(300);
    await town.forcePasses(town.snapshot().daemon.heartbeat_count + 2, 10_000);
    assert.equal((await town.pane("gt-r1-witness"))?.generation, generation);
    assert.equal(town.agent(town.snapshot(), "r1/witness").restarts_auto, 0, "no automatic restarts at all");
  });
});
