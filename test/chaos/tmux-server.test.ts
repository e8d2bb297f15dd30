import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  createSupervisedTown,
  type LogRecord,
  type PaneRow,
  type SupervisedTown,
} from "../helpers/supervised-town.js";
import { chaosRandom, eventRows, killDaemon, sleep, tmuxServers } from "./_helpers.js";

/**
 * The town's tmux server dies under running agents (OOM killer, `tmux kill-server`, a reboot). A server loss
 * is not the agents' fault: every agent must be back after the next pass, with no backoff, no crash-loop
 * count, no spawn-budget charge and no mass_death alert, however often it happens. Also when the server was
 * lost while the daemon itself was down (a reboot), which the daemon only notices when it starts.
 */

const SESSIONS = ["gt-r1-refinery", "gt-r1-witness", "gt-r2-refinery", "gt-r2-witness", "hq-deacon"];
const ALERTS = ["mass_death", "crash_loop", "spawn_budget_exhausted"];

function allUp(panes: readonly PaneRow[], old: readonly PaneRow[]): boolean {
  return (
    panes
      .map((p) => p.session)
      .sort()
      .join() === SESSIONS.join() &&
    panes.every((p) => !p.dead && !old.some((o) => o.session === p.session && o.generation === p.generation))
  );
}

function agentsFileTown(town: SupervisedTown): { spawn_times: string[]; deaths: unknown[] } {
  return (town.readJson("daemon/agents.json")["town"] ?? { spawn_times: [], deaths: [] }) as {
    spawn_times: string[];
    deaths: unknown[];
  };
}

describe("chaos: the tmux server is killed while agents run", { timeout: 90_000 }, () => {
  const { seed, random } = chaosRandom(0x746d7578);
  let town: SupervisedTown;

  before(async () => {
    town = await createSupervisedTown({
      rigs: ["r1", "r2"],
      settings: (s) => {
        s["operational"] = { daemon: { recovery_heartbeat_interval: "300ms" } };
      },
    });
    await town.start();
    await town.waitFor(
      (s) => s.agents.filter((a) => a.state === "running").length === SESSIONS.length,
      30_000,
      "five agents running",
    );
  });
  after(async () => {
    await town.cleanup();
  });

  it("3 server kills at random moments (two mid start-up): every agent back after the next pass, nothing charged", async (t) => {
    t.diagnostic(`CHAOS_SEED=${seed}`);
    for (let round = 1; round <= 3; round++) {
      const before = await town.panes();
      assert.equal(before.length, SESSIONS.length);
      await sleep(Math.floor(random() * 400));
      const logBefore = town.log().length;
      const killed = await town.tmux(["kill-server"]);
      assert.equal(killed.code, 0, killed.stderr);
      const signalledAt = Date.now();
      town.signal("SIGUSR1");
      const back = await town.waitForPanes(
        (ps) => allUp(ps, before),
        15_000,
        `round ${round}: every agent back`,
      );
      t.diagnostic(`round ${round}: ${back.length} agents back ${Date.now() - signalledAt} ms after SIGUSR1`);

      // Within one pass: the pass that found the server gone started every agent before it completed. (The
      // panes exist a moment before the daemon logs them: wait for the end of that pass.)
      const passBounds = (records: LogRecord[]): [number, number] => {
        const from = records.findIndex((r) => r.msg === "tmux server is not running; starting it");
        return [
          from,
          records.findIndex((r, i) => from >= 0 && i > from && r.msg.startsWith("Heartbeat complete")),
        ];
      };
      const deadline = Date.now() + 10_000;
      while (passBounds(town.log().slice(logBefore))[1] < 0 && Date.now() < deadline) await sleep(25);
      const log = town.log().slice(logBefore);
      const [restartAt, passEnd] = passBounds(log);
      assert.ok(restartAt >= 0, "the daemon noticed the server was gone");
      const started = log
        .slice(restartAt, passEnd < 0 ? undefined : passEnd)
        .filter((r) => r.msg.startsWith("Started "));
      assert.equal(
        started.length,
        SESSIONS.length,
        `one pass started all five:\n${log.map((r) => `${r.time} ${r.level} ${r.msg}`).join("\n")}`,
      );
      assert.equal(tmuxServers(town.root).length, 1, "one tmux server");
      // Rounds 1 and 2 kill the next server while the new agents are still in their start-up sequence.
      if (round === 3) {
        await town.waitFor(
          (s) => s.agents.filter((a) => a.state === "running").length === SESSIONS.length,
          30_000,
          "start-up sequences done",
        );
      }
    }

    const alerts = eventRows(town.root).filter((e) => ALERTS.includes(e.type));
    assert.deepEqual(
      alerts.map((e) => `${e.type}: ${e.reason}`),
      [],
      "no alert: a lost server is not agent deaths",
    );
    const status = town.snapshot();
    for (const agent of status.agents) {
      assert.equal(agent.failures, 0, `${agent.identity}'s failure streak is untouched`);
      assert.equal(agent.next_attempt_at, null, `${agent.identity} has no backoff`);
    }
    const record = agentsFileTown(town);
    assert.deepEqual(record.spawn_times, [], "server restarts are not charged to the spawn budget");
    assert.deepEqual(record.deaths, [], "nor counted toward mass death");

    // And a real crash right after is restarted at once, not held by anything the server losses left behind.
    const witness = await town.pane("gt-r1-witness");
    assert.ok(witness !== undefined);
    process.kill(witness.pid, "SIGKILL");
    const killedAt = Date.now();
    await town.waitForPanes(
      (ps) => ps.some((p) => p.session === "gt-r1-witness" && !p.dead && p.pid !== witness.pid),
      5000,
      "the witness to be respawned after its crash",
    );
    t.diagnostic(`a crash after the server losses: respawned in ${Date.now() - killedAt} ms`);
  });

  it(
    "the server lost while the daemon was down (a reboot): every agent back at the first pass, no mass_death",
    {},
    async (t) => {
      await town.waitFor(
        (s) => s.agents.filter((a) => a.state === "running").length === SESSIONS.length,
        30_000,
        "five agents running",
      );
      const before = await town.panes();
      await killDaemon(town);
      const killed = await town.tmux(["kill-server"]);
      assert.equal(killed.code, 0, killed.stderr);
      const eventsBefore = eventRows(town.root).length;
      const startedAt = Date.now();
      await town.start();
      try {
        await town.waitForPanes((ps) => allUp(ps, before), 5000, "every agent back after the restart");
        t.diagnostic(`all five back ${Date.now() - startedAt} ms after townd start`);
      } finally {
        const alerts = eventRows(town.root)
          .slice(eventsBefore)
          .filter((e) => ALERTS.includes(e.type));
        assert.deepEqual(
          alerts.map((e) => `${e.type}: ${e.reason}`),
          [],
          "no alert",
        );
      }
    },
  );
});
