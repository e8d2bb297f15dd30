import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createSupervisedTown, type SupervisedTown } from "../../helpers/supervised-town.js";
import { mailRows, requestRows, until } from "./_helpers.js";

/**
 * Lifecycle requests are no stronger than documented (issue 14 item 4): a request for an agent the daemon
 * does not keep alive (the Mayor, disabled by default) is rejected with a reply and starts nothing, and an
 * agent's requests stay under the per-agent request rate, over which they are rejected with a reply naming
 * the limit. Real daemon, real store, real tmux.
 */

describe("lifecycle request limits", { timeout: 90_000 }, () => {
  let town: SupervisedTown;

  before(async () => {
    town = await createSupervisedTown({
      settings: (s) => {
        s["operational"] = { daemon: { lifecycle_request_rate: { count: 2, window: "10m" } } };
      },
    });
    await town.start();
    await town.waitFor((s) => town.agent(s, "deacon").state === "running", 30_000, "the Deacon running");
  });
  after(async () => {
    await town.cleanup();
  });

  it("a request for the disabled Mayor is rejected with a reply and no Mayor session starts", async () => {
    const run = await town.townd(["request", "restart", "--as", "mayor", "--reason", "wake up"]);
    assert.equal(run.code, 0, run.stderr);
    const reply = await until(
      "a reply to the Mayor",
      () => mailRows(town, "mayor").find((m) => m.from_id === "daemon"),
      10_000,
    );
    assert.match(reply.body, /was not executed: cannot restart mayor: mayor patrol disabled/);
    await town.forcePasses(town.snapshot().daemon.heartbeat_count + 2, 10_000);
    assert.equal(await town.pane("gt-mayor"), undefined, "no Mayor session");
    assert.deepEqual(requestRows(town), [], "nothing claimed");
  });

  it("the Deacon's third request within the window is rejected with a reply naming the limit", async () => {
    for (let i = 1; i <= 2; i++) {
      const run = await town.townd(["request", "cycle", "--as", "deacon", "--reason", `cycle ${i}`]);
      assert.equal(run.code, 0, run.stderr);
      await until(
        `request ${i} to be done`,
        () => requestRows(town).filter((r) => r.identity === "deacon" && r.status === "done").length === i,
        15_000,
        () => JSON.stringify(requestRows(town)),
      );
    }
    const run = await town.townd(["request", "cycle", "--as", "deacon", "--reason", "cycle 3"]);
    assert.equal(run.code, 0, run.stderr);
    const reply = await until(
      "a reply to the Deacon",
      () => mailRows(town, "deacon").find((m) => m.from_id === "daemon"),
      10_000,
    );
    assert.match(
      reply.body,
      /cannot cycle deacon: 2 lifecycle requests within 10m0s \(limit operational\.daemon\.lifecycle_request_rate: 2 per 10m0s\)/,
    );
    assert.equal(requestRows(town).length, 2, "the third was never claimed");
    const deacon = town.agent(town.snapshot(), "deacon") as unknown as Record<string, unknown>;
    assert.equal(deacon["restarts_manual"], 2);
    assert.equal((deacon["request_times"] as unknown[]).length, 2, "requests are kept in the history");
  });
});
