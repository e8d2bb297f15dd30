import assert from "node:assert/strict";
import { appendFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startedPatrolTown, type SupervisedTown } from "../../helpers/supervised-town.js";
import { until } from "../../helpers/wait.js";

/**
 * Issue 14 item 20: daemon/pane-events, one line per pane death from tmux's pane-died hook, grew for ever.
 * The daemon empties it once past 64 KiB; deaths still wake it through the hook alone (the snapshot poll
 * that backs the hook up is off here).
 */
describe("daemon/pane-events is kept small", { timeout: 90_000 }, () => {
  let town: SupervisedTown;

  before(async () => {
    town = await startedPatrolTown({
      rigs: ["r1"],
      settings: (s) => {
        s["operational"] = { daemon: { death_poll_interval: "0" } };
      },
    });
  });
  after(async () => {
    await town.cleanup();
  });

  it("a file of 100 KiB of deaths is emptied, and the next death is still seen and restarted", async () => {
    const file = join(town.root, "daemon", "pane-events");
    appendFileSync(file, "%12345\n".repeat(15_000));
    await until(
      "daemon/pane-events to be emptied",
      () => statSync(file).size < 1024,
      10_000,
      () => String(statSync(file).size),
    );

    const witness = await town.pane("gt-r1-witness");
    assert.ok(witness !== undefined && !witness.dead, "the witness runs");
    process.kill(witness.pid, "SIGKILL");
    await town.waitForPanes(
      (ps) => ps.some((p) => p.session === "gt-r1-witness" && !p.dead && p.pid !== witness.pid),
      20_000,
      "the killed witness to be respawned",
    );
    assert.ok(statSync(file).size > 0, "the hook appended the death to the emptied file");
  });
});
