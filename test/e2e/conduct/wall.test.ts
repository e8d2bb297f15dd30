import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { LIFT_CONFIRM_MS, WALL_CONTINUATION } from "../../../src/conduct/walls.js";
import {
  createSupervisedTown,
  inputsOf,
  type Json,
  type SupervisedTown,
} from "../../helpers/supervised-town.js";
import {
  conductActs,
  diagnose,
  eventsOf,
  notifications,
  simLogOf,
  sleep,
  spawnsOf,
  runningDeacon,
  typeLine,
  until,
} from "./_helpers.js";

/**
 * A usage-limit wall on a real tmux server under the built daemon. The Deacon (the simulated Claude, with
 * townd's hooks) hits its session limit with a reset about a minute ahead, drawn as Claude draws it
 * (`You've hit your session limit · resets 3:42pm (UTC)`, a StopFailure hook carrying that banner, the
 * /rate-limit-options menu), and its heartbeat goes quiet: the watchdog's stale and very-stale limits
 * (shrunk to seconds) pass long before the reset. townd must neither kill nor restart it (I9; the watchdog
 * kill of B37/B135 is for agents that are working or unreadable), tell a person once, and wake it only
 * after the reset plus the skew (shrunk to 2 s): the menu's "Stop and wait for limit to reset", then a
 * continuation nudge (B116), after which it works again. Passes are not forced: recovery_heartbeat_interval
 * is a minute, so every step comes from the passes conduct schedules itself.
 */

const SKEW_MS = 2000;
const VERY_STALE_MS = 6000;

