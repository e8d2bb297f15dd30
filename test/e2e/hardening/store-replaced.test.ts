import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { startedPatrolTown, type SupervisedTown } from "../../helpers/supervised-town.js";
import { eventRows, requestRows, storeFile, until } from "../lifecycle/_helpers.js";

/**
 * Issue 14 item 12: the store's files removed while the daemon runs. Deleting town.db split the store (the
 * daemon kept writing the unlinked file, the CLI made a new one no one read: requests sat unexecuted);
 * deleting town.db-wal made every CLI store command fail with "disk I/O error".
 */
describe("the town store removed while the daemon runs", { timeout: 90_000 }, () => {
  let town: SupervisedTown;

  before(async () => {
    town = await startedPatrolTown({ rigs: ["r1"] });
  });
  after(async () => {
    await town.cleanup();
  });

  /** `townd request restart` for `agent`; resolves with the request row once the daemon finished it. */
  async function restartThroughStore(agent: string): Promise<void> {
    const run = await town.townd(["request", "restart", "--as", agent]);
    assert.equal(run.code, 0, `request restart: ${run.stdout}${run.stderr}`);
    const id = /\((msg-[0-9a-z]+)\)/.exec(run.stdout)?.[1];
    assert.ok(id !== undefined, run.stdout);
    const row = await until(
      `request ${id} to be done in the store now at daemon/town.db`,
      () => requestRows(town).find((r) => r.id === id && r.status !== "claimed"),
      15_000,
      () => JSON.stringify(requestRows(town)),
    );
    assert.equal(row.status, "done", row.detail);
    assert.ok(
      eventRows(town).some((e) => e.type === "lifecycle_done" && e.identity === agent),
      "the daemon records its events in the store at that name",
    );
  }

  it("town.db deleted: a request sent afterwards is executed and recorded in the new store", async () => {
    rmSync(storeFile(town));
    await restartThroughStore("r1/refinery");
    const warnings = town.log().filter((r) => r.msg.includes("was removed or replaced while open"));
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
  });

  it("town.db-wal deleted: CLI store commands keep working, and what was written before survives", async () => {
    const sent = await town.townd(["mail", "send", "operator", "-s", "kept", "-m", "before the log went"]);
    assert.equal(sent.code, 0, sent.stderr);
    rmSync(`${storeFile(town)}-wal`);
    const inbox = await town.townd(["mail", "inbox", "--identity", "operator"]);
    assert.equal(inbox.code, 0, `mail inbox: ${inbox.stderr}`);
    assert.match(inbox.stdout, /kept/);
    const again = await town.townd(["mail", "send", "operator", "-s", "after", "-m", "the log went"]);
    assert.equal(again.code, 0, `mail send: ${again.stderr}`);
    await restartThroughStore("r1/witness");
  });
});
