import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import { after, before, describe, it } from "node:test";
import {
  CLI_MAIN,
  createSupervisedTown,
  isAlive,
  type PaneRow,
  type SupervisedTown,
} from "../../helpers/supervised-town.js";

/**
 * Sessions that exist before the daemon starts: a zombie (tmux alive, agent dead: the pane is a bare shell)
 * is confirmed by a second look and replaced (B28, B50); a session someone started by hand whose pane runs
 * the agent is adopted as it is and never restarted (B27, B48, B49).
 */

describe("sessions found at start-up", { timeout: 90_000 }, () => {
  let town: SupervisedTown;
  let zombie: PaneRow;
  let foreign: PaneRow;
  let killMs = Number.NaN;
  let totalMs = Number.NaN;

  before(async () => {
    town = await createSupervisedTown({ rigs: ["r1"], patrols: { deacon: { enabled: false } } });
    // The witness: a bare interactive shell, no agent (what is left when an agent exits in a typed-in shell).
    const shell = await town.tmux([
      "new-session",
      "-d",
      "-s",
      "gt-r1-witness",
      "bash",
      "--norc",
      "--noprofile",
    ]);
    assert.equal(shell.code, 0, shell.stderr);
    // The refinery: a sim agent started by hand, with no townd labels on its session.
    const hand = await town.tmux([
      "new-session",
      "-d",
      "-s",
      "gt-r1-refinery",
      "-e",
      "BD_ACTOR=r1/refinery",
      process.execPath,
      CLI_MAIN,
      "sim-agent",
      "--log",
      town.simLog,
    ]);
    assert.equal(hand.code, 0, hand.stderr);
    const panes = await town.waitForPanes(
      (ps) =>
        ps.find((p) => p.session === "gt-r1-witness")?.command === "bash" &&
        ps.find((p) => p.session === "gt-r1-refinery")?.command === "2.1.7",
      15_000,
      "the hand-made sessions to be up",
    );
    const w = panes.find((p) => p.session === "gt-r1-witness");
    const r = panes.find((p) => p.session === "gt-r1-refinery");
    assert.ok(w !== undefined && r !== undefined);
    assert.equal(w.generation, "", "no townd label on the zombie");
    assert.equal(r.generation, "", "no townd label on the hand-made agent");
    zombie = w;
    foreign = r;
  });
  after(async () => {
    await town.cleanup();
  });

  it("replaces a zombie witness (a bare bash) with a running agent within seconds of the start (B28, B50)", async (t) => {
    const startedAt = performance.now();
    await town.start();
    const panes = await town.waitForPanes(
      (ps) =>
        ps.some(
          (p) => p.session === "gt-r1-witness" && p.pid !== zombie.pid && !p.dead && p.command === "2.1.7",
        ),
      15_000,
      "the zombie witness to be replaced by a running agent",
    );
    const replacedMs = performance.now() - startedAt;
    t.diagnostic(`zombie witness replaced ${replacedMs.toFixed(0)} ms after \`townd start\` was run`);
    // From the daemon's first sighting: 2 s to confirm + up to kill_grace_period (5 s) for the shell + slack.
    const firstSeen = town.log().find((r) => r.agent === "r1/witness" && r.msg.includes("suspected zombie"));
    assert.ok(firstSeen !== undefined, "the first pass suspects the zombie");
    const handledMs = Date.now() - Date.parse(firstSeen.time);
    assert.ok(handledMs < 10_000, `replaced ${handledMs} ms after the daemon first saw the zombie`);

    assert.equal(
      panes.filter((p) => p.session === "gt-r1-witness").length,
      1,
      "one session per identity (I1)",
    );
    const witness = panes.find((p) => p.session === "gt-r1-witness");
    assert.ok(witness !== undefined);
    assert.notEqual(witness.generation, "", "the replacement carries a townd generation");
    assert.equal(isAlive(zombie.pid), false, "the old bash is gone");

    // Confirmed before acting: a "suspected" verdict first, the respawn at least 2 s later.
    const log = town.log();
    const suspected = log.find((r) => r.agent === "r1/witness" && r.msg.includes("suspected zombie"));
    const respawn = log.find((r) => r.agent === "r1/witness" && r.action === "respawn");
    assert.ok(suspected !== undefined, "the first pass only suspects the zombie");
    assert.ok(respawn !== undefined, "a later pass respawns it");
    assert.match(respawn.msg, /pane runs "bash" with no agent process \(zombie\)/);
    const confirmMs = Date.parse(respawn.time) - Date.parse(suspected.time);
    const started = log.find((r) => r.agent === "r1/witness" && r.msg.startsWith("Started r1/witness"));
    assert.ok(started !== undefined);
    killMs = Date.parse(started.time) - Date.parse(respawn.time);
    totalMs = replacedMs;
    t.diagnostic(
      `zombie suspected -> respawn decided: ${confirmMs} ms; killing the old tree took ${killMs} ms`,
    );
    // Log times are taken after each pass's clock reading, so allow a few ms of skew on the 2 s.
    assert.ok(confirmMs >= 1900, `confirmed ${confirmMs} ms after the first sighting`);

    const status = await town.waitFor(
      (s) => town.agent(s, "r1/witness").generation === witness.generation,
      5000,
      "status to show the new witness",
    );
    assert.match(town.agent(status, "r1/witness").last_reason ?? "", /zombie/);
  });

  it(
    "replaces the zombie within 4 s of the start: 2 s to confirm, not 5 s more waiting for bash to obey SIGTERM",
    {},
    () => {
      assert.ok(totalMs < 4000, `replaced after ${totalMs} ms, of which ${killMs} ms killing the bare shell`);
    },
  );

  it(
    "labels the replacement of a foreign zombie with @townd_identity, like a session townd created",
    {},
    async () => {
      const witness = await town.pane("gt-r1-witness");
      assert.equal(witness?.identity, "r1/witness");
    },
  );

  it("adopts a hand-started agent whose pane runs 2.1.7 and never restarts it (B27, B48, B49)", async () => {
    await town.waitFor(
      (s) => town.agent(s, "r1/witness").state === "running",
      20_000,
      "the new witness to settle",
    );
    const count = town.snapshot().daemon.heartbeat_count;
    await town.forcePasses(count + 5, 15_000);

    const pane = await town.pane("gt-r1-refinery");
    assert.ok(pane !== undefined);
    assert.equal(pane.pid, foreign.pid, "the same process");
    assert.equal(pane.dead, false);
    assert.equal(pane.generation, "", "still unlabelled: townd did not respawn it");
    assert.ok(isAlive(foreign.pid));

    const refinery = town.agent(await town.status(), "r1/refinery");
    assert.equal(refinery.state, "running");
    assert.equal(refinery.pid, foreign.pid);
    assert.equal(refinery.restarts, 0);
    assert.ok(
      town.log().every((r) => r.agent !== "r1/refinery" || r.action === undefined || r.action === "none"),
      "no action was ever taken on the refinery",
    );
    const entries = town.simEntries().filter((e) => e.pid === foreign.pid);
    assert.deepEqual(
      entries.map((e) => e.type),
      ["start"],
      "the adopted agent was neither restarted nor nudged",
    );
  });
});
