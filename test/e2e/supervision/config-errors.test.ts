import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import {
  createSupervisedTown,
  isAlive,
  type Json,
  type SupervisedTown,
} from "../../helpers/supervised-town.js";
import { sleep, until } from "../../helpers/wait.js";

/**
 * A broken settings/config.json is named, never silently replaced by defaults: `townd start` refuses it
 * (one line naming the file and the field, exit 1, no daemon), `townd reload` fails on it, and a running
 * daemon keeps its last good config and lists the file under `problems` in `townd status --json`.
 */

interface StatusDoc {
  daemon: { running: boolean; pid: number | null };
  problems: string[];
}

const nonEmptyLines = (text: string): string[] => text.split("\n").filter((line) => line.trim() !== "");

describe("townd start on a broken settings file", { timeout: 60_000 }, () => {
  let town: SupervisedTown;
  let settingsFile: string;
  let good: string;

  before(async () => {
    town = await createSupervisedTown({
      patrols: { witness: { enabled: false }, refinery: { enabled: false } },
    });
    settingsFile = join(town.root, "settings", "config.json");
    good = readFileSync(settingsFile, "utf8");
  });
  beforeEach(() => {
    writeFileSync(settingsFile, good);
  });
  after(async () => {
    await town.cleanup();
  });

  const assertRefused = async (field: RegExp | null): Promise<void> => {
    const run = await town.townd(["start"]);
    assert.equal(run.code, 1, `exit 1: ${run.stdout}${run.stderr}`);
    const lines = nonEmptyLines(run.stderr);
    assert.equal(lines.length, 1, `one line on stderr: ${run.stderr}`);
    assert.ok(lines[0]?.includes(settingsFile), `names the file: ${lines[0]}`);
    if (field !== null) assert.match(lines[0] ?? "", field);
    assert.doesNotMatch(run.stdout, /Daemon started/);
    await sleep(500);
    assert.equal(town.daemonPid(), undefined, "no daemon PID file");
    const status = await town.status();
    assert.equal(status.daemon.running, false, "no daemon running");
    assert.deepEqual(await town.panes(), [], "no agent was started");
  };

  it("refuses invalid JSON: exit 1, one line naming the file", async () => {
    writeFileSync(settingsFile, good.replace(/}\s*$/, ",,}\n"));
    await assertRefused(null);
  });

  it("refuses a bad field: exit 1, one line naming the file and the field", async () => {
    const settings = JSON.parse(good) as Json;
    settings["operational"] = { daemon: { recovery_heartbeat_interval: "soon" } };
    writeFileSync(settingsFile, JSON.stringify(settings, null, 2));
    await assertRefused(/recovery_heartbeat_interval/);
  });
});

describe("townd reload with a running daemon and a now-broken file", { timeout: 60_000 }, () => {
  let town: SupervisedTown;
  let settingsFile: string;

  before(async () => {
    town = await createSupervisedTown({
      patrols: { witness: { enabled: false }, refinery: { enabled: false } },
    });
    settingsFile = join(town.root, "settings", "config.json");
    await town.start();
    await town.waitFor((s) => town.agent(s, "deacon").state === "running", 20_000, "the deacon running");
  });
  after(async () => {
    await town.cleanup();
  });

  it("fails with one line naming the file; the daemon keeps its last good config and lists the problem", async () => {
    const pid = town.daemonPid();
    assert.ok(pid !== undefined);
    const settings = JSON.parse(readFileSync(settingsFile, "utf8")) as Json;
    settings["operational"] = { daemon: { recovery_heartbeat_interval: "soon" } };
    writeFileSync(settingsFile, JSON.stringify(settings, null, 2));

    const run = await town.townd(["reload"]);
    assert.notEqual(run.code, 0, "reload fails");
    const lines = nonEmptyLines(run.stderr);
    assert.equal(lines.length, 1, `one line: ${run.stderr}`);
    assert.ok(lines[0]?.includes(settingsFile), `names the file: ${lines[0]}`);
    assert.match(lines[0] ?? "", /recovery_heartbeat_interval/);
    assert.doesNotMatch(run.stdout, /✓/);

    // The settings directory is watched: the daemon sees the broken file by itself and keeps running.
    const status = await until(
      "status to list the broken file",
      async () => {
        const result = await town.townd(["status", "--json"]);
        const doc = JSON.parse(result.stdout) as StatusDoc;
        return doc.problems.some((p) => p.includes(settingsFile)) ? doc : undefined;
      },
      10_000,
    );
    const problem = status.problems.find((p) => p.includes(settingsFile)) ?? "";
    assert.match(problem, /recovery_heartbeat_interval/);
    assert.match(problem, /last good config/);
    assert.equal(status.daemon.running, true);
    assert.equal(status.daemon.pid, pid);
    assert.ok(isAlive(pid));
    const deacon = await town.pane("hq-deacon");
    assert.ok(deacon !== undefined && !deacon.dead, "the agents keep running");

    // Fixed again: reload succeeds and the problem is gone.
    settings["operational"] = { daemon: { recovery_heartbeat_interval: "3m" } };
    writeFileSync(settingsFile, JSON.stringify(settings, null, 2));
    const fixed = await town.townd(["reload"]);
    assert.equal(fixed.code, 0, fixed.stderr);
    await until(
      "the problem to be gone",
      async () => {
        const doc = JSON.parse((await town.townd(["status", "--json"])).stdout) as StatusDoc;
        return doc.problems.length === 0;
      },
      10_000,
    );
  });
});
