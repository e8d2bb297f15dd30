import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startedPatrolTown, isAlive, type SupervisedTown } from "../../helpers/supervised-town.js";

/**
 * Pre-armed respawn on a real tmux server (src/policy/arming.ts): a settled patrol agent's pane carries its
 * own pane-died hook, so tmux respawns it the moment it dies and the daemon records it afterwards, counted
 * like any automatic restart (B129, I3). A second death within the stability period is no longer armed and
 * waits out its backoff; an agent the operator stops is disarmed first and stays down; a daemon that stops
 * leaves nothing armed behind.
 */

describe("pre-armed respawn", { timeout: 120_000 }, () => {
  let town: SupervisedTown;

  /** Whether the pane of `session` has a pane-level pane-died hook (an armed respawn). */
  const armed = async (session: string): Promise<boolean> => {
    const hooks = await town.tmux(["show-hooks", "-p", "-t", `=${session}:`]);
    return hooks.code === 0 && hooks.stdout.includes("pane-died");
  };
  const waitArmed = async (session: string, want: boolean): Promise<void> => {
    const deadline = Date.now() + 20_000;
    while ((await armed(session)) !== want) {
      if (Date.now() > deadline) assert.fail(`${session} was never ${want ? "armed" : "disarmed"}`);
      await town.forcePasses(town.snapshot().daemon.heartbeat_count + 1, 10_000);
    }
  };

  before(async () => {
    town = await startedPatrolTown({
      rigs: ["r1"],
      settings: (s) => {
        s["operational"] = {
          daemon: {
            // Armed once a generation has run 1 s and its start-up sequence is done.
            start_failure_window: "1s",
            mass_death_threshold: 10,
          },
        };
      },
    });
    await town.waitFor(
      (s) => ["r1/witness", "r1/refinery"].every((id) => town.agent(s, id).state === "running"),
      30_000,
      "the patrols to run",
    );
  });
  after(async () => {
    await town.cleanup();
  });

  it("tmux respawns a killed witness at once; the daemon counts the death and the restart, and keeps its last lines", async () => {
    await waitArmed("gt-r1-witness", true);
    // Operators see it: the status JSON, the status summary and `why` say a death is answered at once.
    await town.waitFor((s) => town.agent(s, "r1/witness").respawn_armed === true, 10_000, "status to say so");
    const shown = await town.townd(["status"]);
    assert.match(shown.stdout, /Respawn armed in tmux for \d+ of 3 agents/);
    const whyArmed = await town.townd(["why", "r1/witness"]);
    assert.match(whyArmed.stdout, /if it dies now: tmux respawns it at once \(armed\)/);
    const before = await town.pane("gt-r1-witness");
    assert.ok(before !== undefined && !before.dead);
    const generationBefore = town.agent(town.snapshot(), "r1/witness").generation;
    process.kill(before.pid, "SIGKILL");
    const status = await town.waitFor(
      (s) => {
        const witness = town.agent(s, "r1/witness");
        return witness.generation !== generationBefore && witness.restarts_auto === 1;
      },
      10_000,
      "the respawn to be recorded",
    );
    const witness = town.agent(status, "r1/witness");
    assert.equal(witness.last_exit, "pane died (killed by a signal)");
    assert.equal(witness.last_reason, "pane died (killed by a signal)");
    const after = await town.pane("gt-r1-witness");
    assert.ok(after !== undefined && !after.dead && after.pid !== before.pid);
    assert.equal(isAlive(before.pid), false);
    const started = town
      .log()
      .find((r) => r.agent === "r1/witness" && /by tmux from its armed pane-died hook/.test(r.msg));
    assert.ok(started, "the log says tmux started it from the armed hook");
    assert.match(started.msg, new RegExp(`generation ${witness.generation ?? "?"}`));
    const why = await town.townd(["why", "r1/witness"]);
    assert.equal(why.code, 0, why.stderr);
    assert.match(why.stdout, /pane died \(killed by a signal\)/);
    // The new generation gets its start-up sequence like any respawn.
    await town.waitFor((s) => town.agent(s, "r1/witness").state === "running", 20_000, "the start-up");

    // A second death within the stability period would wait out a backoff: not armed, so tmux leaves it.
    assert.equal(await armed("gt-r1-witness"), false, "not re-armed while a death would back off");
    const second = await town.pane("gt-r1-witness");
    assert.ok(second !== undefined && !second.dead);
    process.kill(second.pid, "SIGKILL");
    const held = await town.waitFor(
      (s) => town.agent(s, "r1/witness").held_by === "backoff",
      10_000,
      "the second death to be held by its backoff",
    );
    assert.equal(town.agent(held, "r1/witness").restarts_auto, 1, "no second restart");
    assert.equal(town.agent(held, "r1/witness").respawn_armed, false, "status no longer says armed");
    assert.equal((await town.pane("gt-r1-witness"))?.dead, true, "tmux left the dead pane to the daemon");
  });

  it("an agent the operator stops is disarmed first and stays down", async () => {
    await waitArmed("gt-r1-refinery", true);
    const run = await town.townd(["stop-agent", "r1/refinery"]);
    assert.equal(run.code, 0, run.stderr);
    await town.waitForPanes(
      (ps) => !ps.some((p) => p.session === "gt-r1-refinery"),
      10_000,
      "the refinery gone",
    );
    await town.forcePasses(town.snapshot().daemon.heartbeat_count + 2, 10_000);
    assert.equal(await town.pane("gt-r1-refinery"), undefined, "nothing started it again");
    // Its tree was killed before its session: had it still been armed, tmux would have spent a respawn.
    const fired = await town.tmux(["show-options", "-gqv", "@townd_arm_fired"]);
    assert.equal(fired.stdout.trim(), "1", "only the witness's death was answered by tmux");
    const start = await town.townd(["start-agent", "r1/refinery"]);
    assert.equal(start.code, 0, start.stderr);
  });

  it("a daemon that stops leaves no agent armed", async () => {
    await waitArmed("hq-deacon", true);
    const stop = await town.townd(["stop"]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(await armed("hq-deacon"), false);
    const deacon = await town.pane("hq-deacon");
    assert.ok(deacon !== undefined && !deacon.dead);
    process.kill(deacon.pid, "SIGKILL");
    await town.waitForPanes(
      (ps) => ps.some((p) => p.session === "hq-deacon" && p.dead),
      5000,
      "the Deacon's pane to stay dead while no daemon runs",
    );
  });
});
