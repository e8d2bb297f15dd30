import assert from "node:assert/strict";
import { chmodSync, lstatSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  heartbeatCount,
  logMessages,
  makeTown,
  startDaemon,
  until,
  type TestTown,
} from "../../helpers/cli.js";
import { makeTempDir } from "../../helpers/tmp.js";

const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8).padStart(4, "0");

describe("the daemon's own files", { timeout: 90_000 }, () => {
  const towns: TestTown[] = [];
  const outside = makeTempDir("td-outside-");
  after(async () => {
    for (const town of towns) await town.cleanup();
    outside.cleanup();
  });

  it("issue 14 item 2: init makes daemon/ 0700; a start narrows a 0755 one; store, WAL, SHM and logs are 0600", async () => {
    const town = await makeTown();
    towns.push(town);
    assert.equal(mode(town.file("daemon")), "0700", "init");
    chmodSync(town.file("daemon"), 0o755);
    await startDaemon(town);
    await until("the first pass", () => heartbeatCount(town.root) >= 1, 10_000);
    assert.equal(mode(town.file("daemon")), "0700", "narrowed at start");
    // The store is opened by the first pass; mail makes the WAL and SHM appear.
    const sent = await town.run(["mail", "send", "mayor", "-s", "hi", "-m", "private"]);
    assert.equal(sent.code, 0, sent.stderr);
    for (const file of ["town.db", "town.db-wal", "town.db-shm", "daemon.log", "startup.log"])
      assert.equal(mode(town.file("daemon", file)), "0600", file);
  });

  it("issue 14 item 17: symlinked state.json and daemon.log are replaced, not written through, and logged", async () => {
    const town = await makeTown();
    towns.push(town);
    const victims = ["state", "log"].map((name) => {
      const file = join(outside.dir, `${name}.txt`);
      writeFileSync(file, "precious\n", { mode: 0o644 });
      chmodSync(file, 0o644);
      return file;
    });
    symlinkSync(victims[0] ?? "", town.file("daemon", "state.json"));
    symlinkSync(victims[1] ?? "", town.file("daemon", "daemon.log"));
    await startDaemon(town);
    await until("the first pass", () => heartbeatCount(town.root) >= 1, 10_000);
    for (const victim of victims) {
      assert.equal(readFileSync(victim, "utf8"), "precious\n", `${victim} was written`);
      assert.equal(mode(victim), "0644", `${victim} was chmodded`);
    }
    for (const file of ["state.json", "daemon.log"])
      assert.ok(lstatSync(town.file("daemon", file)).isFile(), file);
    const messages = logMessages(town.root);
    for (const file of ["state.json", "daemon.log"]) {
      assert.ok(
        messages.includes(`daemon/${file} was a symbolic link; removed it (townd never writes through one)`),
        messages.join("\n"),
      );
    }
  });
});
