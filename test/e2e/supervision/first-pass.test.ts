import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  createSupervisedTown,
  exeOf,
  inputsOf,
  processEnv,
  sessionNames,
  type StatusJson,
  type SupervisedTown,
} from "../../helpers/supervised-town.js";

/**
 * A fresh town, a real private tmux server, the built daemon: what the very first reconcile pass starts,
 * how each agent is started (as the pane's first process, with its identity in its environment), and the
 * start-up sequence every new agent gets (B30, B31, §15).
 */

const PROPULSION: Record<string, string> = {
  deacon: "Run `gt prime` to check patrol status and begin heartbeat cycle.",
  mayor: "Run `gt prime` to check mail and begin coordination.",
  witness: "Run `gt prime` to check patrol status and begin work.",
  refinery: "Run `gt prime` to check MQ status and begin patrol.",
};

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

describe("first pass of a fresh town with two rigs", { timeout: 90_000 }, () => {
  let town: SupervisedTown;
  let afterFirst: StatusJson;

  before(async () => {
    town = await createSupervisedTown({ rigs: ["r1", "r2"] });
    await town.start();
    afterFirst = await town.waitFor((s) => s.daemon.heartbeat_count >= 1, 15_000, "the first pass");
  });
  after(async () => {
    await town.cleanup();
  });

  const expected = ["gt-r1-refinery", "gt-r1-witness", "gt-r2-refinery", "gt-r2-witness", "hq-deacon"];

  it("starts the deacon and every rig's witness and refinery in the first pass, and no mayor (B5, B20, B21)", async () => {
    // The log is the pass-by-pass record: every start happened before "Heartbeat complete (#1)".
    const upToFirst = await town.waitForLog((r) => r.msg === "Heartbeat complete (#1)", 10_000, "pass #1");
    assert.deepEqual(upToFirst.at(-1)?.reasons, ["start"]);
    const started = upToFirst
      .filter((r) => r.msg.startsWith("Started "))
      .map((r) => r.agent)
      .sort();
    assert.deepEqual(started, ["deacon", "r1/refinery", "r1/witness", "r2/refinery", "r2/witness"]);
    assert.ok(
      town
        .log()
        .slice(upToFirst.length)
        .every((r) => !r.msg.startsWith("Started ")),
      "nothing is started after the first pass",
    );

    assert.equal(afterFirst.daemon.running, true);
    assert.ok(afterFirst.daemon.heartbeat_count >= 1);
    assert.deepEqual(sessionNames(await town.panes()), expected);

    const status = await town.status();
    assert.equal(status.tmux.socket, town.socket);
    const mayor = town.agent(status, "mayor");
    assert.equal(mayor.state, "disabled");
    assert.equal(mayor.pid, null);
    for (const identity of ["deacon", "r1/witness", "r1/refinery", "r2/witness", "r2/refinery"]) {
      const agent = town.agent(status, identity);
      assert.ok(["starting", "running"].includes(agent.state), `${identity} is ${agent.state}`);
      assert.equal(agent.restarts, 0);
      assert.equal(agent.last_reason, "no session");
    }
  });

  it("runs each agent as its pane's first process, with its identity and generation in its environment (B30, B51)", async () => {
    // A new node process shows as "node" for a moment, until the agent sets its title.
    const panes = await town.waitForPanes(
      (ps) => ps.length === 5 && ps.every((p) => p.command === "2.1.7"),
      15_000,
      "every agent to show its title",
    );
    const status = await town.status();
    const starts = town.simEntries().filter((e) => e.type === "start");
    for (const pane of panes) {
      const agent = status.agents.find((a) => a.session === pane.session);
      assert.ok(agent !== undefined, `status lists ${pane.session}`);
      assert.equal(pane.dead, false);
      assert.equal(pane.command, "2.1.7", `${pane.session} shows the sim agent's title`);
      assert.equal(pane.identity, agent.identity, "@townd_identity");
      assert.ok(pane.generation !== "", "@townd_generation is set");
      assert.equal(pane.generation, agent.generation, "status reports the pane's generation");
      assert.equal(agent.pid, pane.pid);

      // The pane's pid IS the sim agent: node, and it logged its own start with that pid and generation.
      assert.equal(exeOf(pane.pid), process.execPath);
      const start = starts.find((e) => e.pid === pane.pid);
      assert.ok(start !== undefined, `the sim agent of ${pane.session} logged its start as pid ${pane.pid}`);
      assert.equal(start.generation, pane.generation);
      assert.equal(start.identity, agent.identity);

      const env = processEnv(pane.pid);
      assert.equal(env["GT_ROLE"], agent.role);
      assert.equal(env["BD_ACTOR"], agent.identity);
      assert.equal(env["TOWND_GENERATION"], pane.generation);
      assert.equal(env["TOWND_IDENTITY"], agent.identity);
      assert.equal(env["TOWND_SESSION"], pane.session);
      assert.equal(env["GT_TOWN_ROOT"], town.root);
      assert.equal(env["GT_ROOT"], town.root);
      if (agent.rig !== null) assert.equal(env["GT_RIG"], agent.rig);
      if (agent.role === "refinery") {
        assert.equal(env["GT_REFINERY"], "1");
        assert.equal(env["BEADS_NO_DAEMON"], "1");
      } else {
        assert.equal(env["GT_REFINERY"], undefined);
      }
    }
  });

  it("nudges each new agent with the startup beacon, then 2 s later its role's propulsion nudge (B31)", async () => {
    const status = await town.waitFor(
      (s) => s.agents.filter((a) => a.state === "running").length === 5,
      30_000,
      "every agent to finish its start-up sequence",
    );
    const entries = town.simEntries();
    for (const agent of status.agents.filter((a) => a.state === "running")) {
      assert.ok(agent.generation !== null);
      const inputs = inputsOf(entries, agent.generation);
      assert.equal(inputs.length, 2, `${agent.identity} got exactly two inputs: ${JSON.stringify(inputs)}`);
      const [beacon, propulsion] = inputs;
      assert.match(
        beacon?.text ?? "",
        new RegExp(
          `^\\[GAS TOWN\\] ${escapeRegExp(agent.identity)} <- daemon • \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d • patrol$`,
        ),
      );
      assert.equal(propulsion?.text, PROPULSION[agent.role]);
      const gap = Date.parse(propulsion?.ts ?? "") - Date.parse(beacon?.ts ?? "");
      assert.ok(gap >= 1900, `${agent.identity}: propulsion ${gap} ms after the beacon (expected about 2 s)`);
    }
  });
});