describe("a usage-limit wall, woken after its reset", { timeout: 180_000 }, () => {
  let town: SupervisedTown;
  let notes: string;

  before(async () => {
    town = await createSupervisedTown({
      settings: (s, h) => {
        notes = join(h.root, "notes.jsonl");
        s["agents"] = {
          ...(s["agents"] as Json),
          // Heartbeats for the first 3 s (the file exists, so the watchdog is armed: B33), then none.
          deacon: h.simRuntime(["--heartbeat-interval", "500ms", "--stop-heartbeat-after", "3s"]),
        };
        s["role_agents"] = { deacon: "deacon" };
        s["operational"] = {
          daemon: {
            recovery_heartbeat_interval: "1m",
            watchdog: { deacon: { stale: "3s", very_stale: "6s", grace: "3s" } },
            usage_limits: { wake_skew: "2s", wake_stagger: "1s", group_window: "2s", wake_check: "5s" },
            notify_command: `cat >> ${notes}`,
          },
        };
      },
    });
    await town.start();
  });
  after(async () => {
    await town.cleanup();
  });

  it("holds the walled Deacon, alerts once, wakes it after reset + skew through the menu, and it works again", async (t) => {
    const { generation, pid } = await runningDeacon(town);

    // A reset on the whole minute nearest to a minute from now (the banner shows minutes): 30–90 s ahead.
    const now = Date.now();
    const resetsAt = Math.round((now + 60_000) / 60_000) * 60_000;
    const seconds = Math.floor((resetsAt - now) / 1000) - 3;
    await typeLine(town, "hq-deacon", `/sim wall ${seconds}s --menu`);

    // townd reads the reset to the minute from the StopFailure hook's banner.
    const walled = await town.waitFor(
      (s) => town.agent(s, "deacon").activity?.state === "rate-limited",
      10_000,
      "the Deacon to be rate-limited",
    );
    const activity = town.agent(walled, "deacon").activity;
    assert.equal(activity?.source, "hook");
    assert.equal(activity.limit, "session");
    assert.equal(activity.resets_at, new Date(resetsAt).toISOString());
    assert.equal(simLogOf(town, generation, "wall")[0]?.["resets_at"], new Date(resetsAt).toISOString());
    const wallAt = Date.parse(activity.since);
    t.diagnostic(`walled ${((resetsAt - wallAt) / 1000).toFixed(1)} s before its reset`);

    // One alert for the wall, once its group window (2 s) closed: event, mayor mail, notify_command.
    const alert = await until(
      "the usage_limit alert",
      () => eventsOf(town, "usage_limit")[0],
      10_000,
      () => diagnose(town),
    );
    // A time in the daemon's zone, with the date when it is not today (a test run around midnight).
    assert.match(alert.reason, /^usage limit: deacon until (\d{4}-\d\d-\d\d )?\d\d:\d\d$/);
    assert.deepEqual(alert.data["agents"], ["deacon"]);
    await until("the usage_limit notification", () => notifications(notes).length >= 1, 5000);
    assert.equal(notifications(notes)[0]?.type, "usage_limit");

    // Woken once the reset and the skew have passed: the activity leaves rate-limited.
    await town.waitFor(
      (s) => town.agent(s, "deacon").activity?.state === "idle",
      resetsAt + SKEW_MS + 30_000 - Date.now(),
      "the Deacon to work again and be back at its prompt",
    );
    const wakes = conductActs(town, "deacon");
    assert.equal(wakes.length, 1, wakes.map((e) => `${e.ts} ${JSON.stringify(e.data)}`).join("\n"));
    const [wake] = wakes;
    assert.ok(wake !== undefined);
    assert.equal(wake.data["act"], "wall-wake");
    assert.match(wake.reason, /^usage limit \(session, resets (\d{4}-\d\d-\d\d )?\d\d:\d\d\): wake 1$/);
    assert.ok(
      wake.at >= resetsAt + SKEW_MS,
      `woken at ${wake.ts}, not before the reset ${new Date(resetsAt).toISOString()} + ${SKEW_MS} ms`,
    );
    t.diagnostic(`woken ${wake.at - resetsAt} ms after the reset (skew ${SKEW_MS} ms)`);
    const keys = eventsOf(town, "keys_done", "deacon");
    assert.equal(keys.length, 1);

    // The keys went in only after the reset: the menu's wait option, then the continuation nudge.
    const [answer] = simLogOf(town, generation, "dialog");
    assert.equal(answer?.["choice"], "Stop and wait for limit to reset");
    assert.ok(Date.parse(answer.ts) >= resetsAt + SKEW_MS, `menu answered at ${answer.ts}`);
    const continued = inputsOf(town.simEntries(), generation).filter((e) => e.text === WALL_CONTINUATION);
    assert.equal(continued.length, 1);
    assert.ok(Date.parse(continued[0]?.ts ?? "") >= resetsAt + SKEW_MS);
    const turns = eventsOf(town, "activity", "deacon").filter((e) => e.at >= wake.at);
    assert.ok(
      turns.some((e) => /^rate-limited → working \(hook\): UserPromptSubmit/.test(e.reason)),
      turns.map((e) => e.reason).join("\n"),
    );

    // The watchdog saw its heartbeat stale, then very stale, long before the reset; it did not kill it.
    assert.ok(resetsAt - wallAt > VERY_STALE_MS, "the wall outlasted the very-stale limit");
    assert.ok(
      town.log().some((r) => /^deacon: nudge \(heartbeat stale/.test(r.msg) && Date.parse(r.time) > wallAt),
      "the watchdog found the walled Deacon's heartbeat stale",
    );
    assert.equal(spawnsOf(town, "deacon").length, 1, "never restarted");
    assert.deepEqual(eventsOf(town, "kill_done", "deacon"), [], "never killed");
    assert.ok(!town.log().some((r) => r.msg.startsWith("Killed session hq-deacon")));
    const pane = await town.pane("hq-deacon");
    assert.equal(pane?.pid, pid, "the same process all along");
    assert.equal(pane.generation, generation);

    // One alert when it lifted (once it has been out of the wall for LIFT_CONFIRM_MS); nothing more after.
    const lifted = await until(
      "the usage_limit_lifted alert",
      () => eventsOf(town, "usage_limit_lifted")[0],
      LIFT_CONFIRM_MS + 15_000,
      () => diagnose(town),
    );
    assert.match(lifted.reason, /^usage limit lifted: deacon working again$/);
    await town.forcePasses(town.snapshot().daemon.heartbeat_count + 3, 10_000);
    await sleep(500);
    assert.equal(eventsOf(town, "usage_limit").length, 1);
    assert.equal(eventsOf(town, "usage_limit_lifted").length, 1);
    assert.deepEqual(eventsOf(town, "usage_limit_wake_failed"), []);
    assert.deepEqual(
      notifications(notes).map((n) => [n.type, n.agents]),
      [
        ["usage_limit", ["deacon"]],
        ["usage_limit_lifted", ["deacon"]],
      ],
    );
  });
});
