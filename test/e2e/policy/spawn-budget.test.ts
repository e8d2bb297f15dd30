import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  createSupervisedTown,
  type AgentStatusJson,
  type Json,
  type StatusJson,
  type SupervisedTown,
} from "../../helpers/supervised-town.js";
import {
  alertLines,
  feedEvents,
  logTail,
  sleep,
  storeEvents,
  timeOf,
  until,
  type StoreEvent,
} from "./_helpers.js";

/**
 * The town-wide spawn budget (ARCHITECTURE I3): at most `spawn_budget.count` automatic restarts within
 * `spawn_budget.window`, whoever needs them. Two agents (the Deacon and the Mayor) crash the moment they start,
 * with small backoffs and a crash-loop count too high to matter; with a budget of 3 per minute, the fourth
 * automatic restart waits, ONE spawn_budget_exhausted alert is raised, and both agents show `backoff`.
 * A manual `townd restart` is not held back by the budget.
 */

const AGENTS = ["deacon", "mayor"];
const both = (status: StatusJson): AgentStatusJson[] =>
  status.agents.filter((a) => AGENTS.includes(a.identity));

describe("the town-wide spawn budget: 3 automatic restarts per minute (I3)", { timeout: 90_000 }, () => {
  let town: SupervisedTown;
  let alertAt = 0;

  before(async () => {
    town = await createSupervisedTown({
      patrols: { mayor: { enabled: true }, witness: { enabled: false }, refinery: { enabled: false } },
      settings: (s, h) => {
        s["agents"] = {
          ...(s["agents"] as Json),
          crashy: h.simRuntime(["--crash-after", "0s", "--exit-code", "3"]),
        };
        s["role_agents"] = { deacon: "crashy", mayor: "crashy" };
        s["operational"] = {
          daemon: {
            death_poll_interval: "250ms",
            spawn_budget: { count: 3, window: "1m" },
            restart: { initial_backoff: "300ms", max_backoff: "600ms", crash_loop_count: 50 },
          },
        };
      },
    });
  });
  after(async () => {
    await town.cleanup();
  });

  const spawns = (): StoreEvent[] =>
    storeEvents(town.root).filter(
      (e) => AGENTS.includes(e.identity ?? "") && (e.type === "spawn_done" || e.type === "respawn_done"),
    );

  it("allows 3 automatic restarts town-wide, then holds every restart with ONE spawn_budget_exhausted alert", async (t) => {
    const startedAt = Date.now();
    await town.start();
    const alert = await until(
      "the spawn_budget_exhausted alert",
      () => alertLines(town, "spawn_budget_exhausted")[0],
      20_000,
      () => logTail(town),
    );
    alertAt = timeOf(alert);
    t.diagnostic(`budget exhausted ${alertAt - startedAt} ms after townd start`);
    assert.equal(
      alert.msg,
      "ALERT spawn_budget_exhausted: Town-wide spawn budget exhausted (3 automatic restarts within 1m0s); " +
        "automatic restarts wait",
    );

    // Both agents keep crashing at once and their backoffs (≤ 600 ms) run out again and again: many passes,
    // yet no further restart and no second alert.
    await sleep(5000);
    await town.forcePasses(town.snapshot().daemon.heartbeat_count + 5, 10_000);
    const started = spawns();
    t.diagnostic(
      `spawns: ${started.map((e) => `${e.identity} ${e.type} +${e.at - (started[0]?.at ?? 0)}ms`).join(", ")}`,
    );
    assert.equal(started.filter((e) => e.type === "spawn_done").length, 2, "each agent's first start");
    assert.equal(started.filter((e) => e.type === "respawn_done").length, 3, "exactly 3 automatic restarts");
    // Exactly 3 restarts after 5 s and 5 more forced passes of agents that keep crashing proves the budget
    // held. (Restarts decided in the alert's own pass are recorded after the alert, so comparing times
    // with the alert would only test event order within a pass.)
    assert.equal(alertLines(town, "spawn_budget_exhausted").length, 1, "ONE alert");
    assert.equal(storeEvents(town.root).filter((e) => e.type === "spawn_budget_exhausted").length, 1);
    const feed = feedEvents(town.root).filter((e) => e.type === "spawn_budget_exhausted");
    assert.equal(feed.length, 1, "one line in .events.jsonl");
    assert.equal(feed[0]?.actor, "daemon");
    // Neither agent died three-at-once (two agents) nor crash-looped (count 50).
    assert.equal(alertLines(town, "mass_death").length, 0);
    assert.equal(alertLines(town, "crash_loop").length, 0);

    const status = await town.status();
    for (const agent of both(status)) {
      assert.equal(agent.state, "backoff", `${agent.identity} waits`);
      assert.equal(agent.last_exit, "pane died (exit status 3)");
    }
    assert.equal(
      both(status).reduce((sum, a) => sum + a.restarts_auto, 0),
      3,
      "3 automatic restarts in all",
    );
    const town_ = town.readJson("daemon/agents.json")["town"] as Json;
    assert.equal((town_["spawn_times"] as unknown[]).length, 3);
    assert.notEqual(town_["budget_exhausted_since"], null);
    const holds = town
      .log()
      .filter((r) => /^(deacon|mayor): wait \(spawn budget exhausted: pane died/.test(r.msg));
    assert.deepEqual([...new Set(holds.map((r) => r.agent))].sort(), AGENTS, "the log says why each waits");
  });

  it("does not hold back a manual `townd restart`, nor count it against the budget", async (t) => {
    const before = town.agent(town.snapshot(), "mayor");
    const count = spawns().length;
    const sent = Date.now();
    const restart = await town.townd(["restart", "mayor"]);
    assert.equal(restart.code, 0, restart.stderr);
    const spawn = await until(
      "the manual restart",
      () => spawns()[count],
      5000,
      () => logTail(town),
    );
    t.diagnostic(`townd restart -> respawn ${spawn.at - sent} ms while the budget is exhausted`);
    assert.equal(spawn.identity, "mayor");
    assert.equal(spawn.reason, "restart requested: townd restart");
    // It crashes again and waits: the budget is still exhausted, and there is still only one alert.
    const after = town.agent(
      await town.waitFor(
        (s) =>
          s.agents.some(
            (a) => a.identity === "mayor" && a.generation === spawn.generation && a.state === "backoff",
          ),
        10_000,
        "the restarted mayor to crash and wait again",
      ),
      "mayor",
    );
    assert.equal(after.restarts_manual, before.restarts_manual + 1);
    assert.equal(after.restarts_auto, before.restarts_auto);
    await sleep(1500);
    assert.equal(spawns().length, count + 1, "no automatic restart followed");
    assert.equal(
      ((town.readJson("daemon/agents.json")["town"] as Json)["spawn_times"] as unknown[]).length,
      3,
    );
    assert.equal(alertLines(town, "spawn_budget_exhausted").length, 1);
  });
});
