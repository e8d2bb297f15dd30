import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import {
  heartbeatCount,
  isAlive,
  lines,
  lockHeld,
  logMessages,
  makeTown,
  readPid,
  readState,
  shutdownLatency,
  spawnTownd,
  startDaemon,
  until,
  type RunningCli,
  type TestTown,
} from "../../helpers/cli.js";

/**
 * `townd stop` while the daemon waits on a tmux call that hangs: the daemon must abort the call and exit by
 * itself (no SIGKILL), leaving state.json running=false and no pid file, and no hung child behind.
 *
 * A fake `tmux` first on the daemon's PATH answers `-V` at once and hangs (exec sleep 60) on the calls
 * chosen by the test, logging "<pid> <args>" of every call.
 */

/** "everything": every call but -V hangs (start-up is stuck); "pass": start-up works, every later call hangs. */
type HangOn = "everything" | "pass";

function fakeTmux(town: TestTown, hangOn: HangOn): { path: string; calls: string } {
  const dir = town.file("fakebin");
  mkdirSync(dir, { recursive: true });
  const calls = town.file("tmux-calls.log");
  // ensureServer is the one call with start-server in it: let it through in "pass" mode.
  const hang =
    hangOn === "everything"
      ? "exec sleep 60"
      : 'case " $* " in *" start-server "*) exit 0 ;; esac\nexec sleep 60';
  writeFileSync(
    `${dir}/tmux`,
    [
      "#!/bin/sh",
      `echo "$$ $*" >> '${calls}'`,
      'if [ "$1" = "-V" ]; then echo "tmux 3.3a"; exit 0; fi',
      hang,
      "exit 0",
      "",
    ].join("\n"),
  );
  chmodSync(`${dir}/tmux`, 0o755);
  return { path: `${dir}:${process.env["PATH"] ?? "/usr/bin:/bin"}`, calls };
}

/** "<pid> <args>" lines of the fake tmux calls whose args include `what` ("*": any call but -V). */
function callsOf(file: string, what: string): { pid: number; args: string }[] {
  if (!existsSync(file)) return [];
  return lines(readFileSync(file, "utf8"))
    .map((line) => {
      const space = line.indexOf(" ");
      return { pid: Number(line.slice(0, space)), args: line.slice(space + 1) };
    })
    .filter((call) =>
      what === "*"
        ? call.args !== "-V" && !call.args.includes("start-server")
        : call.args.split(" ").includes(what),
    );
}

function enableDeacon(town: TestTown): void {
  writeFileSync(
    town.file("mayor", "daemon.json"),
    JSON.stringify({
      type: "daemon-patrol-config",
      version: 1,
      patrols: { deacon: { enabled: true }, witness: { enabled: false }, refinery: { enabled: false } },
    }),
  );
}

const cases: { hangOn: HangOn; call: string; title: string }[] = [
  { hangOn: "pass", call: "*", title: "in the first pass (its first tmux call hangs)" },
  { hangOn: "everything", call: "start-server", title: "in start-up (every tmux call but -V hangs)" },
];

describe("townd stop while a tmux call hangs", { concurrency: true }, () => {
  for (const { hangOn, call, title } of cases) {
    describe(title, { concurrency: 1 }, () => {
      let town: TestTown;
      let hung: number[] = [];
      /** How the daemon process ended: its exit code when the test started it in the foreground. */
      let exitCode: number | null | undefined;
      /** The daemon's stderr: startup.log for `townd start`, the pipe for a foreground `townd run`. */
      let daemonStderr = "";
      before(async () => {
        town = await makeTown();
        enableDeacon(town);
      });
      after(async () => {
        for (const pid of hung) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // Gone, as it should be.
          }
        }
        await town.cleanup();
      });

      it("stop finishes within 5 s with 'Daemon stopped' (no SIGKILL), running=false, no pid file", async () => {
        const tmux = fakeTmux(town, hangOn);
        let pid: number;
        let foreground: RunningCli | undefined;
        if (hangOn === "pass") {
          pid = await startDaemon(town, { PATH: tmux.path });
        } else {
          // Start-up itself hangs: run the daemon in the foreground, so the test does not depend on when
          // `townd start` considers a daemon up, and sees the daemon's exit code.
          foreground = spawnTownd(["run"], { cwd: town.root, env: { ...town.env, PATH: tmux.path } });
          const child = foreground.child;
          pid = child.pid ?? 0;
          town.track(pid);
          await until("the daemon's pid file", () => readPid(town.root) === pid, 20_000);
        }
        await until(`the daemon to call tmux ${call}`, () => callsOf(tmux.calls, call).length > 0, 10_000);
        hung = callsOf(tmux.calls, call).map((c) => c.pid);
        // No state.json yet (start-up not finished: -1) or a count of 0: either way, no pass completed.
        assert.ok(heartbeatCount(town.root) <= 0, "the first pass has not completed");

        const stop = await town.run(["stop"]);
        assert.equal(stop.code, 0, stop.stderr);
        assert.match(stop.stdout, new RegExp(`✓ Daemon stopped \\(was PID ${pid}\\)`));
        assert.doesNotMatch(stop.stdout, /SIGKILL/);
        assert.ok(stop.ms < 8000, `stop took ${stop.ms} ms`);
        assert.equal(isAlive(pid), false);
        // The tmux client's own timeout (5 s) would end the call too: a prompt stop aborts it instead.
        const latency = shutdownLatency(town.root);
        assert.ok(latency < 2000, `the daemon took ${latency} ms from SIGTERM to "Daemon stopped"`);
        if (foreground !== undefined) {
          exitCode = (await foreground.exited).code;
          daemonStderr = foreground.output().stderr;
        } else if (existsSync(town.file("daemon", "startup.log"))) {
          daemonStderr = readFileSync(town.file("daemon", "startup.log"), "utf8");
        }

        const state = readState(town.root);
        assert.equal(state["running"], false);
        assert.equal(state["pid"], pid);
        assert.equal(state["heartbeat_count"], 0);
        assert.equal(existsSync(town.file("daemon", "daemon.pid")), false);
        assert.equal(lockHeld(town.file("daemon", "daemon.lock")), false);
        assert.ok(logMessages(town.root).includes("Received signal SIGTERM, shutting down"));
        assert.equal(logMessages(town.root).at(-1), "Daemon stopped");
      });

      it("the daemon exits cleanly: no internal error, no 'Pass failed' for the aborted call", () => {
        assert.doesNotMatch(daemonStderr, /internal error/, daemonStderr);
        if (exitCode !== undefined) assert.equal(exitCode, 0, "a stopped daemon exits with 0");
        const failures = logMessages(town.root).filter((m) => /Pass failed|Cannot supervise/.test(m));
        assert.deepEqual(failures, []);
      });

      it("the hung tmux call does not outlive the daemon", async () => {
        assert.ok(hung.length > 0);
        await until("the hung tmux calls to end", () => !hung.some(isAlive), 2000).catch(() => undefined);
        assert.deepEqual(
          hung.filter(isAlive),
          [],
          "tmux calls still running after the daemon stopped (they should be killed on abort)",
        );
      });
    });
  }
});
