import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { lines, makeTown, type TestTown } from "../../helpers/cli.js";
import { mailRows } from "../../helpers/store.js";

/**
 * Issue 14 item 7 at the CLI: an oversized reason, subject or body is refused with one line naming the
 * argument and the limit, a non-zero exit, and nothing stored.
 */

describe("size limits at the CLI", { timeout: 60_000 }, () => {
  let town: TestTown;
  before(async () => {
    town = await makeTown();
  });
  after(async () => {
    await town.cleanup();
  });

  const refused = async (args: string[], expected: string): Promise<void> => {
    const run = await town.run(args);
    assert.equal(run.code, 1, run.stdout);
    assert.deepEqual(lines(run.stderr), [`townd: ${expected}`]);
    assert.equal(run.stdout, "");
  };

  it("request --reason over 4 KiB", async () => {
    await refused(
      ["request", "cycle", "--as", "deacon", "--reason", "r".repeat(5000)],
      "Invalid --reason: 5000 bytes, the limit is 4096 bytes",
    );
  });

  it("mail send with a subject over 256 bytes or a body over 64 KiB", async () => {
    await refused(
      ["mail", "send", "deacon", "-s", "ß".repeat(200), "-m", "hi"],
      "Invalid --subject: 400 bytes, the limit is 256 bytes",
    );
    await refused(
      ["mail", "send", "deacon", "-s", "hi", "-m", "b".repeat(70_000)],
      "Invalid --message: 70000 bytes, the limit is 65536 bytes",
    );
  });

  it("nothing was stored, and a request at the limit is accepted", async () => {
    assert.equal(existsSync(town.file("daemon", "town.db")), false, "the store was not even created");
    const run = await town.run(["request", "cycle", "--as", "deacon", "--reason", "r".repeat(4096)]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(mailRows(town).length, 1);
  });
});
