import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  createSupervisedTown,
  inputsOf,
  type AgentStatusJson,
  type Json,
  type SimEntry,
  type SupervisedTown,
} from "../../helpers/supervised-town.js";
import { mailRows, storeEvents } from "../../helpers/store.js";
import { sleep, until } from "../../helpers/wait.js";

/**
 * Start-up dialogs on a real tmux server under the built daemon. The simulated agent draws Claude Code
 * 2.1.332's dialogs (`--dialogs`): townd answers the ones Claude's profile knows by moving the `❯` cursor
 * and pressing Enter, and leaves every other menu to a person — typing nothing at all while it is up.
 * The recovery heartbeat stays at its default (3 m): every state change below must come from the start-up
 * itself, not from a periodic pass.
 */

const BEACON = "[GAS TOWN]";
const DEACON_NUDGE = "Run `gt prime` to check patrol status and begin heartbeat cycle.";
const WITNESS_NUDGE = "Run `gt prime` to check patrol status and begin work.";

/** Extended status fields the start-up work added. */
type Status = AgentStatusJson & { detail?: string | null; heartbeat_seen?: boolean };

const dialogsOf = (entries: readonly SimEntry[], generation: string): (SimEntry & Json)[] =>
  entries.filter((e) => e.type === "dialog" && e.generation === generation) as (SimEntry & Json)[];

/** A town whose agents all run the sim agent with `simArgs`, read with Claude's profile. */
function dialogTown(simArgs: string[], options: { rigs?: string[]; daemon?: Json } = {}) {
  return createSupervisedTown({
    rigs: options.rigs ?? [],
    patrols: {
      refinery: { enabled: false },
      ...(options.rigs === undefined ? { witness: { enabled: false } } : {}),
    },
    settings: (s, h) => {
      s["agents"] = { ...(s["agents"] as Json), simlog: h.simRuntime(simArgs) };
      if (options.daemon !== undefined) s["operational"] = { daemon: options.daemon };
    },
  });
}

function tail(town: SupervisedTown): string {
  return town
    .log()
    .slice(-12)
    .map((r) => `${r.time} ${r.msg}`)
    .join("\n");
}

describe("known dialogs are answered by townd, in order, before the beacon", { timeout: 90_000 }, () => {
  let town: SupervisedTown;

  before(async () => {
    town = await dialogTown(["--dialogs", "trust,mcp,api-key,bypass"], { rigs: ["r1"] });
    await town.start();
  });
  after(async () => {
    await town.cleanup();
  });

  it("passes trust, MCP, API key and bypass, then sends the beacon and the nudge; no restart", async () => {
    const agents: [string, string][] = [
      ["deacon", DEACON_NUDGE],
      ["r1/witness", WITNESS_NUDGE],
    ];
    const status = await town.waitFor(
      (s) => agents.every(([id]) => town.agent(s, id).state === "running"),
      40_000,
      "both agents to be running",
    );
    for (const [identity, nudge] of agents) {
      const agent = town.agent(status, identity) as Status;
      const generation = agent.generation ?? "";
      assert.notEqual(generation, "", `${identity} has a generation`);
      const entries = await until(
        `${identity}'s nudge in the sim log`,
        () => {
          const all = town.simEntries();
          return inputsOf(all, generation).some((e) => e.text === nudge) ? all : undefined;
        },
        10_000,
        () => tail(town),
      );
      const dialogs = dialogsOf(entries, generation);
      assert.deepEqual(
        dialogs.map((e) => [e["dialog"], e["choice"]]),
        [
          ["trust", "Yes, I trust this folder"],
          ["mcp", "Continue without using this MCP server"],
          ["api-key", "No (recommended)"],
          ["bypass", "Yes, I accept"],
        ],
        `${identity}: the four dialogs, answered in order`,
      );
      const inputs = inputsOf(entries, generation);
      assert.equal(
        inputs.length,
        2,
        `${identity}: exactly the beacon and the nudge were typed: ${JSON.stringify(inputs)}`,
      );
      const [beacon, propulsion] = inputs as [SimEntry, SimEntry];
      assert.ok(
        beacon.text?.startsWith(BEACON),
        `${identity}: the first input is the beacon: ${beacon.text}`,
      );
      assert.equal(propulsion.text, nudge);
      const lastDialog = dialogs.at(-1);
      assert.ok(
        lastDialog !== undefined && beacon.ts > lastDialog.ts,
        `${identity}: the beacon came after the last dialog`,
      );
      const answered = storeEvents(town.root).filter(
        (e) => e.type === "dialog_answered" && e.identity === identity,
      );
      assert.equal(answered.length, 4, `${identity}: four dialog_answered events`);
      assert.ok(answered.every((e) => e.generation === generation));
      assert.equal(agent.restarts, 0, `${identity} was never restarted`);
      assert.equal(agent.detail ?? null, null);
    }
    assert.deepEqual(
      storeEvents(town.root).filter((e) => e.type === "needs_human"),
      [],
      "no dialog needed a person",
    );
    const panes = await town.panes();
    assert.equal(panes.length, 2);
    assert.ok(panes.every((p) => !p.dead));
  });
});