describe("first pass with the mayor patrol enabled", { timeout: 60_000 }, () => {
  let town: SupervisedTown;

  before(async () => {
    town = await createSupervisedTown({ patrols: { mayor: { enabled: true } } });
  });
  after(async () => {
    await town.cleanup();
  });

  it("starts hq-mayor next to hq-deacon in the first pass, as the mayor (B79)", async () => {
    await town.start();
    await town.waitFor((s) => s.daemon.heartbeat_count >= 1, 15_000, "the first pass");
    const upToFirst = await town.waitForLog((r) => r.msg === "Heartbeat complete (#1)", 10_000, "pass #1");
    const started = upToFirst
      .filter((r) => r.msg.startsWith("Started "))
      .map((r) => r.agent)
      .sort();
    assert.deepEqual(started, ["deacon", "mayor"]);
    assert.deepEqual(sessionNames(await town.panes()), ["hq-deacon", "hq-mayor"]);
    const panes = await town.waitForPanes(
      (ps) => ps.every((p) => p.command === "2.1.7"),
      15_000,
      "both agents to show their title",
    );
    const mayor = panes.find((p) => p.session === "hq-mayor");
    assert.ok(mayor !== undefined);
    assert.equal(mayor.command, "2.1.7");
    const env = processEnv(mayor.pid);
    assert.equal(env["GT_ROLE"], "mayor");
    assert.equal(env["BD_ACTOR"], "mayor");
    assert.equal(env["TOWND_GENERATION"], mayor.generation);
  });
});
