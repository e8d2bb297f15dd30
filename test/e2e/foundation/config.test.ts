import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import {
  heartbeatCount,
  isAlive,
  lines,
  logErrors,
  logMessages,
  makeTown,
  readLog,
  readPid,
  readState,
  startDaemon,
  until,
  type TestTown,
} from "../../helpers/cli.js";

/**
 * Config files at the daemon: a broken file is logged once, the last good version stays in force, the daemon
 * keeps running, and fixes (or any change) take effect without a restart, via the file watch and via SIGHUP.
 */

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function readSettings(town: TestTown): string {
  return readFileSync(town.file("settings", "config.json"), "utf8");
}

/** settings/config.json as it is now, with the heartbeat interval set to `interval`. */
function settingsWithInterval(town: TestTown, interval: unknown): string {
  return withInterval(readSettings(town), interval);
}

/** `base` settings text with operational.daemon.recovery_heartbeat_interval set to `interval`. */
function withInterval(base: string, interval: unknown): string {
  const settings = JSON.parse(base) as Record<string, unknown>;
  settings["operational"] = { daemon: { recovery_heartbeat_interval: interval } };
  return `${JSON.stringify(settings, null, 2)}\n`;
}

async function statusJson(town: TestTown): Promise<{ daemon: Record<string, unknown>; problems: string[] }> {
  const result = await town.run(["status", "--json"]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as { daemon: Record<string, unknown>; problems: string[] };
}

/** Sends SIGUSR1 and waits for the pass it causes. */
async function triggerPass(town: TestTown, pid: number): Promise<void> {
  const count = heartbeatCount(town.root);
  process.kill(pid, "SIGUSR1");
  await until("a pass after SIGUSR1", () => heartbeatCount(town.root) > count, 5000);
}

describe("config files and the running daemon", { concurrency: 3 }, () => {
  describe("a corrupt settings/config.json at start", { concurrency: 1 }, () => {
    let town: TestTown;
    let settingsFile = "";
    before(async () => {
      town = await makeTown();
      settingsFile = town.file("settings", "config.json");
    });
    after(async () => {
      await town.cleanup();
    });

    it("start refuses it with one line naming the file and the field, and no daemon runs", async () => {
      writeFileSync(settingsFile, settingsWithInterval(town, "soon"));
      const result = await town.run(["start"]);
      assert.equal(result.code, 1, `start with a corrupt settings file:\n${result.stdout}${result.stderr}`);
      const lines = result.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0] ?? "", /settings\/config\.json/);
      assert.match(lines[0] ?? "", /operational\.daemon\.recovery_heartbeat_interval/);
      assert.match(lines[0] ?? "", /soon/);
      assert.equal(readPid(town.root), undefined, "no daemon was started");
      const status = await statusJson(town);
      assert.equal(status.daemon["running"], false);
    });
  });

  describe("a settings file broken while the daemon runs", { concurrency: 1 }, () => {
    let town: TestTown;
    before(async () => {
      town = await makeTown({ daemonSettings: { recovery_heartbeat_interval: "1s" } });
    });
    after(async () => {
      await town.cleanup();
    });

    it("is logged exactly once over several passes; the daemon keeps running on the last good config", async () => {
      const settingsFile = town.file("settings", "config.json");
      const good = readFileSync(settingsFile, "utf8");
      const pid = await startDaemon(town);
      await until("the first heartbeat", () => heartbeatCount(town.root) >= 1, 10_000);

      writeFileSync(settingsFile, '{"type": "town-settings", "operational": ');
      await until("the error to be logged", () => logErrors(town.root, settingsFile).length > 0, 5000);
      const afterBreak = heartbeatCount(town.root);
      // The last good interval (1s) stays in force: passes go on, the error is not repeated.
      await until("three more passes", () => heartbeatCount(town.root) >= afterBreak + 3, 8000);
      assert.ok(isAlive(pid));
      const errors = logErrors(town.root, settingsFile);
      assert.equal(errors.length, 1, `logged ${errors.length} times`);
      assert.match(String(errors[0]?.["msg"]), /not valid JSON/);
      assert.equal(errors[0]?.["file"], settingsFile);

      // A different problem in the same file is news: logged once more.
      writeFileSync(settingsFile, withInterval(good, 42));
      await until("the second error", () => logErrors(town.root, settingsFile).length === 2, 5000);
      const count = heartbeatCount(town.root);
      await until("two more passes", () => heartbeatCount(town.root) >= count + 2, 6000);
      assert.equal(logErrors(town.root, settingsFile).length, 2);
      assert.match(String(logErrors(town.root, settingsFile)[1]?.["msg"]), /recovery_heartbeat_interval/);

      // Fixing it is reported once.
      writeFileSync(settingsFile, good);
      await until("the recovery to be logged", () =>
        logMessages(town.root).some((m) => m.includes("valid again")),
      );
      const recovered = heartbeatCount(town.root);
      await until("two more passes", () => heartbeatCount(town.root) >= recovered + 2, 6000);
      assert.equal(logMessages(town.root).filter((m) => m.includes("valid again")).length, 1);
      assert.equal(logErrors(town.root, settingsFile).length, 2);
      const status = await statusJson(town);
      assert.equal(status.daemon["running"], true);
      assert.deepEqual(status.problems, []);
    });
  });

  describe("a config change reaches the daemon through the file watch", { concurrency: 1 }, () => {
    let town: TestTown;
    before(async () => {
      town = await makeTown({ daemonSettings: { recovery_heartbeat_interval: "1h" } });
    });
    after(async () => {
      await town.cleanup();
    });

    it('recovery_heartbeat_interval "1h" → "1s" speeds the passes up without a restart or a signal', async () => {
      const pid = await startDaemon(town);
      await until("the first heartbeat", () => heartbeatCount(town.root) >= 1, 10_000);
      await sleep(1200);
      assert.equal(heartbeatCount(town.root), 1, "1h interval: no second pass");
      writeFileSync(town.file("settings", "config.json"), settingsWithInterval(town, "1s"));
      await until("passes every second", () => heartbeatCount(town.root) >= 4, 6000);
      assert.ok(isAlive(pid));
      const reasons = readLog(town.root).flatMap(
        (record) => (record["reasons"] as string[] | undefined) ?? [],
      );
      assert.ok(reasons.includes("config changed"), `pass reasons: ${reasons.join(", ")}`);
      assert.equal(readPid(town.root), pid, "same daemon");
    });

    it("status with a corrupt state.json still reports the daemon running (from the lock and pid file)", async () => {
      const pid = readPid(town.root);
      assert.ok(pid !== undefined && isAlive(pid), "the daemon of the previous test runs");
      // Slow the passes down again, so the corrupt file stays in place while status reads it.
      writeFileSync(town.file("settings", "config.json"), settingsWithInterval(town, "1h"));
      await triggerPass(town, pid);
      writeFileSync(town.file("daemon", "state.json"), '{"running": tr');
      const status = await statusJson(town);
      assert.equal(status.daemon["running"], true);
      assert.equal(status.daemon["pid"], pid);
      const plain = await town.run(["status"]);
      assert.equal(plain.code, 0, plain.stderr);
      assert.match(lines(plain.stdout)[0] ?? "", new RegExp(`Daemon is running \\(PID ${pid}\\)`));
      // The daemon's next pass writes a good state.json again.
      process.kill(pid, "SIGUSR1");
      await until("state.json to be rewritten", () => heartbeatCount(town.root) >= 1, 5000);
      assert.equal(readState(town.root)["running"], true);
    });
  });

  describe("a config change reaches the daemon through SIGHUP", { concurrency: 1 }, () => {
    let town: TestTown;
    before(async () => {
      town = await makeTown({ daemonSettings: { recovery_heartbeat_interval: "1h" } });
    });
    after(async () => {
      await town.cleanup();
    });

    it("SIGHUP reloads a change the file watch could not see", async () => {
      const pid = await startDaemon(town);
      await until("the first heartbeat", () => heartbeatCount(town.root) >= 1, 10_000);
      // Swap the whole settings/ directory: the watch stays on the old directory and sees nothing.
      const fresh = town.file("settings.new");
      mkdirSync(fresh);
      writeFileSync(`${fresh}/config.json`, settingsWithInterval(town, "1s"));
      renameSync(town.file("settings"), town.file("settings.old"));
      renameSync(fresh, town.file("settings"));
      // (settings.old stays: deleting its config.json would be an event the watch does see.)
      await sleep(1500);
      assert.equal(heartbeatCount(town.root), 1, "nothing has reloaded the config yet");

      process.kill(pid, "SIGHUP");
      await until("passes every second after SIGHUP", () => heartbeatCount(town.root) >= 4, 6000);
      assert.ok(isAlive(pid));
      assert.ok(logMessages(town.root).includes("Received SIGHUP, reloading config"));
    });
  });

  describe(
    "empty mayor/daemon.json, mayor/rigs.json and daemon/state.json at start",
    { concurrency: 1 },
    () => {
      let town: TestTown;
      before(async () => {
        // An unreadable daemon.json enables every patrol (B21): agents are the simulated ones.
        town = await makeTown({ agent: "sim" });
      });
      after(async () => {
        await town.cleanup();
      });

      it("status prints sensibly, start refuses the broken config, then rewrites an empty state.json", async () => {
        const config = ["mayor/daemon.json", "mayor/rigs.json"];
        const saved = config.map((file) => readFileSync(town.file(file), "utf8"));
        for (const file of [...config, "daemon/state.json"]) writeFileSync(town.file(file), "");
        const before = await town.run(["status"]);
        assert.equal(before.code, 0, before.stderr);
        assert.match(lines(before.stdout)[0] ?? "", /Daemon is not running/);

        const refused = await town.run(["start"]);
        assert.equal(refused.code, 1, refused.stdout);
        assert.match(refused.stderr, /^townd: .*mayor\/(daemon|rigs)\.json.*empty.*\n$/);
        config.forEach((file, index) => {
          writeFileSync(town.file(file), saved[index] ?? "");
        });

        const pid = await startDaemon(town);
        await until("the first heartbeat", () => heartbeatCount(town.root) >= 1, 15_000);
        await triggerPass(town, pid);
        const state = readState(town.root);
        assert.equal(state["running"], true);
        assert.equal(state["pid"], pid);
        const status = await statusJson(town);
        assert.equal(status.daemon["running"], true);
        assert.equal(status.daemon["pid"], pid);
        // The CLI's own reading of rigs.json names the broken file.
        writeFileSync(town.file("mayor", "rigs.json"), "");
        const rigList = await town.run(["rig", "list"]);
        assert.equal(rigList.code, 1);
        assert.match(rigList.stderr, /mayor\/rigs\.json/);
      });
    },
  );

  describe(
    "missing mayor/daemon.json, mayor/rigs.json and daemon/state.json at start",
    { concurrency: 1 },
    () => {
      let town: TestTown;
      before(async () => {
        town = await makeTown({ agent: "sim" });
      });
      after(async () => {
        await town.cleanup();
      });

      it("status prints sensibly and start works with no config error logged", async () => {
        for (const file of ["mayor/daemon.json", "mayor/rigs.json", "daemon/state.json"]) {
          rmSync(town.file(file), { force: true });
        }
        const before = await town.run(["status", "--json"]);
        assert.equal(before.code, 0, before.stderr);
        const doc = JSON.parse(before.stdout) as { daemon: Record<string, unknown> };
        assert.deepEqual(doc.daemon, {
          running: false,
          pid: null,
          started_at: null,
          last_heartbeat: null,
          heartbeat_count: 0,
        });
        const pid = await startDaemon(town);
        await until("the first heartbeat", () => heartbeatCount(town.root) >= 1, 15_000);
        assert.deepEqual(
          readLog(town.root)
            .filter((record) => record["level"] === "error")
            .map((record) => record["msg"]),
          [],
        );
        assert.equal(readState(town.root)["pid"], pid);
        const list = await town.run(["rig", "list", "--json"]);
        assert.equal(list.code, 0, list.stderr);
        assert.deepEqual(JSON.parse(list.stdout), { rigs: [] });
      });
    },
  );
});
