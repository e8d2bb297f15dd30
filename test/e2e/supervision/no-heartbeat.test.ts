import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  createSupervisedTown,
  type AgentStatusJson,
  type Json,
  type SupervisedTown,
} from "../../helpers/supervised-town.js";
import { storeEvents } from "../../helpers/store.js";
import { sleep, until } from "../../helpers/wait.js";

/**
 * A Deacon that never writes a heartbeat (a real CLI writes one only when its role's instructions tell it
 * to) is not judged by one (B33): however short the grace, it is not restarted. Once a heartbeat file
 * exists, the watchdog's tiers apply as before (test/e2e/policy/deacon-watchdog.test.ts covers those).
 */

type Status = AgentStatusJson & { heartbeat_seen?: boolean; detail?: string | null };

const spawns = (town: SupervisedTown): number =>
  storeEvents(town.root).filter(
    (e) => e.identity === "deacon" && (e.type === "spawn_done" || e.type === "respawn_done"),
  ).length;

describe("a Deacon that never wrote a heartbeat", { timeout: 90_000 }, () => {
  let town: SupervisedTown;
  let heartbeatFile: string;

  before(async () => {
    town = await createSupervisedTown({
      patrols: { witness: { enabled: false }, refinery: { enabled: false } },
      settings: (s, h) => {
        s["agents"] = {
          ...(s["agents"] as Json),
          // generic: townd cannot read what it does, so the heartbeat watchdog alone judges it (I9).
          simlog: h.simRuntime(["--busy", "--stop-heartbeat-after", "0s"], { profile: "generic" }),
        };
        s["operational"] = {
          daemon: {
            recovery_heartbeat_interval: "500ms",
            deacon_grace_period: "2s",
            watchdog: { deacon: { stale: "2s", very_stale: "4s", grace: "2s" } },
          },
        };
      },
    });
    heartbeatFile = join(town.root, "deacon", "heartbeat.json");
    await town.start();
  });
  after(async () => {
    await town.cleanup();
  });

  it("is not restarted over 15 s with a 2 s grace; status says it has no heartbeat", async (t) => {
    const running = await town.waitFor(
      (s) => town.agent(s, "deacon").state === "running",
      20_000,
      "the deacon to be running",
    );
    const generation = town.agent(running, "deacon").generation;
    const passes = running.daemon.heartbeat_count;
    await sleep(15_000);
    const status = await town.status();
    const deacon = town.agent(status, "deacon") as Status;
    assert.ok(status.daemon.heartbeat_count >= passes + 15, `passes ran (${status.daemon.heartbeat_count})`);
    assert.equal(existsSync(heartbeatFile), false, "the deacon wrote no heartbeat file");
    assert.equal(deacon.state, "running");
    assert.equal(deacon.generation, generation, "the same generation runs");
    assert.equal(deacon.restarts, 0);
    assert.equal(deacon.heartbeat_seen, false, "status: no heartbeat seen");
    assert.equal(spawns(town), 1, "one spawn only");
    assert.equal(
      town.log().filter((r) => r.msg.startsWith("deacon: respawn")).length,
      0,
      "no watchdog respawn",
    );
    const why = await town.townd(["why", "deacon"]);
    t.diagnostic(why.stdout.split("\n").slice(0, 6).join(" | "));
  });

  it("once a heartbeat file exists, the tiers apply: stale then very stale → restarted", async () => {
    const before = town.agent(town.snapshot(), "deacon").generation;
    const beat = await town.townd(["heartbeat", "--as", "deacon"]);
    assert.equal(beat.code, 0, beat.stderr);
    assert.ok(existsSync(heartbeatFile));
    await town.waitFor(
      (s) => (town.agent(s, "deacon") as Status).heartbeat_seen === true,
      5000,
      "status to show a heartbeat seen",
    );
    // No more heartbeats: very stale 4 s after this one, and replaced then.
    const replaced = await town.waitFor(
      (s) => {
        const deacon = town.agent(s, "deacon");
        return deacon.generation !== before && deacon.restarts === 1;
      },
      15_000,
      "the deacon to be restarted as very stale",
    );
    assert.equal(town.agent(replaced, "deacon").restarts_auto, 1);
    const respawn = await until(
      "the watchdog's respawn in the log",
      () => town.log().find((r) => /^deacon: respawn \(heartbeat very stale/.test(r.msg)),
      5000,
    );
    assert.ok(respawn);
    assert.ok(spawns(town) >= 2);
  });
});
