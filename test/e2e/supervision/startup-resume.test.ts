import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  createSupervisedTown,
  inputsOf,
  type Json,
  type SimEntry,
  type SupervisedTown,
} from "../../helpers/supervised-town.js";
import { storeEvents } from "../../helpers/store.js";
import { sleep, until } from "../../helpers/wait.js";

/**
 * A start-up sequence interrupted by a daemon stop is finished by the next daemon (daemon/startups.json):
 * the agent gets its startup beacon and its propulsion nudge once each — not never, not twice — and keeps
 * its generation. The simulated agent shows its prompt only after --startup-delay, so the start-up is still
 * waiting for it when the daemon stops.
 */

const BEACON = "[GAS TOWN]";
const DEACON_NUDGE = "Run `gt prime` to check patrol status and begin heartbeat cycle.";

interface Journal {
  startups: { identity: string; generation: string; topic: string; done: string[] }[];
}

function resumeTown(startupDelay: string): Promise<SupervisedTown> {
  return createSupervisedTown({
    patrols: { witness: { enabled: false }, refinery: { enabled: false } },
    settings: (s, h) => {
      s["agents"] = { ...(s["agents"] as Json), simlog: h.simRuntime(["--startup-delay", startupDelay]) };
    },
  });
}

const journalOf = (town: SupervisedTown): Journal | undefined => {
  const file = join(town.root, "daemon", "startups.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Journal) : undefined;
};

function tail(town: SupervisedTown): string {
  return town
    .log()
    .slice(-15)
    .map((r) => `${r.time} ${r.msg}`)
    .join("\n");
}

async function inputsWhenDone(town: SupervisedTown, generation: string): Promise<SimEntry[]> {
  await until(
    "the propulsion nudge",
    () => inputsOf(town.simEntries(), generation).some((e) => e.text === DEACON_NUDGE),
    30_000,
    () => tail(town),
  );
  // Anything sent twice would arrive within the 2 s between the beacon and the nudge, and then some.
  await sleep(3000);
  return inputsOf(town.simEntries(), generation);
}

function assertOnceEach(inputs: readonly SimEntry[]): void {
  const beacons = inputs.filter((e) => e.text?.startsWith(BEACON) === true);
  const nudges = inputs.filter((e) => e.text === DEACON_NUDGE);
  assert.equal(beacons.length, 1, `one beacon: ${JSON.stringify(inputs.map((e) => e.text))}`);
  assert.equal(nudges.length, 1, "one propulsion nudge");
  assert.equal(inputs.length, 2, "nothing else was typed");
  assert.ok((beacons[0]?.ts ?? "") < (nudges[0]?.ts ?? ""), "the beacon came first");
}

describe("a daemon stopped while an agent waits for its prompt", { timeout: 90_000 }, () => {
  let town: SupervisedTown;

  before(async () => {
    town = await resumeTown("4s");
    await town.start();
  });
  after(async () => {
    await town.cleanup();
  });

  it("is succeeded by one that sends the beacon and the nudge once, to the same generation", async () => {
    const started = await town.waitFor(
      (s) => town.agent(s, "deacon").generation !== null,
      15_000,
      "the deacon's first generation",
    );
    const generation = town.agent(started, "deacon").generation ?? "";
    const stopped = await town.townd(["stop"]);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.deepEqual(inputsOf(town.simEntries(), generation), [], "stopped before anything was typed");
    const journal = journalOf(town);
    assert.deepEqual(
      journal?.startups.map((e) => [e.identity, e.generation, e.done]),
      [["deacon", generation, []]],
      "the journal keeps the unfinished start-up",
    );
    // The prompt appears while no daemon runs.
    await sleep(4500);
    assert.deepEqual(inputsOf(town.simEntries(), generation), []);

    await town.start();
    const inputs = await inputsWhenDone(town, generation);
    assertOnceEach(inputs);
    const status = await town.waitFor(
      (s) => town.agent(s, "deacon").state === "running",
      10_000,
      "the deacon to be running",
    );
    const deacon = town.agent(status, "deacon");
    assert.equal(deacon.generation, generation, "the same generation: not restarted");
    assert.equal(deacon.restarts, 0);
    assert.ok(
      town
        .log()
        .some((r) => r.msg.startsWith("deacon: resuming its start-up sequence (left: beacon, nudge)")),
      "the new daemon resumed it",
    );
    assert.equal(journalOf(town), undefined, "the journal is empty once done");
    const spawns = storeEvents(town.root).filter((e) => e.type === "spawn_done" || e.type === "respawn_done");
    assert.equal(spawns.length, 1);
  });
});

describe("a daemon stopped between the beacon and the nudge", { timeout: 90_000 }, () => {
  let town: SupervisedTown;

  before(async () => {
    town = await resumeTown("1s");
    await town.start();
  });
  after(async () => {
    await town.cleanup();
  });

  it("is succeeded by one that sends only the nudge", async (t) => {
    // The daemon's own record that the beacon went out (the sim logs the line a moment before the daemon
    // hears tmux's send-keys return), then the stop, in the 2 s before the nudge.
    const entry = await until(
      "the journal to record the beacon",
      () => journalOf(town)?.startups.find((e) => e.identity === "deacon" && e.done.includes("beacon")),
      20_000,
      () => tail(town),
      10,
    );
    const generation = entry.generation;
    // The daemon waits 2 s between the beacon and the nudge: it is stopped in that window.
    town.signal("SIGTERM");
    await until("the daemon to stop", () => !town.snapshot().daemon.running, 10_000);
    const sent = inputsOf(town.simEntries(), generation);
    if (sent.some((e) => e.text === DEACON_NUDGE)) {
      t.skip("the nudge went out before the daemon stopped (a slow machine): nothing to resume");
      return;
    }
    assert.deepEqual(
      journalOf(town)?.startups.map((e) => [e.identity, e.generation, e.done]),
      [["deacon", generation, ["beacon"]]],
      "the journal says the beacon was sent",
    );
    await sleep(2500);
    const meanwhile = inputsOf(town.simEntries(), generation);
    assert.equal(meanwhile.length, 1, "only the beacon while no daemon runs");
    assert.ok(meanwhile[0]?.text?.startsWith(BEACON));

    await town.start();
    const inputs = await inputsWhenDone(town, generation);
    assertOnceEach(inputs);
    assert.ok(
      town.log().some((r) => r.msg.startsWith("deacon: resuming its start-up sequence (left: nudge)")),
      "the new daemon resumed it with the nudge left",
    );
    assert.ok(
      !town.log().some((r) => r.msg.startsWith("deacon: no ready prompt")),
      "it saw the prompt again: no ready-timeout",
    );
    const deacon = town.agent(
      await town.waitFor((s) => town.agent(s, "deacon").state === "running", 10_000, "running"),
      "deacon",
    );
    assert.equal(deacon.generation, generation);
    assert.equal(deacon.restarts, 0);
  });
});
