import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import {
  CLI_MAIN,
  lines,
  makeTown,
  startDaemon,
  testEnv,
  type CliResult,
  type TestTown,
} from "../../helpers/cli.js";

/**
 * Issue 14 item 13: a user who may read the town but not write it (here the real `nobody` user, since the
 * tests run as root and root ignores file modes) gets answers from read-only commands and one clear line from
 * the others, never an internal error with a stack trace.
 */

const skip =
  process.getuid?.() !== 0 || !existsSync("/usr/sbin/runuser") ? "needs root and runuser(1)" : false;

/** `townd ARGS` run as nobody. */
function asNobody(town: TestTown, args: readonly string[]): Promise<CliResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(
      "/usr/sbin/runuser",
      ["-u", "nobody", "--", process.execPath, CLI_MAIN, "--town", town.root, ...args],
      { env: testEnv({ ...town.env, NO_COLOR: "1" }), stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

describe("commands as a user who may only read the town", { timeout: 90_000, skip }, () => {
  let town: TestTown;
  before(async () => {
    town = await makeTown();
    chmodSync(town.root, 0o755);
    const sent = await town.run(["mail", "send", "deacon", "-s", "hello", "-m", "there"]);
    assert.equal(sent.code, 0, sent.stderr);
  });
  after(async () => {
    await town.cleanup();
  });

  const oneLine = (run: CliResult, pattern: RegExp): void => {
    assert.equal(run.code, 1, run.stdout);
    const [line, ...rest] = lines(run.stderr);
    assert.deepEqual(rest, [], run.stderr);
    assert.match(line ?? "", pattern);
    assert.doesNotMatch(run.stderr, /internal error/);
  };

  it("with the daemon running: status, mail and events answer; restart AGENT is one clear line", async () => {
    await startDaemon(town);
    const status = await asNobody(town, ["status", "--json"]);
    assert.equal(status.code, 0, status.stderr);
    assert.equal((JSON.parse(status.stdout) as { daemon: { running: boolean } }).daemon.running, true);
    const plain = await asNobody(town, ["status"]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /Daemon is running/);
    const inbox = await asNobody(town, ["mail", "inbox", "--identity", "deacon"]);
    assert.equal(inbox.code, 0, inbox.stderr);
    assert.match(inbox.stdout, /hello/);
    const events = await asNobody(town, ["events"]);
    assert.equal(events.code, 0, events.stderr);
    oneLine(
      await asNobody(town, ["restart", "deacon"]),
      /^townd: No permission to use the daemon's control socket .*control\.sock \(it is owner-only\)$/,
    );
  });

  it("with the daemon stopped: mail still reads, restart AGENT cannot queue and says so", async () => {
    const stop = await town.run(["stop"]);
    assert.equal(stop.code, 0, stop.stderr);
    const listed = await town.run(["mail", "inbox", "--identity", "deacon", "--json"]);
    const id = (JSON.parse(listed.stdout) as { id: string }[])[0]?.id ?? "";
    // The daemon has checkpointed and closed the store: no WAL is left, and nobody cannot create one.
    const inbox = await asNobody(town, ["mail", "read", id, "--json"]);
    assert.equal(inbox.code, 0, inbox.stderr);
    assert.match(inbox.stdout, /"subject": "hello"/);
    const status = await asNobody(town, ["status"]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /Daemon is not running/);
    oneLine(
      await asNobody(town, ["restart", "deacon"]),
      /^townd: Cannot queue the request in .*daemon\/requests: EACCES/,
    );
  });
});
