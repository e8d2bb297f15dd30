import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createSupervisedTown, type Json, type SupervisedTown } from "../../helpers/supervised-town.js";
import { until } from "../../helpers/wait.js";

/**
 * Boot's degraded triage on a real tmux server (reference §5.2, B39): with GT_DEGRADED=true no Boot agent
 * runs; the daemon starts a missing Deacon itself and records what it did in
 * deacon/dogs/boot/.boot-status.json, once per cooldown (1 s here instead of 2 m).
 */

describe("Boot in degraded mode (GT_DEGRADED=true)", { timeout: 60_000 }, () => {
  let town: SupervisedTown;
  let statusFile: string;

  before(async () => {
    town = await createSupervisedTown({
      patrols: { boot: { enabled: true } },
      env: { GT_DEGRADED: "true" },
      settings: (s, h) => {
        s["agents"] = {
          ...(s["agents"] as Json),
          quiet: h.simRuntime(["--stop-heartbeat-after", "0s"], { hooks: false }),
        };
        s["role_agents"] = { deacon: "quiet" };
        s["operational"] = { daemon: { boot_spawn_cooldown: "1s" } };
      },
    });
    statusFile = join(town.root, "deacon", "dogs", "boot", ".boot-status.json");
    await town.start();
  });
  after(async () => {
    await town.cleanup();
  });

  const readStatus = (): Json | undefined =>
    existsSync(statusFile) ? (JSON.parse(readFileSync(statusFile, "utf8")) as Json) : undefined;

  it("B39: starts the missing Deacon itself and writes .boot-status.json; no Boot session", async () => {
    const first = await until("the first triage", readStatus, 15_000);
    assert.deepEqual(Object.keys(first).sort(), [
      "completed_at",
      "last_action",
      "running",
      "started_at",
      "target",
    ]);
    assert.equal(first["last_action"], "start");
    assert.equal(first["target"], "deacon");
    assert.equal(first["running"], false);
    assert.equal(statSync(statusFile).mode & 0o777, 0o644);
    await town.waitForPanes((p) => p.some((x) => x.session === "hq-deacon" && !x.dead), 10_000, "the Deacon");
    // The next triage, a cooldown later, finds it running.
    const next = await until(
      "a triage with nothing to do",
      () => readStatus()?.["last_action"] === "nothing" && readStatus(),
      10_000,
    );
    assert.equal(next["target"], undefined);
    assert.ok(!(await town.panes()).some((p) => p.session === "gt-boot"), "no gt-boot session");
    const deaconStarts = town.log().filter((r) => r.msg.startsWith("Started deacon "));
    assert.equal(deaconStarts.length, 1, "the Deacon was started once");
    assert.ok(town.log().some((r) => r.msg.startsWith("Degraded Boot triage (GT_DEGRADED=true)")));
  });
});
