import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { propulsionNudge } from "../../../src/agents/beacon.js";
import { HEALTH_CHECK_NUDGE } from "../../../src/policy/limits.js";
import {
  createSupervisedTown,
  inputsOf,
  type Json,
  type SupervisedTown,
} from "../../helpers/supervised-town.js";
import { conductActs, diagnose, eventsOf, sleep, spawnsOf, runningDeacon, until } from "./_helpers.js";

/**
 * Idle is not hung, on a real tmux server under the built daemon. The Deacon is the simulated Claude at its
 * prompt, without hooks (so only its heartbeat file says it is alive, and that file moves only when the
 * Deacon writes it, as the reference's Deacon whose heartbeat moves only during turns): it heartbeats until
 * 7 s after its start (its start-up is over by then), then never again. The watchdog's limits are shrunk to
 * seconds (stale 1 s, very stale 2 s),
 * so within seconds its heartbeat is very stale — the reference would kill it (B37, B135; the field's
 * 20-minute restart loop). townd reads its screen, sees it idle at its prompt, and leaves it running; one
 * HEALTH_CHECK for the stale heartbeat (B36), and, with idle_patrol_nudge_after shrunk to 3 s, the
 * Deacon's propulsion nudge (B31's) again — at doubling intervals, never at the pass rate.
 */

const NUDGE_AFTER_MS = 3000;
const WATCH_MS = 13_000;

describe("an idle Deacon is nudged, never killed", { timeout: 60_000 }, () => {
  let town: SupervisedTown;

  before(async () => {
    town = await createSupervisedTown({
      settings: (s, h) => {
        s["agents"] = {
          ...(s["agents"] as Json),
          deacon: h.simRuntime(["--heartbeat-interval", "500ms", "--stop-heartbeat-after", "7s"], {
            hooks: false,
          }),
        };
        s["role_agents"] = { deacon: "deacon" };
        s["operational"] = {
          daemon: {
            recovery_heartbeat_interval: "1m",
            watchdog: { deacon: { stale: "1s", very_stale: "2s", grace: "1s" } },
            idle_patrol_nudge_after: "3s",
          },
        };
      },
    });
    await town.start();
  });
  after(async () => {
    await town.cleanup();
  });

  it("leaves the very stale, idle Deacon running and gives it its patrol nudge again, backing off", async (t) => {
    const { generation, pid } = await runningDeacon(town);
    const idle = await until(
      "the Deacon idle at its prompt (from its screen)",
      () => eventsOf(town, "activity", "deacon").find((e) => e.data["state"] === "idle"),
      15_000,
      () => diagnose(town, "deacon"),
    );
    assert.equal(idle.data["source"], "screen");
    await sleep(Math.max(0, idle.at + WATCH_MS - Date.now()));

    const lastBeat = Date.parse(
      (JSON.parse(readFileSync(join(town.root, "deacon", "heartbeat.json"), "utf8")) as { timestamp: string })
        .timestamp,
    );
    assert.ok(
      Date.now() - lastBeat > 5000,
      `its heartbeat has been very stale (2 s) for seconds: ${new Date(lastBeat).toISOString()}, idle ${idle.ts}\n${town
        .simEntries()
        .map((e) => JSON.stringify(e))
        .join("\n")}`,
    );

    // Never killed nor restarted: the same process, one generation.
    assert.equal(spawnsOf(town, "deacon").length, 1, diagnose(town, "deacon"));
    assert.deepEqual(eventsOf(town, "kill_done", "deacon"), []);
    const pane = await town.pane("hq-deacon");
    assert.equal(pane?.pid, pid);
    assert.equal(pane.generation, generation);
    const status = await town.forcePasses(town.snapshot().daemon.heartbeat_count + 1, 10_000);
    const deacon = town.agent(status, "deacon");
    assert.equal(deacon.state, "running");
    assert.equal(deacon.activity?.state, "idle");
    // Nothing for a person to see: idle is an agent's normal state between turns.
    assert.ok(deacon.detail === null || /: patrol nudge/.test(deacon.detail ?? ""), String(deacon.detail));

    // Its stale heartbeat got the one HEALTH_CHECK of B36, and no more.
    const inputs = inputsOf(town.simEntries(), generation);
    assert.equal(inputs.filter((e) => e.text === HEALTH_CHECK_NUDGE).length, 1);

    // Idle for 3 s: its propulsion nudge; unanswered by a turn, the next after 6 s more, not every pass.
    const nudges = conductActs(town, "deacon");
    t.diagnostic(`patrol nudges ${nudges.map((e) => e.at - idle.at).join(", ")} ms into the idle spell`);
    assert.equal(nudges.length, 2, nudges.map((e) => `${e.ts} ${e.reason}`).join("\n"));
    const [first, second] = nudges as [(typeof nudges)[0], (typeof nudges)[0]];
    assert.equal(first.data["act"], "nudge");
    assert.equal(first.data["message"], propulsionNudge("deacon"));
    assert.match(first.reason, /^idle at its prompt for \d+s: patrol nudge$/);
    assert.match(second.reason, /^idle at its prompt for \d+s: patrol nudge \(2\)$/);
    // Daemon time is the wall clock to the second (its monotonic clock, aligned once): 1 s of tolerance.
    assert.ok(
      first.at - idle.at >= NUDGE_AFTER_MS - 1000,
      `first nudge ${first.at - idle.at} ms into the spell`,
    );
    assert.ok(
      second.at - first.at >= 2 * NUDGE_AFTER_MS - 1000,
      `the next one ${second.at - first.at} ms later: twice the wait, not at the pass rate`,
    );
    const typed = inputs.filter((e) => e.text === propulsionNudge("deacon"));
    assert.equal(typed.length, 3, "the start-up's propulsion nudge, then conduct's two");
  });
});
