import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { after, afterEach, before, describe, it } from "node:test";
import { isAlive, lines, lockHeld, makeTown, startDaemon, until, type TestTown } from "../../helpers/cli.js";

/**
 * daemon.pid is a hint, never a licence to signal (issue 14 item 3): a PID file naming an unrelated process
 * (a reused PID after a crash) must not get that process killed by `stop`, woken by `request` (SIGUSR1 ends
 * a process that does not handle it) or `reload` (SIGHUP likewise), whether or not a daemon runs.
 */

const children: ChildProcess[] = [];

/** An unrelated process: `sleep`, whose default action for SIGTERM, SIGUSR1 and SIGHUP is to die. */
function bystander(): number {
  const child = spawn("sleep", ["600"], { stdio: "ignore", detached: true });
  children.push(child);
  assert.ok(child.pid !== undefined);
  return child.pid;
}

/** Each child leads its own process group: flock(1)'s `sleep` inherits the lock and must die with it. */
function killChildren(): void {
  for (const child of children.splice(0)) {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

describe("a PID file naming an unrelated process", { timeout: 120_000 }, () => {
  let town: TestTown;
  before(async () => {
    town = await makeTown();
  });
  afterEach(killChildren);
  after(async () => {
    killChildren();
    await town.cleanup();
  });

  const pidFile = (): string => town.file("daemon", "daemon.pid");

  it("no daemon: stop, request and reload leave it alone and say the daemon is not running", async () => {
    const sleeper = bystander();
    writeFileSync(pidFile(), String(sleeper));
    const stop = await town.run(["stop"]);
    assert.equal(stop.code, 1);
    assert.deepEqual(lines(stop.stderr), ["townd: Daemon is not running"]);
    writeFileSync(pidFile(), String(sleeper));
    const request = await town.run(["request", "cycle", "--as", "deacon"]);
    assert.equal(request.code, 0, request.stderr);
    assert.match(request.stdout, /^● Queued cycle of deacon \(msg-\w+\); the daemon is not running\n$/);
    const reload = await town.run(["reload"]);
    assert.equal(reload.code, 1);
    assert.deepEqual(lines(reload.stderr), ["townd: Daemon is not running"]);
    assert.ok(isAlive(sleeper), "the unrelated process survived");
  });

  it("no daemon, concurrent requests probing the lock: none of them signals the stale PID", async () => {
    const sleeper = bystander();
    writeFileSync(pidFile(), String(sleeper));
    // Each CLI's lock probe looks like a running daemon to the others.
    for (let round = 0; round < 3; round++) {
      const runs = await Promise.all(
        Array.from({ length: 6 }, () => town.run(["request", "cycle", "--as", "deacon"])),
      );
      for (const run of runs) assert.equal(run.code, 0, run.stderr);
      assert.ok(isAlive(sleeper), `the unrelated process survived round ${round}`);
    }
  });

  it("the lock held by another process: a clear error naming the PID, and no signal", async () => {
    const sleeper = bystander();
    const holder = spawn("flock", ["-n", town.file("daemon", "daemon.lock"), "sleep", "600"], {
      stdio: "ignore",
      detached: true,
    });
    children.push(holder);
    await until("flock(1) to hold the lock", () => lockHeld(town.file("daemon", "daemon.lock")), 5000);
    writeFileSync(pidFile(), String(sleeper));
    const stop = await town.run(["stop"]);
    assert.equal(stop.code, 1);
    const [line, ...rest] = lines(stop.stderr);
    assert.deepEqual(rest, []);
    assert.match(
      line ?? "",
      new RegExp(
        `^townd: Cannot tell which process is the daemon: .*daemon\\.pid names PID ${sleeper}, which does not hold .*daemon\\.lock \\(held by PID ${holder.pid}\\); not signalling it$`,
      ),
    );
    const reload = await town.run(["reload"]);
    assert.equal(reload.code, 1);
    assert.match(reload.stderr, new RegExp(`names PID ${sleeper}, which does not hold`));
    const request = await town.run(["request", "restart", "--as", "deacon"]);
    assert.equal(request.code, 0, request.stderr);
    assert.match(request.stdout, /could not wake the daemon \(.*not signalling it\)/);
    assert.ok(isAlive(sleeper), "the unrelated process survived");
  });

  it("a running daemon: requests and reload reach it, stop stops it, the unrelated process lives", async () => {
    const daemon = await startDaemon(town);
    const sleeper = bystander();
    writeFileSync(pidFile(), String(sleeper));
    const request = await town.run(["request", "cycle", "--as", "deacon"]);
    assert.equal(request.code, 0, request.stderr);
    assert.match(request.stdout, /^✓ Requested cycle of deacon/);
    const reload = await town.run(["reload"]);
    assert.equal(reload.code, 0, reload.stderr);
    assert.equal(reload.stdout, `✓ Asked the daemon (PID ${daemon}) to reload its config\n`);
    const stop = await town.run(["stop"]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(stop.stdout, `✓ Daemon stopped (was PID ${daemon})\n`);
    assert.equal(isAlive(daemon), false, "the real daemon stopped");
    assert.ok(isAlive(sleeper), "the unrelated process survived");
  });

  it("a running daemon with a correct PID file still stops", async () => {
    const daemon = await startDaemon(town);
    const stop = await town.run(["stop"]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(stop.stdout, `✓ Daemon stopped (was PID ${daemon})\n`);
    assert.equal(isAlive(daemon), false);
  });
});
