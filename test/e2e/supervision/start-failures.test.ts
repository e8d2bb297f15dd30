import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  createSupervisedTown,
  type AgentStatusJson,
  type CliRun,
  type Json,
  type SupervisedTown,
} from "../../helpers/supervised-town.js";
import { storeEvents } from "../../helpers/store.js";
import { sleep, until } from "../../helpers/wait.js";

/**
 * Agents whose CLI cannot start, on a real tmux server under the built daemon: Claude's root refusal
 * (the simulated agent prints it and exits 1, as the real CLI does) and a runtime whose command does not
 * exist. Either is a configuration problem, not a death: state `failed-to-start` with its cause and fix,
 * one `failed_to_start` alert per agent, no mass death, and the next attempt an hour away.
 */

type Status = AgentStatusJson & {
  detail?: string | null;
  failed_to_start?: { cause: string; fix: string; line: string | null; since: string } | null;
};

const PATROLS = ["deacon", "r1/witness", "r1/refinery"];
const HOUR_MS = 60 * 60 * 1000;

const eventsOf = (town: SupervisedTown, type: string): ReturnType<typeof storeEvents> =>
  storeEvents(town.root).filter((e) => e.type === type);

const isRoot = process.getuid?.() === 0;

describe(
  "Claude's root refusal is a failed start, not a crash",
  { timeout: 90_000, skip: isRoot ? false : "the root refusal needs root" },
  () => {
    let town: SupervisedTown;

    before(async () => {
      town = await createSupervisedTown({
        rigs: ["r1"],
        settings: (s, h) => {
          s["agents"] = {
            ...(s["agents"] as Json),
            // The environment may carry IS_SANDBOX (e.g. "yes"): the runtime sets it to what Claude refuses.
            simlog: h.simRuntime(["--dangerously-skip-permissions"], { env: { IS_SANDBOX: "" } }),
          };
          // Passes every 500 ms, so "not repeated over several passes" means something.
          s["operational"] = { daemon: { recovery_heartbeat_interval: "500ms" } };
        },
      });
      await town.start();
    });
    after(async () => {
      await town.cleanup();
    });

    it("marks all three patrol agents failed-to-start with the fix, one alert each, no mass death", async (t) => {
      const status = await town.waitFor(
        (s) => PATROLS.every((id) => town.agent(s, id).state === "failed-to-start"),
        20_000,
        "the three patrol agents to be failed-to-start",
      );
      const firstPasses = status.daemon.heartbeat_count;
      // Several more passes: nothing new.
      await until("6 more passes", () => town.snapshot().daemon.heartbeat_count >= firstPasses + 6, 15_000);
      const later = await town.status();
      for (const identity of PATROLS) {
        const agent = town.agent(later, identity) as Status;
        assert.equal(agent.state, "failed-to-start", identity);
        assert.match(agent.detail ?? "", /root/, `${identity}: detail names the cause`);
        assert.match(agent.detail ?? "", /IS_SANDBOX/, `${identity}: detail names the fix`);
        assert.match(agent.failed_to_start?.line ?? "", /cannot be used with root/);
        assert.equal(agent.held_by, "failed-to-start", `${identity} is held by its failed start`);
        const heldFor = Date.parse(agent.held_until ?? "") - Date.now();
        assert.ok(
          heldFor > HOUR_MS - 60_000 && heldFor <= HOUR_MS,
          `${identity}: next attempt in ${heldFor} ms`,
        );
        assert.ok(agent.restarts <= 1, `${identity}: ${agent.restarts} restarts`);
        const alerts = eventsOf(town, "failed_to_start").filter((e) => e.identity === identity);
        assert.equal(alerts.length, 1, `${identity}: one failed_to_start event`);
      }
      assert.deepEqual(eventsOf(town, "mass_death"), [], "no mass_death event");
      assert.equal(
        town.log().filter((r) => r.msg.startsWith("ALERT mass_death")).length,
        0,
        "no mass_death alert in the log",
      );
      const sims = town.simEntries().filter((e) => e.type === "exit");
      t.diagnostic(`sim exits: ${sims.length}; passes: ${town.snapshot().daemon.heartbeat_count}`);
      assert.ok(sims.length <= PATROLS.length * 2, `${sims.length} sim starts: no retry storm`);
    });

    it("`townd why` names the cause; `townd reset` retries at once", async () => {
      const why = await town.townd(["why", "deacon"]);
      assert.equal(why.code, 0, why.stderr);
      assert.match(why.stdout, /root/);
      assert.match(why.stdout, /IS_SANDBOX/);

      const before = town.agent(town.snapshot(), "deacon").generation;
      assert.ok(before !== null);
      const reset = await town.townd(["reset", "deacon"]);
      assert.equal(reset.code, 0, reset.stderr);
      // A new generation starts at once (not an hour later), and fails again for the same reason.
      const again = await town.waitFor(
        (s) => {
          const deacon = town.agent(s, "deacon");
          return deacon.generation !== before && deacon.state === "failed-to-start";
        },
        10_000,
        "a new deacon generation, failed-to-start again",
      );
      const generation = town.agent(again, "deacon").generation ?? "";
      assert.ok(
        town.simEntries().some((e) => e.type === "exit" && e.generation === generation),
        "the new generation ran (and refused)",
      );
      assert.equal(town.agent(again, "deacon").held_by, "failed-to-start");
      assert.deepEqual(eventsOf(town, "mass_death"), []);
    });
  },
);

