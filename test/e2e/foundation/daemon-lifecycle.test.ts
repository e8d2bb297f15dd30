import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import {
  belongsToTown,
  daemonPidsOf,
  heartbeatCount,
  isAlive,
  lines,
  lockHeld,
  logMessages,
  makeTown,
  shutdownLatency,
  readPid,
  readState,
  spawnTownd,
  startDaemon,
  startedPid,
  until,
  type CliResult,
  type TestTown,
} from "../../helpers/cli.js";

/** The daemon process: start, status, logs, stop, restart, run, signals, the lock, pid and state files. */

const STATE_KEYS = ["running", "pid", "started_at", "last_heartbeat", "heartbeat_count"];

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function oneLineError(result: CliResult, what: string): string {
  assert.equal(result.code, 1, `${what}: exit code (stdout=${result.stdout} stderr=${result.stderr})`);
  const errLines = lines(result.stderr);
  assert.equal(errLines.length, 1, `${what}: expected one stderr line, got:\n${result.stderr}`);
  return errLines[0] ?? "";
}

/** state.json in the reference's format (§2): the five fields in order, 2-space indented, dates parse. */
function assertStateFormat(root: string): Record<string, unknown> {
  const text = readFileSync(`${root}/daemon/state.json`, "utf8");
  const state = JSON.parse(text) as Record<string, unknown>;
  assert.deepEqual(Object.keys(state), STATE_KEYS, "state.json fields");
  assert.equal(text, `${JSON.stringify(state, null, 2)}\n`, "state.json is 2-space indented JSON");
  assert.equal(typeof state["running"], "boolean");
  assert.ok(Number.isInteger(state["pid"]), "pid is an integer");
  assert.ok(Number.isInteger(state["heartbeat_count"]), "heartbeat_count is an integer");
  for (const key of ["started_at", "last_heartbeat"]) {
    const value = state[key];
    assert.equal(typeof value, "string", key);
    assert.ok(!Number.isNaN(Date.parse(value as string)), `${key} ${String(value)} parses as a date`);
  }
  return state;
}

