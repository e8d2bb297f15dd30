import { after, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FileFormatError } from "../errors.js";
import { makeTempDir } from "../../test/helpers/tmp.js";
import { ConfigLoader, loadTownConfigStrict } from "./config.js";
import { townPaths, type TownPaths } from "./paths.js";
import { daemonSettings } from "./settings.js";

const DEFAULT_INTERVAL_MS = daemonSettings(undefined).recoveryHeartbeatIntervalMs;

interface Problem {
  file: string;
  message: string;
  recovered: boolean;
}

function write(file: string, value: unknown): void {
  writeFileSync(file, typeof value === "string" ? value : JSON.stringify(value, null, 2));
}

function settings(interval: string): Record<string, unknown> {
  return {
    type: "town-settings",
    version: 1,
    operational: { daemon: { recovery_heartbeat_interval: interval } },
  };
}

describe("ConfigLoader", () => {
  const temp = makeTempDir("td-cfg-");
  after(() => {
    temp.cleanup();
  });
  let n = 0;
  let paths: TownPaths;
  let problems: Problem[];
  let loader: ConfigLoader;
  beforeEach(() => {
    const root = join(temp.dir, `t${n++}`);
    paths = townPaths(root);
    mkdirSync(paths.mayorDir, { recursive: true });
    mkdirSync(paths.settingsDir, { recursive: true });
    mkdirSync(paths.wispConfigDir, { recursive: true });
    write(paths.rigsJson, { version: 1, rigs: {} });
    write(paths.settingsJson, settings("1s"));
    problems = [];
    loader = new ConfigLoader(paths, (problem) => problems.push(problem));
  });

  it("loads valid files with no problem reported", () => {
    const config = loader.load();
    assert.equal(config.daemon.recoveryHeartbeatIntervalMs, 1000);
    assert.deepEqual(config.rigs, { version: 1, rigs: {} });
    assert.equal(config.patrols, undefined, "no mayor/daemon.json");
    assert.deepEqual(problems, []);
  });

  it("missing files are defaults, not problems", () => {
    rmSync(paths.settingsJson);
    rmSync(paths.rigsJson);
    const config = loader.load();
    assert.equal(config.daemon.recoveryHeartbeatIntervalMs, DEFAULT_INTERVAL_MS);
    assert.deepEqual(config.rigs.rigs, {});
    assert.equal(config.patrols, undefined);
    assert.deepEqual(problems, []);
  });

  it("a broken settings file keeps the last good value and is reported once, naming file and field", () => {
    loader.load();
    write(paths.settingsJson, settings("soon"));
    for (let pass = 0; pass < 5; pass++) {
      assert.equal(loader.load().daemon.recoveryHeartbeatIntervalMs, 1000, `pass ${pass}: last good value`);
    }
    assert.equal(problems.length, 1, "reported once, not once per pass");
    const [problem] = problems;
    assert.equal(problem?.file, paths.settingsJson);
    assert.equal(problem.recovered, false);
    assert.ok(problem.message.includes(paths.settingsJson), problem.message);
    assert.match(problem.message, /field "operational\.daemon\.recovery_heartbeat_interval"/);
    assert.match(problem.message, /soon/);
  });

  it("a file that is broken from the start falls back to the defaults and is reported", () => {
    write(paths.settingsJson, "{not json");
    const config = loader.load();
    assert.equal(config.daemon.recoveryHeartbeatIntervalMs, DEFAULT_INTERVAL_MS);
    assert.equal(problems.length, 1);
    assert.match(problems[0]?.message ?? "", /not valid JSON/);
  });

  it("reports again only when the problem changes", () => {
    loader.load();
    write(paths.settingsJson, "");
    loader.load();
    loader.load();
    write(paths.settingsJson, settings("soon"));
    loader.load();
    loader.load();
    assert.deepEqual(
      problems.map((p) => [p.recovered, /empty/.test(p.message), /soon/.test(p.message)]),
      [
        [false, true, false],
        [false, false, true],
      ],
    );
  });

  it("reports the recovery once, then uses the new good value", () => {
    loader.load();
    write(paths.settingsJson, settings("bad"));
    loader.load();
    write(paths.settingsJson, settings("2s"));
    assert.equal(loader.load().daemon.recoveryHeartbeatIntervalMs, 2000);
    loader.load();
    assert.deepEqual(
      problems.map((p) => p.recovered),
      [false, true],
    );
    assert.equal(problems[1]?.file, paths.settingsJson);
    // Broken again after a recovery: news again.
    write(paths.settingsJson, settings("bad"));
    assert.equal(loader.load().daemon.recoveryHeartbeatIntervalMs, 2000);
    assert.equal(problems.length, 3);
  });

  it("each broken file is reported on its own: rigs.json, daemon.json and a rig's wisp config", () => {
    write(paths.rigsJson, { version: 1, rigs: { gastown: {} } });
    write(paths.wispConfig("gastown"), { values: { status: "parked" } });
    const good = loader.load();
    assert.equal(good.wisp.get("gastown")?.values?.["status"], "parked");

    write(paths.rigsJson, { version: 1, rigs: { "bad name": {} } });
    write(paths.patrolConfig, { version: 7 });
    write(paths.wispConfig("gastown"), "[");
    const config = loader.load();
    assert.deepEqual(Object.keys(config.rigs.rigs), ["gastown"], "last good rigs.json");
    assert.equal(config.patrols, undefined, "daemon.json was never good: default");
    assert.equal(config.wisp.get("gastown")?.values?.["status"], "parked", "last good wisp config");
    assert.deepEqual(
      problems.map((p) => p.file).sort(),
      [paths.patrolConfig, paths.rigsJson, paths.wispConfig("gastown")].sort(),
    );
    const patrol = problems.find((p) => p.file === paths.patrolConfig);
    assert.match(patrol?.message ?? "", /field "version"/);
  });

  it("unknown fields are kept in the loaded values", () => {
    write(paths.settingsJson, { ...settings("1s"), future_feature: { on: true } });
    const config = loader.load();
    assert.deepEqual((config.settings as Record<string, unknown>)["future_feature"], { on: true });
  });

  it("loadTownConfigStrict() throws a FileFormatError naming the file once", () => {
    write(paths.settingsJson, settings("soon"));
    assert.throws(
      () => loadTownConfigStrict(paths),
      (error: unknown) => {
        assert.ok(error instanceof FileFormatError);
        assert.equal(error.file, paths.settingsJson);
        assert.ok(error.message.startsWith(`${paths.settingsJson}: field `), error.message);
        assert.equal(error.message.split(paths.settingsJson).length, 2, "the path appears once");
        return true;
      },
    );
  });
});
