import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import writeFileAtomic from "write-file-atomic";
import { removeWriteLeftovers } from "./write-leftovers.js";

describe("removeWriteLeftovers", () => {
  const dir = mkdtempSync(join(tmpdir(), "townd-leftovers-"));
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("removes the temp files of the named files only, and keeps everything else", () => {
    const keep = ["state.json", "agents.json", "daemon.log", "daemon.log.1", "town.db", "notes.json.123"];
    const leftovers = ["state.json.3735928559", "agents.json.42", "daemon.pid.4294967295"];
    for (const name of [...keep, ...leftovers, "state.json.tmp", "state.json.12a"]) {
      writeFileSync(join(dir, name), "x");
    }
    const removed = removeWriteLeftovers(
      ["state.json", "agents.json", "daemon.pid"].map((f) => join(dir, f)),
    );
    assert.deepEqual(removed, [...leftovers].sort());
    assert.deepEqual(readdirSync(dir).sort(), [...keep, "state.json.12a", "state.json.tmp"].sort());
  });

  it("matches the temp name write-file-atomic really uses", () => {
    // write-file-atomic removes its temp file on success; its name generator is what a kill -9 leaves.
    const { _getTmpname } = writeFileAtomic as unknown as { _getTmpname: (file: string) => string };
    const target = join(dir, "agents.json");
    writeFileSync(_getTmpname(target), "half");
    assert.equal(removeWriteLeftovers([target]).length, 1);
  });

  it("a missing directory is nothing to clean", () => {
    assert.deepEqual(removeWriteLeftovers([join(dir, "absent", "state.json")]), []);
  });
});