describe("an unknown menu is left to a person", { timeout: 90_000 }, () => {
  let town: SupervisedTown;

  before(async () => {
    town = await dialogTown(["--dialogs", "unknown"]);
    await town.start();
  });
  after(async () => {
    await town.cleanup();
  });

  it("shows needs-human with one alert, types nothing, and goes on once a person answered", async (t) => {
    const blocked = await town.waitFor(
      (s) => town.agent(s, "deacon").state === "needs-human",
      20_000,
      "the deacon to need a person",
    );
    const deacon = town.agent(blocked, "deacon") as Status;
    const generation = deacon.generation ?? "";
    assert.match(deacon.detail ?? "", /gt-101 Fix the flaky test/, "the detail names the menu");
    const viaCli = town.agent(await town.status(), "deacon") as Status;
    assert.equal(viaCli.state, "needs-human");
    assert.equal(viaCli.detail, deacon.detail);

    // ~10 s with the menu up: nothing typed, one alert, the agent left running.
    await sleep(10_000);
    const entries = town.simEntries().filter((e) => e.generation === generation);
    assert.deepEqual(
      entries.filter((e) => e.type === "input" || e.type === "dialog"),
      [],
      "townd typed nothing into the menu",
    );
    const alerts = storeEvents(town.root).filter((e) => e.type === "needs_human");
    assert.equal(alerts.length, 1, "exactly one needs_human event");
    assert.equal(alerts[0]?.identity, "deacon");
    const mail = mailRows(town, "mayor").filter((m) => m.subject.startsWith("ALERT needs_human"));
    assert.equal(mail.length, 1, "one alert mail to the Mayor");
    const still = town.agent(town.snapshot(), "deacon");
    assert.equal(still.state, "needs-human");
    assert.equal(still.generation, generation);
    assert.equal(still.restarts, 0);

    // A person picks the highlighted bead.
    const pressed = await town.tmux(["send-keys", "-t", "=hq-deacon:", "Enter"]);
    assert.equal(pressed.code, 0, pressed.stderr);
    const inputs = await until(
      "the beacon and the nudge after the menu",
      () => {
        const got = inputsOf(town.simEntries(), generation);
        return got.length >= 2 ? got : undefined;
      },
      15_000,
      () => tail(town),
    );
    assert.ok(inputs[0]?.text?.startsWith(BEACON), `beacon first: ${inputs[0]?.text}`);
    assert.equal(inputs[1]?.text, DEACON_NUDGE);
    const chosen = dialogsOf(town.simEntries(), generation);
    assert.deepEqual(
      chosen.map((e) => [e["dialog"], e["choice"]]),
      [["unknown", "gt-101 Fix the flaky test"]],
      "the person's choice is the only answer",
    );
    const running = await town.waitFor(
      (s) => town.agent(s, "deacon").state === "running",
      10_000,
      "the deacon to be running",
    );
    const after = town.agent(running, "deacon") as Status;
    assert.equal(after.generation, generation);
    assert.equal(after.restarts, 0);
    assert.equal(after.detail ?? null, null);
    const cleared = storeEvents(town.root).filter((e) => e.type === "needs_human_cleared");
    assert.equal(cleared.length, 1, "one needs_human_cleared event");
    assert.equal(cleared[0]?.identity, "deacon");
    assert.equal(storeEvents(town.root).filter((e) => e.type === "needs_human").length, 1);
    t.diagnostic(`detail: ${deacon.detail ?? ""}`);
  });
});

describe("workspace_trust: false leaves the trust dialog to a person", { timeout: 60_000 }, () => {
  let town: SupervisedTown;

  before(async () => {
    town = await dialogTown(["--dialogs", "trust"], {
      daemon: { agent_dialogs: { workspace_trust: false } },
    });
    await town.start();
  });
  after(async () => {
    await town.cleanup();
  });

  it("shows needs-human and sends no key: the dialog stays on screen", async (t) => {
    const blocked = await town.waitFor(
      (s) => town.agent(s, "deacon").state === "needs-human",
      20_000,
      "the deacon to need a person",
    );
    const deacon = town.agent(blocked, "deacon") as Status;
    t.diagnostic(`detail: ${deacon.detail ?? ""}`);
    assert.match(deacon.detail ?? "", /trust/i);
    await sleep(5000);
    const generation = deacon.generation ?? "";
    const entries = town.simEntries().filter((e) => e.generation === generation);
    assert.deepEqual(
      entries.filter((e) => e.type === "input" || e.type === "dialog"),
      [],
      "no key reached the dialog",
    );
    const screen = await town.tmux(["capture-pane", "-p", "-t", "=hq-deacon:"]);
    assert.match(screen.stdout, /Yes, I trust this folder/, "the trust dialog is still shown");
    assert.match(screen.stdout, /❯ No, exit/, "its cursor was not moved");
    assert.equal(town.agent(town.snapshot(), "deacon").state, "needs-human");
    assert.equal(storeEvents(town.root).filter((e) => e.type === "needs_human").length, 1);
    assert.equal(storeEvents(town.root).filter((e) => e.type === "dialog_answered").length, 0);
  });
});
