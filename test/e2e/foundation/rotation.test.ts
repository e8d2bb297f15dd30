import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import {
  heartbeatCount,
  isAlive,
  lines,
  makeTown,
  spawnTownd,
  startDaemon,
  until,
  type RunningCli,
  type TestTown,
} from "../../helpers/cli.js";

/** daemon/daemon.log rotated by size: operational.daemon.log_max_size_mb and log_max_files. */

const MAX_MB = 0.004;
const MAX_BYTES = Math.round(MAX_MB * 1024 * 1024);
const LOG_FILES = ["daemon.log.2", "daemon.log.1", "daemon.log"]; // oldest first

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe("log rotation", { concurrency: 1 }, () => {
  let town: TestTown;
  let pid = 0;
  let follower: RunningCli | undefined;
  before(async () => {
    town = await makeTown({
      daemonSettings: { recovery_heartbeat_interval: "1s", log_max_size_mb: MAX_MB, log_max_files: 2 },
    });
  });
  after(async () => {
    follower?.child.kill("SIGKILL");
    await town.cleanup();
  });

  const logPath = (name: string): string => town.file("daemon", name);
  const allText = (): string =>
    LOG_FILES.filter((name) => existsSync(logPath(name)))
      .map((name) => readFileSync(logPath(name), "utf8"))
      .join("");

  it("a daemon that logs a lot keeps daemon.log, .1 and .2 and drops the oldest", async () => {
    pid = await startDaemon(town);
    await until("the first heartbeat", () => heartbeatCount(town.root) >= 1, 10_000);
    follower = spawnTownd(["logs", "-f", "--json", "-n", "0"], { cwd: town.root });
    await sleep(400);
    // Every SIGUSR1 logs two lines (the signal, the pass): about 3 KB/s, a rotation every second or so,
    // much slower than `logs -f` polls. Keep going until the first lines have been dropped.
    await until(
      "three files and the first lines gone",
      () => {
        process.kill(pid, "SIGUSR1");
        return existsSync(logPath("daemon.log.2")) && !allText().includes("Daemon starting");
      },
      30_000,
      80,
    );
    // Let the triggered passes drain.
    await sleep(300);
    assert.ok(isAlive(pid));
    for (const name of LOG_FILES) assert.ok(existsSync(logPath(name)), `${name} exists`);
    assert.equal(existsSync(logPath("daemon.log.3")), false, "log_max_files 2: no daemon.log.3");
  });

  it("every file stays within log_max_size_mb, ends with a newline and holds only whole JSON lines", () => {
    for (const name of LOG_FILES) {
      const text = readFileSync(logPath(name), "utf8");
      assert.ok(Buffer.byteLength(text) <= MAX_BYTES, `${name} is ${Buffer.byteLength(text)} bytes`);
      assert.ok(text.endsWith("\n"), `${name} ends with a whole line`);
      for (const line of lines(text)) {
        const record = JSON.parse(line) as Record<string, unknown>;
        assert.equal(typeof record["msg"], "string", `${name}: ${line}`);
      }
      assert.equal(statSync(logPath(name)).mode & 0o777, 0o600, `${name} mode`);
    }
  });

  it("the files are in order: .2 older than .1 older than daemon.log, heartbeats numbered on", () => {
    const records = LOG_FILES.flatMap((name) =>
      lines(readFileSync(logPath(name), "utf8")).map((line) => JSON.parse(line) as Record<string, unknown>),
    );
    const times = records.map((record) => Date.parse(String(record["time"])));
    for (let i = 1; i < times.length; i++) {
      assert.ok((times[i] ?? 0) >= (times[i - 1] ?? 0), `record ${i} is older than the one before it`);
    }
    const beats = records
      .map((record) => /^Heartbeat complete \(#(\d+)\)$/.exec(String(record["msg"]))?.[1])
      .filter((n) => n !== undefined)
      .map(Number);
    assert.ok(beats.length > 3, `heartbeats in the logs: ${beats.length}`);
    for (let i = 1; i < beats.length; i++)
      assert.equal(beats[i], (beats[i - 1] ?? 0) + 1, "no heartbeat line lost");
  });

  it("townd logs reads the current file after rotation", async () => {
    const result = await town.run(["logs", "-n", "3"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(lines(result.stdout).length, 3);
  });

  it("logs -f follows the log across rotations without losing a line", async () => {
    assert.ok(follower !== undefined);
    const last = heartbeatCount(town.root);
    await until(
      `logs -f to reach heartbeat #${last}`,
      () => follower?.output().stdout.includes(`"Heartbeat complete (#${last})"`),
      5000,
    );
    const seen = lines(follower.output().stdout).map((line) => JSON.parse(line) as Record<string, unknown>);
    const beats = seen
      .map((record) => /^Heartbeat complete \(#(\d+)\)$/.exec(String(record["msg"]))?.[1])
      .filter((n) => n !== undefined)
      .map(Number);
    const missing: number[] = [];
    for (let n = beats[0] ?? 0; n <= last; n++) if (!beats.includes(n)) missing.push(n);
    assert.deepEqual(missing, [], `logs -f missed heartbeats ${missing.join(", ")}`);
  });
});