describe("a runtime whose command does not exist", { timeout: 60_000 }, () => {
  let town: SupervisedTown;
  let started: CliRun;
  const missing = "/nonexistent/townd-test/no-such-cli";

  before(async () => {
    town = await createSupervisedTown({
      rigs: ["r1"],
      patrols: { refinery: { enabled: false } },
      settings: (s, h) => {
        s["agents"] = { ...(s["agents"] as Json), gone: h.simRuntime([], { command: missing }) };
        s["role_agents"] = { witness: "gone" };
        s["operational"] = { daemon: { recovery_heartbeat_interval: "500ms" } };
      },
    });
    started = await town.townd(["start"]);
  });
  after(async () => {
    await town.cleanup();
  });

  it("warns at `townd start`, never creates a session, one alert, and the other agents run", async () => {
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stdout, /Daemon started/);
    const warnings = started.stderr.split("\n").filter((line) => line.startsWith("⚠"));
    assert.equal(warnings.length, 1, `one warning line: ${started.stderr}`);
    assert.ok(warnings[0]?.includes(missing), `the warning names the command: ${warnings[0]}`);

    const status = await town.waitFor(
      (s) =>
        town.agent(s, "r1/witness").state === "failed-to-start" &&
        town.agent(s, "deacon").state === "running",
      20_000,
      "the witness failed-to-start and the deacon running",
    );
    const passes = status.daemon.heartbeat_count;
    await until("6 more passes", () => town.snapshot().daemon.heartbeat_count >= passes + 6, 15_000);
    await sleep(200);
    const witness = town.agent(await town.status(), "r1/witness") as Status;
    assert.equal(witness.state, "failed-to-start");
    assert.ok(witness.detail?.includes(missing), `detail names the command: ${witness.detail}`);
    assert.equal(witness.generation, null, "never started");
    assert.equal(witness.pid, null);
    assert.equal(witness.restarts, 0);
    const sessions = (await town.panes()).map((p) => p.session);
    assert.deepEqual(sessions, ["hq-deacon"], "no session for the witness, ever");
    assert.equal(
      town.log().filter((r) => r.msg.startsWith("Started ") && r.agent === "r1/witness").length,
      0,
      "the daemon never started it",
    );
    const alerts = eventsOf(town, "failed_to_start");
    assert.deepEqual(
      alerts.map((e) => e.identity),
      ["r1/witness"],
      "one failed_to_start event, for the witness",
    );
    assert.deepEqual(eventsOf(town, "mass_death"), []);
  });
});
