import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { makeTempDir } from "../../test/helpers/tmp.js";
import { StartupJournal } from "./startup-journal.js";

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("StartupJournal", () => {
  const temp = makeTempDir("tdj-");
  after(() => {
    temp.cleanup();
  });

  it("writes once per turn of the event loop, with every change of that turn", async () => {
    const file = join(temp.dir, "startups.json");
    const journal = new StartupJournal(file);
    for (let i = 0; i < 50; i += 1) journal.begin(`r${i}/witness`, `g${i}`, "patrol");
    journal.sent("r0/witness", "g0", "beacon");
    assert.equal(existsSync(file), false, "not written during the turn");
    await turn();
    const written = statSync(file).mtimeMs;
    const saved = JSON.parse(readFileSync(file, "utf8")) as {
      startups: { identity: string; done: string[] }[];
    };
    assert.equal(saved.startups.length, 50);
    assert.deepEqual(saved.startups[0]?.done, ["beacon"]);
    assert.deepEqual(new StartupJournal(file).load().length, 50, "the next daemon reads it back");
    await turn();
    assert.equal(statSync(file).mtimeMs, written, "nothing changed, nothing written");
  });

  it("flush() writes what is pending at once, and an empty journal is no file", () => {
    const file = join(temp.dir, "flushed.json");
    const journal = new StartupJournal(file);
    journal.begin("deacon", "g1", "patrol");
    journal.flush();
    assert.equal(new StartupJournal(file).load()[0]?.generation, "g1");
    journal.end("deacon", "g1");
    journal.flush();
    assert.equal(existsSync(file), false);
  });
});
