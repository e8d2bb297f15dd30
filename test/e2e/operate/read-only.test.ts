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

  // daemon/ is owner-only (0700, issue 14 item 2): another user learns nothing from it, and is told so in one
  // line rather than "not running" or "nothing sent yet".
  const ownerOnly =
    /^townd: No permission to read .*\/daemon: it is owner-only; run townd as the user who owns the town$/;

  it("with the daemon running: status, mail, events, logs and why are one clear line; restart too", async () => {
    await startDaemon(town);
    for (const args of [
      ["status"],
      ["status", "--json"],
      ["mail", "inbox", "--identity", "deacon"],
      ["events"],
      ["logs"],
    ]) {
      oneLine(await asNobody(town, args), ownerOnly);
    }
    oneLine(await asNobody(town, ["why", "deacon"]), /permission denied|No permission/);
    oneLine(await asNobody(town, ["restart", "deacon"]), /No permission|permission denied|EACCES/);
  });

  it("with the daemon stopped: the same clear lines, and the owner still reads everything", async () => {
    const stop = await town.run(["stop"]);
    assert.equal(stop.code, 0, stop.stderr);
    oneLine(await asNobody(town, ["status"]), ownerOnly);
    oneLine(await asNobody(town, ["mail", "inbox", "--identity", "deacon"]), ownerOnly);
    const listed = await town.run(["mail", "inbox", "--identity", "deacon", "--json"]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /"subject": "hello"/);
  });
});
