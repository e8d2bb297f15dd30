import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import {
  CLI_MAIN,
  isAlive,
  lines,
  makeTown,
  startDaemon,
  testEnv,
  type TestTown,
} from "../../helpers/cli.js";

/**
 * Issue 14 item 19: a PID file holding garbage (-1, 0, abc, a number above 2^31) neither hides a running
 * daemon nor causes an internal error, and a reader that stops early (`townd status | head`) ends the
 * command quietly instead of with an EPIPE stack trace.
 */

function quote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/** `townd ARGS | head -n 1` under pipefail: townd's exit status and stderr, head's output. */
function throughHead(
  town: TestTown,
  args: readonly string[],
): { code: number | null; stderr: string; stdout: string } {
  const command = [process.execPath, CLI_MAIN, "--town", town.root, ...args].map(quote).join(" ");
  const result = spawnSync("bash", ["-c", `set -o pipefail; ${command} | head -n 1`], {
    env: testEnv(town.env),
    encoding: "utf8",
    timeout: 30_000,
  });
  return { code: result.status, stderr: result.stderr, stdout: result.stdout };
}

describe("CLI papercuts", { timeout: 90_000 }, () => {
  let town: TestTown;
  before(async () => {
    town = await makeTown();
  });
  after(async () => {
    await town.cleanup();
  });

  it("`status`, `logs` and `rig list` piped into `head` end quietly (no EPIPE trace)", () => {
    // Far more output than a pipe buffer holds, so the writer meets the closed pipe.
    const rigs: Record<string, unknown> = {};
    for (let i = 0; i < 3000; i++) rigs[`rig${i}`] = { added_at: "2026-01-01T00:00:00Z" };
    writeFileSync(town.file("mayor", "rigs.json"), JSON.stringify({ version: 1, rigs }));
    const agent = (i: number): Record<string, unknown> => ({
      identity: `rig${i}/witness`,
      session: `gt-rig${i}-witness`,
      role: "witness",
      rig: `rig${i}`,
      state: "dead",
      pid: null,
      generation: null,
      restarts: 0,
      restarts_auto: 0,
      restarts_manual: 0,
      started_at: null,
      failures: 0,
      death_counted: null,
      last_death_at: null,
      last_exit: null,
      next_attempt_at: null,
      last_reason: "a reason long enough to fill the pipe quickly",
    });
    writeFileSync(
      town.file("daemon", "agents.json"),
      JSON.stringify({
        version: 1,
        updated_at: new Date().toISOString(),
        agents: Array.from({ length: 3000 }, (_, i) => agent(i)),
      }),
    );
    const record = JSON.stringify({
      level: 30,
      time: new Date().toISOString(),
      msg: "Heartbeat complete (#1)",
    });
    writeFileSync(town.file("daemon", "daemon.log"), `${record}\n`.repeat(5000));
    for (const args of [
      ["status"],
      ["logs", "-n", "5000"],
      ["logs", "-n", "5000", "--json"],
      ["rig", "list"],
    ]) {
      const run = throughHead(town, args);
      assert.equal(run.stderr, "", `townd ${args.join(" ")} | head: nothing on stderr`);
      assert.equal(run.code, 0, `townd ${args.join(" ")} | head: exit status`);
      assert.equal(lines(run.stdout).length, 1);
    }
  });

  it("no daemon: a PID above 2^31 in the PID file is no internal error", async () => {
    writeFileSync(town.file("daemon", "daemon.pid"), "3000000000");
    const stop = await town.run(["stop"]);
    assert.deepEqual([stop.code, lines(stop.stderr)], [1, ["townd: Daemon is not running"]]);
    writeFileSync(town.file("daemon", "daemon.pid"), "99999999999999999999");
    const reload = await town.run(["reload"]);
    assert.deepEqual([reload.code, lines(reload.stderr)], [1, ["townd: Daemon is not running"]]);
    const status = await town.run(["status", "--json"]);
    assert.equal(status.code, 0, status.stderr);
  });

  it("a running daemon is found whatever the PID file holds: -1, 0, abc, 2^31, empty", async () => {
    writeFileSync(town.file("mayor", "rigs.json"), JSON.stringify({ version: 1, rigs: {} }));
    const pid = await startDaemon(town);
    for (const garbage of ["-1", "0", "abc", "2147483648", "99999999999999999999", ""]) {
      writeFileSync(town.file("daemon", "daemon.pid"), garbage);
      const reload = await town.run(["reload"]);
      assert.equal(reload.code, 0, `reload with ${JSON.stringify(garbage)}: ${reload.stderr}`);
      assert.equal(reload.stdout, `✓ Asked the daemon (PID ${pid}) to reload its config\n`);
      const status = await town.run(["status", "--json"]);
      assert.equal(status.code, 0, status.stderr);
      assert.equal((JSON.parse(status.stdout) as { daemon: { pid: number } }).daemon.pid, pid);
    }
    const stop = await town.run(["stop"]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(stop.stdout, `✓ Daemon stopped (was PID ${pid})\n`);
    assert.equal(isAlive(pid), false);
  });
});
