import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createSupervisedTown, type SupervisedTown } from "../../helpers/supervised-town.js";
import { sleep } from "../../helpers/wait.js";

/**
 * Issue 14 item 11: `townd restart AGENT` against a paused daemon (SIGSTOP) gives up after 15 s. It must say
 * the outcome is unknown (exit 75, not the failure status 1), and the daemon, once continued, must not carry
 * out the abandoned request: a retry restarts the agent once, not twice.
 */

describe("an operator request whose caller gave up", { timeout: 120_000 }, () => {
  let town: SupervisedTown;
  before(async () => {
    town = await createSupervisedTown();
    await town.start();
    await town.waitFor((s) => town.agent(s, "deacon").state === "running", 30_000, "the Deacon running");
  });
  after(async () => {
    try {
      town.signal("SIGCONT");
    } catch {
      // No daemon left to continue.
    }
    await town.cleanup();
  });

  it("exits 75 with 'outcome unknown', and the daemon never runs it after SIGCONT", async () => {
    const before = town.agent(town.snapshot(), "deacon");
    town.signal("SIGSTOP");
    let run;
    try {
      run = await town.townd(["restart", "deacon"], { timeoutMs: 40_000 });
    } finally {
      town.signal("SIGCONT");
    }
    assert.equal(run.code, 75, `exit status: ${run.stdout}${run.stderr}`);
    assert.match(
      run.stderr,
      /^townd: Sent the restart of deacon \(request op-\w+\), but the daemon did not answer within 15 s: outcome unknown .*see 'townd why deacon'\n$/,
    );
    // The continued daemon reads the abandoned request now; give it passes to (not) act on it.
    await sleep(2000);
    await town.forcePasses(town.snapshot().daemon.heartbeat_count + 2, 10_000);
    const after = town.agent(town.snapshot(), "deacon");
    assert.equal(after.generation, before.generation, "the abandoned restart was not carried out");
    assert.equal(after.restarts_manual, before.restarts_manual);

    const retry = await town.townd(["restart", "deacon"]);
    assert.equal(retry.code, 0, retry.stderr);
    const done = await town.waitFor(
      (s) => town.agent(s, "deacon").restarts_manual === before.restarts_manual + 1,
      15_000,
      "the retry's restart",
    );
    await sleep(1000);
    assert.equal(
      town.agent(town.snapshot(), "deacon").restarts_manual,
      before.restarts_manual + 1,
      "restarted once",
    );
    assert.notEqual(town.agent(done, "deacon").generation, before.generation);
  });
});