async function statusJson(
  town: TestTown,
): Promise<{ daemon: Record<string, unknown> } & Record<string, unknown>> {
  const result = await town.run(["status", "--json"]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as { daemon: Record<string, unknown> } & Record<string, unknown>;
}

async function waitForDeath(pid: number, timeoutMs: number): Promise<number> {
  const started = Date.now();
  await until(`process ${pid} to exit`, () => !isAlive(pid), timeoutMs, 10);
  return Date.now() - started;
}

/** A process that has certainly exited, so its PID is (for now) nobody's. */
async function deadPid(): Promise<number> {
  const child = spawn("true", [], { stdio: "ignore" });
  const pid = child.pid;
  assert.ok(pid !== undefined);
  await new Promise((resolve) => child.on("close", resolve));
  return pid;
}

// Independent towns, a few at a time: all at once would load a 2-core machine beyond what the timing
// assertions allow for.
describe("daemon lifecycle", { concurrency: 3 }, () => {
  describe("start → status → logs → stop (B2, B5, B13, B17)", { concurrency: 1 }, () => {
    let town: TestTown;
    let pid = 0;
    before(async () => {
      town = await makeTown();
    });
    after(async () => {
      await town.cleanup();
    });

    it("start returns once the daemon is up: one line naming the PID, pid file, lock and state written", async () => {
      const result = await town.run(["start"]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, "");
      assert.equal(lines(result.stdout).length, 1, result.stdout);
      const parsed = startedPid(result.stdout);
      assert.equal(parsed?.outcome, "started", result.stdout);
      pid = parsed.pid;
      town.track(pid);
      assert.ok(isAlive(pid), "the daemon process is alive");
      assert.ok(belongsToTown(pid, town.root), "the PID is a townd daemon of this town");
      // B2: the decimal PID, no newline.
      assert.equal(readFileSync(town.file("daemon", "daemon.pid"), "utf8"), String(pid));
      assert.ok(lockHeld(town.file("daemon", "daemon.lock")), "daemon.lock is flock-held");
      const state = assertStateFormat(town.root);
      assert.equal(state["running"], true);
      assert.equal(state["pid"], pid);
      // Detached: its own session, so a closing terminal does not take it down.
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      assert.equal(Number(fields[3]), pid, "the daemon leads its own session (setsid)");
    });

    it("the first pass runs at start (B5) and no other pass follows without a reason", async () => {
      await until("the first heartbeat", () => heartbeatCount(town.root) >= 1, 10_000);
      const state = readState(town.root);
      assert.ok(Date.parse(String(state["last_heartbeat"])) >= Date.parse(String(state["started_at"])));
      await sleep(1500);
      assert.equal(heartbeatCount(town.root), 1, "default interval is 3m: no second pass within 1.5 s");
    });

    it("status --json reports the daemon from the lock and state.json", async () => {
      const status = await statusJson(town);
      assert.deepEqual(Object.keys(status.daemon), STATE_KEYS);
      const state = readState(town.root);
      assert.deepEqual(status.daemon, {
        running: true,
        pid,
        started_at: state["started_at"],
        last_heartbeat: state["last_heartbeat"],
        heartbeat_count: state["heartbeat_count"],
      });
      assert.deepEqual(status["problems"], []);
      assert.equal((status["tmux"] as { socket: string }).socket, town.socket);

      const plain = await town.run(["status"]);
      assert.equal(plain.code, 0);
      assert.match(lines(plain.stdout)[0] ?? "", new RegExp(`Daemon is running \\(PID ${pid}\\)`));
      assert.match(plain.stdout, /Last heartbeat: .*\(#1,/);
    });

    it("logs shows the daemon's lines for people; --json, -n and a bad -n", async () => {
      const [plain, json, one, bad] = await Promise.all([
        town.run(["logs"]),
        town.run(["logs", "--json", "-n", "2"]),
        town.run(["logs", "-n", "1"]),
        town.run(["logs", "-n", "many"]),
      ]);
      assert.equal(plain.code, 0, plain.stderr);
      assert.match(plain.stdout, new RegExp(`INFO +Daemon starting \\(PID ${pid}\\)`));
      assert.match(plain.stdout, /Heartbeat complete \(#1\)/);
      for (const line of lines(plain.stdout)) assert.doesNotMatch(line, /^\{/, "rendered, not raw JSON");
      assert.equal(json.code, 0);
      const records = lines(json.stdout).map((line) => JSON.parse(line) as Record<string, unknown>);
      assert.equal(records.length, 2);
      for (const record of records) {
        assert.equal(typeof record["msg"], "string");
        assert.ok(!Number.isNaN(Date.parse(String(record["time"]))));
      }
      assert.equal(lines(one.stdout).length, 1);
      assert.match(oneLineError(bad, "logs -n many"), /--lines/);
    });

    it("logs -n 0 prints no lines", async () => {
      const result = await town.run(["logs", "-n", "0"]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, "", "-n 0 must print nothing");
    });

    it("logs -f follows new lines as they are written", async () => {
      const follower = spawnTownd(["logs", "-f", "-n", "1"], { cwd: town.root });
      try {
        await until("logs -f to print the last line", () => follower.output().stdout !== "", 10_000);
        const count = heartbeatCount(town.root);
        process.kill(pid, "SIGUSR1");
        const expected = `Heartbeat complete (#${count + 1})`;
        await until(
          `logs -f to print "${expected}"`,
          () => follower.output().stdout.includes(expected),
          10_000,
        );
        assert.doesNotMatch(follower.output().stdout, /Daemon starting/, "-n 1 prints one old line only");
        assert.equal(follower.child.exitCode, null, "still following");
      } finally {
        follower.child.kill("SIGTERM");
        await follower.exited;
      }
    });

    it("SIGUSR1 runs a pass at once, without waiting for the 3m interval", async () => {
      const count = heartbeatCount(town.root);
      process.kill(pid, "SIGUSR1");
      await until("heartbeat_count to increase after SIGUSR1", () => heartbeatCount(town.root) > count, 5000);
      assert.ok(isAlive(pid));
      assert.ok(logMessages(town.root).some((m) => m.startsWith("Received lifecycle signal")));
    });

    it("a second start reports the running daemon and starts nothing (B13)", async () => {
      const result = await town.run(["start"]);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(startedPid(result.stdout), { outcome: "already", pid });
      assert.deepEqual(daemonPidsOf(town.root), [pid]);
    });

    it("restart stops the daemon and starts a new one", async () => {
      const result = await town.run(["restart"]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`Daemon stopped \\(was PID ${pid}\\)`));
      const parsed = startedPid(result.stdout);
      assert.equal(parsed?.outcome, "started");
      assert.notEqual(parsed.pid, pid);
      assert.equal(isAlive(pid), false);
      pid = parsed.pid;
      town.track(pid);
      // Exactly one daemon: a process of the town still on its way out under load is given a moment.
      const only = pid;
      await until(
        "only the new daemon",
        () => {
          const pids = daemonPidsOf(town.root);
          return pids.length === 1 && pids[0] === only;
        },
        5_000,
      );
    });

    it("stop: SIGTERM, the daemon exits cleanly, state running=false, pid file removed, lock free", async () => {
      await until("the new daemon's first pass", () => heartbeatCount(town.root) >= 1, 10_000);
      const result = await town.run(["stop"]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(lines(result.stdout).length, 1);
      assert.match(result.stdout, new RegExp(`✓ Daemon stopped \\(was PID ${pid}\\)`));
      assert.equal(isAlive(pid), false);
      assert.equal(existsSync(town.file("daemon", "daemon.pid")), false);
      assert.equal(lockHeld(town.file("daemon", "daemon.lock")), false);
      const state = assertStateFormat(town.root);
      assert.equal(state["running"], false);
      assert.equal(state["pid"], pid);
      assert.equal(logMessages(town.root).at(-1), "Daemon stopped");
    });

    it("stop and status when nothing runs: stop fails with one line, status says so and exits 0", async () => {
      const [stop, status, json] = await Promise.all([
        town.run(["stop"]),
        town.run(["status"]),
        town.run(["status", "--json"]),
      ]);
      assert.match(oneLineError(stop, "stop"), /not running/);
      assert.equal(stop.stdout, "");
      assert.equal(status.code, 0);
      assert.match(lines(status.stdout)[0] ?? "", /Daemon is not running/);
      const doc = JSON.parse(json.stdout) as { daemon: Record<string, unknown> };
      assert.equal(doc.daemon["running"], false);
      assert.equal(doc.daemon["pid"], null);
    });
  });

  describe("20 concurrent starts (I6)", { concurrency: 1 }, () => {
    let town: TestTown;
    before(async () => {
      town = await makeTown();
    });
    after(async () => {
      await town.cleanup();
    });

    it("leave exactly one daemon, and all 20 callers exit 0 naming its PID", async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, () => town.run(["start"], { timeoutMs: 60_000 })),
      );
      const answers = results.map((result) => {
        assert.equal(result.code, 0, `a start failed: ${result.stdout}${result.stderr}`);
        const parsed = startedPid(result.stdout);
        assert.ok(parsed !== undefined, `not a truthful answer: ${JSON.stringify(result.stdout)}`);
        return parsed;
      });
      const pids = new Set(answers.map((answer) => answer.pid));
      assert.equal(pids.size, 1, `callers named different PIDs: ${[...pids].join(", ")}`);
      const [pid] = [...pids];
      assert.ok(pid !== undefined);
      town.track(pid);
      assert.equal(answers.filter((a) => a.outcome === "started").length, 1, "exactly one caller started it");
      // The losers exit on their own once they see the lock held.
      await until("only one daemon process to remain", () => daemonPidsOf(town.root).length === 1, 10_000);
      assert.deepEqual(daemonPidsOf(town.root), [pid]);
      assert.equal(readPid(town.root), pid);
      assert.ok(lockHeld(town.file("daemon", "daemon.lock")));
      const state = readState(town.root);
      assert.equal(state["pid"], pid);
      assert.equal(state["running"], true);
    });
  });

  describe("kill -9", { concurrency: 1 }, () => {
    let town: TestTown;
    before(async () => {
      town = await makeTown();
    });
    after(async () => {
      await town.cleanup();
    });

    it("after kill -9, status says not running (from the lock, not state.json) and start succeeds", async () => {
      const pid = await startDaemon(town);
      await until("the first heartbeat", () => heartbeatCount(town.root) >= 1, 10_000);
      process.kill(pid, "SIGKILL");
      await waitForDeath(pid, 5000);
      // The killed daemon could not clean up: its files still say it runs.
      assert.equal(readState(town.root)["running"], true);
      assert.equal(readPid(town.root), pid);

      const status = await statusJson(town);
      assert.equal(status.daemon["running"], false);
      assert.equal(status.daemon["pid"], null);
      const plain = await town.run(["status"]);
      assert.match(lines(plain.stdout)[0] ?? "", /Daemon is not running/);

      // A kill -9 between an atomic write's temp file and its rename leaves the temp file: the next start
      // removes those of the files it owns, and nothing else.
      const leftovers = ["state.json.2882400018", "agents.json.7", "daemon.pid.4294967295"];
      for (const name of leftovers) writeFileSync(town.file("daemon", name), "{half");
      writeFileSync(town.file("daemon", "notes.json.7"), "not ours");

      const next = await startDaemon(town);
      assert.notEqual(next, pid);
      for (const name of leftovers) assert.equal(existsSync(town.file("daemon", name)), false, name);
      assert.equal(existsSync(town.file("daemon", "notes.json.7")), true);
      assert.ok(
        logMessages(town.root).some((m) =>
          m.startsWith("Removed 3 temp file(s) left by an interrupted write"),
        ),
      );
      assert.equal(readPid(town.root), next);
      const state = readState(town.root);
      assert.equal(state["running"], true);
      assert.equal(state["pid"], next);
      process.kill(next, "SIGKILL");
      await waitForDeath(next, 5000);
    });

    it("kill -9 at random moments, even during a burst of passes, leaves files the next start reads", async () => {
      for (let round = 0; round < 2; round++) {
        const pid = await startDaemon(town);
        const burst = setInterval(() => {
          try {
            process.kill(pid, "SIGUSR1");
          } catch {
            // Already dead.
          }
        }, 5);
        await sleep(50 + Math.floor(Math.random() * 250));
        process.kill(pid, "SIGKILL");
        clearInterval(burst);
        await waitForDeath(pid, 5000);
        const status = await statusJson(town);
        assert.equal(status.daemon["running"], false, `round ${round}`);
        assert.deepEqual(status["problems"], [], `round ${round}`);
        assertStateFormat(town.root);
        assert.ok(lines(readFileSync(town.file("daemon", "daemon.log"), "utf8")).every((l) => JSON.parse(l)));
      }
      const last = await startDaemon(town);
      const stop = await town.run(["stop"]);
      assert.equal(stop.code, 0, stop.stderr);
      assert.equal(isAlive(last), false);
      const errors = logMessages(town.root).filter((m) => /error|cannot|failed/i.test(m));
      assert.deepEqual(errors, [], "no complaints about the files a killed daemon left");
    });
  });

  describe("stale pid files (B10, B11)", { concurrency: 1 }, () => {
    let town: TestTown;
    before(async () => {
      town = await makeTown();
    });
    after(async () => {
      await town.cleanup();
    });

    it("a stale daemon.pid with a dead PID or garbage does not block start", async () => {
      for (const content of [String(await deadPid()), "garbage\n"]) {
        writeFileSync(town.file("daemon", "daemon.pid"), content);
        const status = await statusJson(town);
        assert.equal(status.daemon["running"], false, `pid file ${JSON.stringify(content)}`);
        const pid = await startDaemon(town);
        assert.equal(readPid(town.root), pid, `pid file ${JSON.stringify(content)} replaced`);
        const stop = await town.run(["stop"]);
        assert.equal(stop.code, 0, stop.stderr);
        await waitForDeath(pid, 5000);
      }
    });

    it("a stale daemon.pid naming a live unrelated process: not running, and stop never signals it", async () => {
      const bystander = spawn("sleep", ["30"], { stdio: "ignore" });
      const victim = bystander.pid;
      assert.ok(victim !== undefined);
      try {
        writeFileSync(town.file("daemon", "daemon.pid"), String(victim));
        const status = await statusJson(town);
        assert.equal(status.daemon["running"], false);
        assert.match(oneLineError(await town.run(["stop"]), "stop with a stale pid"), /not running/);
        await sleep(200);
        assert.ok(isAlive(victim), "the unrelated process must not be signalled");
        assert.equal(bystander.exitCode, null);
        const pid = await startDaemon(town);
        assert.notEqual(pid, victim);
        assert.equal(readPid(town.root), pid);
        assert.equal((await town.run(["stop"])).code, 0);
        assert.ok(isAlive(victim));
      } finally {
        bystander.kill("SIGKILL");
      }
    });
  });

  describe("signals (B8, B9, §17)", { concurrency: 1 }, () => {
    let town: TestTown;
    before(async () => {
      town = await makeTown();
    });
    after(async () => {
      await town.cleanup();
    });

    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      it(`${signal} stops the daemon promptly: state.json running=false in the reference format, no pid file`, async () => {
        const pid = await startDaemon(town);
        await until("the first heartbeat", () => heartbeatCount(town.root) >= 1, 10_000);
        const startedAt = readState(town.root)["started_at"];
        process.kill(pid, signal);
        const took = await waitForDeath(pid, 5000);
        assert.ok(took < 5000, `${signal}: the process took ${took} ms to exit`);
        const latency = shutdownLatency(town.root);
        assert.ok(
          latency < 1500,
          `${signal}: the daemon took ${latency} ms from the signal to "Daemon stopped"`,
        );
        const state = assertStateFormat(town.root);
        assert.equal(state["running"], false);
        assert.equal(state["pid"], pid);
        assert.equal(state["started_at"], startedAt);
        assert.ok((state["heartbeat_count"] as number) >= 1);
        assert.equal(existsSync(town.file("daemon", "daemon.pid")), false);
        assert.equal(lockHeld(town.file("daemon", "daemon.lock")), false);
        const messages = logMessages(town.root);
        assert.ok(messages.includes(`Received signal ${signal}, shutting down`), messages.join("\n"));
        assert.equal(messages.at(-1), "Daemon stopped");
      });
    }

    it("stop: a daemon that does not answer SIGTERM gets SIGKILL after --timeout; its files are set right", async () => {
      const pid = await startDaemon(town);
      await until("the first heartbeat", () => heartbeatCount(town.root) >= 1, 10_000);
      process.kill(pid, "SIGSTOP"); // a stopped process cannot act on SIGTERM
      try {
        const bad = await town.run(["stop", "--timeout", "soon"]);
        assert.match(oneLineError(bad, "stop --timeout soon"), /--timeout/);
        const result = await town.run(["stop", "--timeout", "1s"]);
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stdout, new RegExp(`SIGKILL \\(was PID ${pid}\\)`));
        assert.ok(result.ms >= 1000, `stop waited ${result.ms} ms, less than --timeout`);
        assert.ok(result.ms < 10_000, `stop took ${result.ms} ms`);
      } finally {
        if (isAlive(pid)) process.kill(pid, "SIGKILL");
      }
      await waitForDeath(pid, 5000);
      const state = assertStateFormat(town.root);
      assert.equal(state["running"], false);
      assert.equal(state["pid"], pid);
      assert.equal(existsSync(town.file("daemon", "daemon.pid")), false);
      assert.equal((await statusJson(town)).daemon["running"], false);
    });

    it("SIGHUP does not kill the daemon (it reloads the config)", async () => {
      const pid = await startDaemon(town);
      await until("the first heartbeat", () => heartbeatCount(town.root) >= 1, 10_000);
      process.kill(pid, "SIGHUP");
      await until("the pass SIGHUP asks for", () => heartbeatCount(town.root) >= 2, 5000);
      assert.ok(isAlive(pid));
      assert.equal((await town.run(["stop"])).code, 0);
    });
  });

  describe("heartbeat interval", { concurrency: 1 }, () => {
    let town: TestTown;
    before(async () => {
      town = await makeTown({ daemonSettings: { recovery_heartbeat_interval: "1s" } });
    });
    after(async () => {
      await town.cleanup();
    });

    it('recovery_heartbeat_interval "1s" makes passes happen about every second', async () => {
      await startDaemon(town);
      await until("the first heartbeat", () => heartbeatCount(town.root) >= 1, 10_000);
      const first = heartbeatCount(town.root);
      await sleep(3300);
      const passes = heartbeatCount(town.root) - first;
      assert.ok(passes >= 2 && passes <= 4, `expected about 3 passes in 3.3 s, saw ${passes}`);
      assert.match(logMessages(town.root).join("\n"), /recovery heartbeat interval 1s/);
    });
  });

  describe("townd run in the foreground (B1)", { concurrency: 1 }, () => {
    let town: TestTown;
    before(async () => {
      town = await makeTown();
    });
    after(async () => {
      await town.cleanup();
    });

    it("run holds the lock; a second run exits 3 with 'already running'; start names it; SIGINT ends it with 0", async () => {
      const daemon = spawnTownd(["run"], { cwd: town.root, env: town.env });
      const pid = daemon.child.pid;
      assert.ok(pid !== undefined);
      town.track(pid);
      try {
        await until(
          "the foreground daemon's pid file",
          () => {
            if (daemon.child.exitCode !== null) {
              throw new Error(`townd run exited with ${daemon.child.exitCode}: ${daemon.output().stderr}`);
            }
            return readPid(town.root) === pid;
          },
          20_000,
        );
        const second = await town.run(["run"]);
        assert.equal(second.code, 3, second.stderr);
        assert.match(second.stderr, /daemon already running \(lock held by another process\)/);
        const start = await town.run(["start"]);
        assert.deepEqual(startedPid(start.stdout), { outcome: "already", pid });
        assert.equal((await statusJson(town)).daemon["pid"], pid);
      } finally {
        daemon.child.kill("SIGINT");
      }
      const exit = await daemon.exited;
      assert.deepEqual(exit, { code: 0, signal: null }, daemon.output().stderr);
      assert.equal(readState(town.root)["running"], false);
      assert.equal(existsSync(town.file("daemon", "daemon.pid")), false);
    });
  });

  describe("start failures", { concurrency: 1 }, () => {
    let town: TestTown;
    before(async () => {
      town = await makeTown();
    });
    after(async () => {
      await town.cleanup();
    });

    it("a daemon that cannot start: start exits 1 saying why, with the log's last lines", async () => {
      // tmux.socket names a path over the Unix socket limit: the daemon must refuse to run.
      const settingsFile = town.file("settings", "config.json");
      const settings = JSON.parse(readFileSync(settingsFile, "utf8")) as Record<string, unknown>;
      settings["tmux"] = { socket: `${town.root}/${"s".repeat(120)}` };
      writeFileSync(settingsFile, JSON.stringify(settings, null, 2));
      const result = await town.run(["start"]);
      assert.equal(result.code, 1, result.stdout);
      assert.match(result.stderr, /^townd: Daemon failed to start/);
      assert.match(result.stderr, /last log lines/);
      assert.match(result.stderr, /107-byte limit/);
      assert.doesNotMatch(result.stderr, /internal error/);
      assert.deepEqual(daemonPidsOf(town.root), []);
      assert.equal(lockHeld(town.file("daemon", "daemon.lock")), false);
      assert.ok(statSync(town.file("daemon", "daemon.log")).size > 0);
    });

    it("a daemon that fails during start-up (tmux answers -V after 1 s with an error): start exits 1, not 'started'", async () => {
      writeFileSync(town.file("settings", "config.json"), JSON.stringify({ tmux: { socket: town.socket } }));
      const bin = town.file("brokenbin");
      mkdirSync(bin, { recursive: true });
      writeFileSync(`${bin}/tmux`, '#!/bin/sh\nsleep 1\necho "tmux: broken build" >&2\nexit 1\n');
      chmodSync(`${bin}/tmux`, 0o755);
      const result = await town.run(["start"], { env: { PATH: `${bin}:${process.env["PATH"] ?? ""}` } });
      // The daemon holds the lock and writes its pid and state before it checks tmux; "up" must mean
      // the start-up went through, or a caller is told "started" about a daemon that is already gone.
      assert.equal(result.code, 1, `start said: ${result.stdout}`);
      assert.match(result.stderr, /^townd: Daemon failed to start/);
      assert.match(result.stderr, /broken build|Cannot supervise/);
      await until("the failed daemon to exit", () => daemonPidsOf(town.root).length === 0, 10_000);
    });
  });
});
