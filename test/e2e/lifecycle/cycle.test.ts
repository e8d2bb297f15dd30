import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  CLI_MAIN,
  startedPatrolTown,
  inputsOf,
  isAlive,
  processEnv,
  sessionNames,
  type SupervisedTown,
} from "../../helpers/supervised-town.js";
import {
  eventRows,
  generationOf,
  mailIdTime,
  mailRows,
  requestRows,
  typeLine,
  until,
  type RequestRow,
} from "./_helpers.js";

/**
 * Lifecycle requests on a real private tmux server with the built daemon and simulated agents (reference §7,
 * §9): an agent asks for its own cycle from inside its pane, an operator asks for a restart on an agent's
 * behalf, and either way the agent's pane gets a new generation at once (SIGUSR1 wakes the daemon), the
 * request row ends `done`, the session keeps its name, and the manual restart is counted.
 */

/** The limit from the issue: a new generation within 1 s of the request mail's creation. */
const LATENCY_LIMIT_MS = 1000;

interface Measured {
  /** When the test first saw the new generation (epoch ms). */
  seenAt: number;
  generation: string;
}

/** Polls the pane's @townd_generation as fast as tmux answers until it differs from `old`. */
async function waitForNewGeneration(
  town: SupervisedTown,
  session: string,
  old: string,
  timeoutMs: number,
): Promise<Measured> {
  return until(
    `a new generation in ${session}`,
    async () => {
      const generation = await generationOf(town, session);
      return generation !== undefined && generation !== "" && generation !== old
        ? { seenAt: Date.now(), generation }
        : undefined;
    },
    timeoutMs,
    () =>
      town
        .log()
        .slice(-10)
        .map((r) => `${r.time} ${r.msg}`)
        .join("\n"),
    5,
  );
}

