import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { after, describe, it } from "node:test";
import { heartbeatCount, readLog, startDaemon, until, makeTown, type TestTown } from "../../helpers/cli.js";

/**
 * Issue 14 item 6: files an agent or a user can write were read blindly. A FIFO at deacon/heartbeat.json or
 * settings/config.json blocked the daemon (and `townd status`) in open(2) for good. The daemon must keep
 * running and answering, and say what is wrong with which file.
 */

const logged = (town: TestTown, pattern: RegExp): boolean =>
  readLog(town.root).some((record) => pattern.test(String(record["msg"])));

/** Kicks passes with SIGUSR1 until `count` more have completed: the daemon is not stuck. */
async function passes(town: TestTown, pid: number, count: number): Promise<void> {
  const target = heartbeatCount(town.root) + count;
  await until(
    `${count} more passes`,
    () => {
      process.kill(pid, "SIGUSR1");
      return heartbeatCount(town.root) >= target;
    },
    15_000,
    200,
  );
}

describe("agent- and user-writable files that are not what they seem", { timeout: 90_000 }, () => {
  const towns: TestTown[] = [];
  after(async () => {
    for (const town of towns) await town.cleanup();
  });

  it("a FIFO at deacon/heartbeat.json and a 2 MiB mayor/daemon.json: the daemon supervises on and says why", async () => {
    const town = await makeTown({ agent: "sim", keepPatrols: true });
    towns.push(town);
    // Planted once the daemon runs: `townd start` itself refuses a config file it cannot read.
    const pid = await startDaemon(town);
    execFileSync("mkfifo", [town.file("deacon", "heartbeat.json")]);
    writeFileSync(town.file("mayor", "daemon.json"), `{"patrols": {}}${" ".repeat(2 * 1024 * 1024)}`);
    await passes(town, pid, 3);
    await until(
      "the heartbeat problem in the log",
      () => logged(town, /Heartbeat unusable.*deacon\/heartbeat\.json: cannot read: it is a FIFO/),
      10_000,
    );
    assert.ok(logged(town, /mayor\/daemon\.json: cannot read: it is over the size limit of 1048576 bytes/));
    const status = await town.run(["status", "--json"], { timeoutMs: 10_000 });
    assert.equal(status.code, 0, status.stderr);
    const doc = JSON.parse(status.stdout) as { daemon: { running: boolean }; agents: { identity: string }[] };
    assert.equal(doc.daemon.running, true);
    assert.ok(
      doc.agents.some((agent) => agent.identity === "deacon"),
      "the deacon is still supervised",
    );
  });

  it("a FIFO at settings/config.json: the running daemon keeps its last good config; status answers with and without it", async () => {
    const town = await makeTown();
    towns.push(town);
    const pid = await startDaemon(town);
    await passes(town, pid, 1);
    const settings = town.file("settings", "config.json");
    rmSync(settings);
    execFileSync("mkfifo", [settings]);
    process.kill(pid, "SIGHUP");
    await passes(town, pid, 2);
    await until(
      "the settings problem in the log",
      () => logged(town, /settings\/config\.json: cannot read: it is a FIFO, not a regular file/),
      10_000,
    );
    const running = await town.run(["status"], { timeoutMs: 10_000 });
    assert.equal(running.code, 0, running.stderr);
    assert.match(running.stdout, /Daemon is running/);

    assert.equal((await town.run(["stop"])).code, 0);
    const stopped = await town.run(["status", "--json"], { timeoutMs: 10_000 });
    assert.equal(stopped.code, 0, stopped.stderr);
    const doc = JSON.parse(stopped.stdout) as { problems: string[] };
    assert.ok(
      doc.problems.some((problem) => /settings\/config\.json: cannot read: it is a FIFO/.test(problem)),
      JSON.stringify(doc.problems),
    );
  });
});