describe("cycle and restart requests", { timeout: 90_000 }, () => {
  let town: SupervisedTown;

  before(async () => {
    town = await startedPatrolTown({ rigs: ["r1"] });
  });
  after(async () => {
    await town.cleanup();
  });

  it("B72/B77/B78: `townd request cycle` run INSIDE the agent's pane respawns it as a new generation within 1 s", async (t) => {
    const before = await town.pane("gt-r1-witness");
    assert.ok(before !== undefined && !before.dead, "the witness runs");
    const sessionsBefore = sessionNames(await town.panes());

    // The agent runs the CLI itself, without a shell, with its own environment (no --town, no --as).
    const line = `/sim run ${process.execPath} ${CLI_MAIN} request cycle --reason 'context full'`;
    const typedAt = Date.now();
    await typeLine(town, "gt-r1-witness", line);
    const seen = await waitForNewGeneration(town, "gt-r1-witness", before.generation, 15_000);

    const row = await until(
      "the request row to be done",
      () => requestRows(town).find((r) => r.identity === "r1/witness" && r.status === "done"),
      10_000,
      () => JSON.stringify(requestRows(town)),
    );
    const createdAt = mailIdTime(row.id);
    const latency = seen.seenAt - createdAt;
    t.diagnostic(
      `cycle from inside the pane: Enter -> mail ${createdAt - typedAt} ms (CLI start-up), mail -> claim ` +
        `${Date.parse(row.claimed_at) - createdAt} ms, mail -> new generation seen ${latency} ms, ` +
        `claim -> finished ${Date.parse(row.finished_at ?? "") - Date.parse(row.claimed_at)} ms`,
    );
    assert.ok(
      latency < LATENCY_LIMIT_MS,
      `new generation ${latency} ms after the request mail (limit 1000 ms)`,
    );

    assert.equal(row.action, "cycle");
    assert.equal(row.requested_by, "r1/witness", "the agent's own identity, from its environment");
    assert.equal(row.detail, "cycle requested: context full");

    // The same session (and pane), a new process of a new generation; the old one ended gracefully.
    const after = await town.pane("gt-r1-witness");
    assert.ok(after !== undefined && !after.dead);
    assert.equal(after.paneId, before.paneId, "cycle keeps the session and its pane");
    assert.equal(after.identity, "r1/witness");
    assert.equal(after.generation, seen.generation);
    assert.notEqual(after.pid, before.pid);
    assert.deepEqual(sessionNames(await town.panes()), sessionsBefore, "no session added or removed");
    assert.equal(isAlive(before.pid), false, "the old generation's process is gone");
    const env = processEnv(after.pid);
    assert.equal(env["TOWND_GENERATION"], seen.generation);
    assert.equal(env["TOWND_IDENTITY"], "r1/witness");
    const oldEnd = town
      .simEntries()
      .filter((e) => e.pid === before.pid && (e.type === "signal" || e.type === "exit"));
    assert.deepEqual(
      oldEnd.map((e) => e.type),
      ["signal", "exit"],
      "the old generation got SIGTERM and exited (not SIGKILLed)",
    );

    // Counted as a manual restart, with the reason.
    const status = await town.waitFor(
      (s) => town.agent(s, "r1/witness").generation === seen.generation,
      5000,
      "status to show the new generation",
    );
    const witness = town.agent(status, "r1/witness");
    assert.equal(witness.restarts_manual, 1);
    assert.equal(witness.restarts_auto, 0);
    assert.equal(witness.last_reason, "cycle requested: context full");

    // A cycle is a handoff: the new generation's beacon says so (§13, B96).
    await until("the new generation's beacon", () => inputsOf(town.simEntries(), seen.generation)[0], 15_000);
    assert.match(
      inputsOf(town.simEntries(), seen.generation)[0]?.text ?? "",
      /^\[GAS TOWN\] r1\/witness <- daemon • .* • handoff$/,
    );

    // The record: claimed, respawned as that generation, done; the request mail is gone.
    const events = eventRows(town).filter((e) => e.identity === "r1/witness" && e.id > 0);
    const claimed = events.find((e) => e.type === "lifecycle_claimed");
    const respawned = events.find((e) => e.type === "respawn_done" && e.generation === seen.generation);
    const done = events.find((e) => e.type === "lifecycle_done");
    assert.ok(
      claimed && respawned && done,
      `claimed, respawn_done and lifecycle_done: ${JSON.stringify(events)}`,
    );
    assert.ok(claimed.id < respawned.id && respawned.id < done.id, "in that order");
    assert.deepEqual(mailRows(town, "deacon"), [], "the request mail was claimed");
  });

  it("B77/B78/B96: `townd request restart --as r1/refinery` respawns it likewise, with the lifecycle-restart beacon", async (t) => {
    const before = await town.pane("gt-r1-refinery");
    assert.ok(before !== undefined && !before.dead);
    const watching = waitForNewGeneration(town, "gt-r1-refinery", before.generation, 15_000);
    const run = await town.townd(["request", "restart", "--as", "r1-refinery"]);
    assert.equal(run.code, 0, run.stderr);
    const id = /^✓ Requested restart of r1\/refinery \((msg-[0-9a-z]+)\)$/m.exec(run.stdout)?.[1];
    assert.ok(id !== undefined, `the CLI names the request: ${run.stdout}`);
    const seen = await watching;
    const latency = seen.seenAt - mailIdTime(id);
    t.diagnostic(`restart via the CLI: mail -> new generation seen ${latency} ms`);
    assert.ok(
      latency < LATENCY_LIMIT_MS,
      `new generation ${latency} ms after the request mail (limit 1000 ms)`,
    );

    const row = await until(
      "the request row to be done",
      () => requestRows(town).find((r: RequestRow) => r.id === id && r.status === "done"),
      10_000,
      () => JSON.stringify(requestRows(town)),
    );
    assert.equal(row.identity, "r1/refinery");
    assert.equal(row.action, "restart");
    assert.equal(row.requested_by, "r1/refinery", "the hyphen form is stored canonical");

    const after = await town.pane("gt-r1-refinery");
    assert.equal(after?.paneId, before.paneId);
    assert.equal(after.generation, seen.generation);
    const status = await town.waitFor(
      (s) => town.agent(s, "r1/refinery").generation === seen.generation,
      5000,
      "status to show the refinery's new generation",
    );
    assert.equal(town.agent(status, "r1/refinery").restarts_manual, 1);
    assert.equal(town.agent(status, "r1/refinery").restarts_auto, 0);
    assert.equal(town.agent(status, "r1/witness").restarts_manual, 1, "the witness was not touched again");
    assert.equal(town.agent(status, "deacon").restarts, 0, "nor the deacon");
    await until("the new generation's beacon", () => inputsOf(town.simEntries(), seen.generation)[0], 15_000);
    assert.match(
      inputsOf(town.simEntries(), seen.generation)[0]?.text ?? "",
      /^\[GAS TOWN\] r1\/refinery <- daemon • .* • lifecycle-restart$/,
    );
  });

  it("every further request is a further generation and a further manual restart", async () => {
    const generations = new Set<string>();
    for (let i = 0; i < 2; i++) {
      const before = await generationOf(town, "gt-r1-witness");
      assert.ok(before !== undefined);
      generations.add(before);
      const run = await town.townd(["request", "cycle", "--as", "r1/witness"]);
      assert.equal(run.code, 0, run.stderr);
      const seen = await waitForNewGeneration(town, "gt-r1-witness", before, 15_000);
      generations.add(seen.generation);
    }
    assert.equal(generations.size, 3);
    const status = await town.waitFor(
      (s) => town.agent(s, "r1/witness").restarts_manual === 3,
      5000,
      "three manual restarts of the witness",
    );
    assert.equal(town.agent(status, "r1/witness").restarts_auto, 0);
    await until(
      "every request row to be done",
      () => requestRows(town).length === 4 && requestRows(town).every((r) => r.status === "done"),
      10_000,
      () => JSON.stringify(requestRows(town)),
    );
  });
});
