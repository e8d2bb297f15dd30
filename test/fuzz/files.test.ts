import assert from "node:assert/strict";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { z } from "zod";
import { FileFormatError } from "../../src/errors.js";
import { agentsFileSchema, statusToRecord, townStateFromFile } from "../../src/supervisor/agents-file.js";
import { readHeartbeatAt, touchHeartbeat } from "../../src/supervisor/heartbeats.js";
import { ConfigLoader, loadTownConfigStrict } from "../../src/town/config.js";
import { townPaths } from "../../src/town/paths.js";
import {
  daemonStateSchema,
  deaconHeartbeatSchema,
  patrolConfigSchema,
  rigsFileSchema,
  settingsSchema,
  townFileSchema,
  wispConfigSchema,
} from "../../src/town/schemas.js";
import { parseJson, readJsonIfExists } from "../../src/util/json-file.js";
import {
  CONTROL,
  Gen,
  fastTempDir,
  LINE_BREAK,
  damageText,
  fuzzSeed,
  mutateJson,
  randomJson,
  show,
  targetRng,
} from "./_gen.js";

/**
 * Fuzzes every file townd reads (settings, rigs, patrol config, wisp config, state, heartbeats, agents.json,
 * town.json) with seeded structural mutations of valid files, raw-text damage and hostile strings.
 * Properties: a file either parses or throws a FileFormatError whose message is ONE line that names the file;
 * the daemon's ConfigLoader never throws; heartbeats are read as a time or "none", never a crash.
 *
 * Reproduce a failure with the printed seed: FUZZ_SEED=<seed> node --import tsx --test test/fuzz/files.test.ts
 */

const SEED = fuzzSeed(0x7a11d0c5);

const VALID: Record<string, unknown> = {
  settings: {
    type: "town-settings",
    version: 1,
    default_agent: "claude",
    agents: {
      sim: {
        command: "/usr/bin/node",
        args: ["x.js", "sim-agent"],
        process_names: ["2.1.7"],
        ready_timeout: "20s",
      },
    },
    role_agents: { witness: "sim" },
    operational: {
      daemon: {
        recovery_heartbeat_interval: "3m",
        restart: { initial_backoff: "30s", max_backoff: "10m", multiplier: 2, crash_loop_count: 5 },
        spawn_budget: { count: 20, window: "10m" },
        mass_death_threshold: 3,
        watchdog: { deacon: { enabled: true, stale: "5m" } },
        notify_command: ["notify-send", "townd"],
        log_max_size_mb: 10,
      },
    },
    tmux: { socket: "/tmp/t.sock" },
  },
  rigs: {
    version: 1,
    rigs: { gastown: { git_url: "https://example.com/g.git", added_at: "2026-01-01T00:00:00Z" } },
  },
  patrol: {
    type: "daemon-patrol-config",
    version: 1,
    heartbeat: { enabled: true, interval: "3m" },
    patrols: { deacon: { enabled: true }, witness: { enabled: true, rigs: ["gastown"] } },
  },
  wisp: { rig: "gastown", values: { status: "parked" }, blocked: ["x"] },
  state: {
    running: true,
    pid: 1234,
    started_at: "2026-01-01T00:00:00Z",
    last_heartbeat: "2026-01-01T00:03:00Z",
    heartbeat_count: 7,
  },
  heartbeat: { timestamp: "2026-01-01T00:00:00Z", cycle: 3, last_action: "patrol", healthy_agents: 2 },
  town: { type: "town", version: 1, name: "t", created_at: "2026-01-01T00:00:00Z" },
  agents: {
    version: 1,
    updated_at: "2026-01-01T00:00:00Z",
    agents: [
      {
        identity: "gastown/witness",
        session: "gt-gastown-witness",
        role: "witness",
        rig: "gastown",
        state: "running",
        pid: 42,
        generation: "0abc",
        restarts: 1,
        restarts_auto: 1,
        restarts_manual: 0,
        started_at: "2026-01-01T00:00:00Z",
        failures: 0,
        death_counted: null,
        last_death_at: null,
        last_exit: null,
        next_attempt_at: null,
        last_reason: null,
        restart_times: ["2026-01-01T00:00:00Z"],
      },
    ],
    town: { spawn_times: [], budget_exhausted_since: null, deaths: [], mass_death_until: null },
  },
};

const SCHEMAS: Record<string, z.ZodType> = {
  settings: settingsSchema,
  rigs: rigsFileSchema,
  patrol: patrolConfigSchema,
  wisp: wispConfigSchema,
  state: daemonStateSchema,
  heartbeat: deaconHeartbeatSchema,
  town: townFileSchema,
  agents: agentsFileSchema,
};

/** One fuzzed document: a mutation of the valid one (most), raw damage, random JSON or hostile text. */
function fuzzedText(g: Gen, valid: unknown, canary: string): string {
  const roll = g.rng();
  if (roll < 0.55) {
    const mutated = mutateJson(g, valid, canary);
    return g.bool(0.5) ? JSON.stringify(mutated, null, 2) : JSON.stringify(mutated);
  }
  if (roll < 0.75) return damageText(g, JSON.stringify(valid, null, 2), canary);
  if (roll < 0.9) return JSON.stringify(randomJson(g, canary));
  return g.hostile(canary, 8);
}

interface Failure {
  target: string;
  n: number;
  input: string;
  problem: string;
}

/** A FileFormatError's message must be one clean line that names the file. */
function checkError(error: unknown, file: string): string | undefined {
  if (!(error instanceof FileFormatError)) {
    return `threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)} instead of FileFormatError`;
  }
  if (!error.message.startsWith(`${file}: `))
    return `message does not start with the file name: ${show(error.message)}`;
  if (error.file !== file) return `error.file is ${show(error.file)}`;
  if (LINE_BREAK.test(error.message)) return `message spans lines: ${show(error.message)}`;
  if (CONTROL.test(error.message)) return `message carries control characters: ${show(error.message)}`;
  return undefined;
}

function report(failures: Failure[], what: string): string {
  const shown = failures
    .slice(0, 8)
    .map((f) => `  [${f.target} #${f.n}] ${f.problem}\n      input: ${show(f.input, 200)}`)
    .join("\n");
  return `${failures.length} ${what} (FUZZ_SEED=${SEED}):\n${shown}`;
}

describe(`fuzzed town files (FUZZ_SEED=${SEED})`, () => {
  const temp = fastTempDir("fz-files-");
  const canary = join(temp.dir, "CANARY");
  after(() => {
    temp.cleanup();
  });

  const PER_SCHEMA = 600;
  const lineBreakFailures: Failure[] = [];

  it(`parseJson with every schema: parses or throws a FileFormatError naming the file (${Object.keys(SCHEMAS).length}×${PER_SCHEMA} cases)`, (t) => {
    const failures: Failure[] = [];
    let parsed = 0;
    for (const [name, schema] of Object.entries(SCHEMAS)) {
      const g = new Gen(targetRng(SEED, `parse:${name}`));
      const file = `/town/${name}.json`;
      for (let n = 0; n < PER_SCHEMA; n++) {
        const text = fuzzedText(g, VALID[name], canary);
        try {
          parseJson(file, text, schema);
          parsed++;
        } catch (error) {
          const problem = checkError(error, file);
          if (problem === undefined) continue;
          const failure = { target: name, n, input: text, problem };
          if (problem.startsWith("message spans lines") || problem.startsWith("message carries control"))
            lineBreakFailures.push(failure);
          else failures.push(failure);
        }
      }
    }
    t.diagnostic(
      `${Object.keys(SCHEMAS).length * PER_SCHEMA} documents, ${parsed} parsed, the rest rejected; ${lineBreakFailures.length} multi-line/control-character messages (see the todo test)`,
    );
    assert.equal(failures.length, 0, report(failures, "inputs broke the parse contract"));
    assert.equal(existsSync(canary), false, "nothing was executed");
  });

  it("every FileFormatError message is ONE line without control characters", () => {
    assert.equal(lineBreakFailures.length, 0, report(lineBreakFailures, "messages are not one clean line"));
  });

  it("readJsonIfExists on real files (missing, empty, directory, binary, fuzzed): FileFormatError or a value", (t) => {
    const g = new Gen(targetRng(SEED, "read-files"));
    const failures: Failure[] = [];
    const dir = join(temp.dir, "read");
    mkdirSync(dir);
    const names = Object.keys(SCHEMAS);
    const CASES = 600;
    for (let n = 0; n < CASES; n++) {
      const name = g.pick(names);
      const file = join(dir, `${name}-${n}.json`);
      let input = "";
      const roll = g.rng();
      if (roll < 0.05) {
        mkdirSync(file);
        input = "<directory>";
      } else if (roll < 0.1) {
        input = "<missing>";
      } else if (roll < 0.15) {
        const bytes = Buffer.from(Array.from({ length: g.int(1, 64) }, () => g.int(0, 255)));
        writeFileSync(file, bytes);
        input = `<binary ${bytes.toString("hex")}>`;
      } else {
        input = fuzzedText(g, VALID[name], canary);
        writeFileSync(file, input);
      }
      try {
        const value: unknown = readJsonIfExists(file, SCHEMAS[name] ?? settingsSchema);
        if (input === "<missing>" && value !== undefined)
          failures.push({ target: name, n, input, problem: "a missing file gave a value" });
      } catch (error) {
        const problem = checkError(error, file);
        if (
          problem !== undefined &&
          !problem.startsWith("message spans") &&
          !problem.startsWith("message carries")
        )
          failures.push({ target: name, n, input, problem });
      }
      rmSync(file, { recursive: true, force: true });
    }
    t.diagnostic(`${CASES} files`);
    assert.equal(failures.length, 0, report(failures, "file reads broke the contract"));
  });

  describe("the daemon's ConfigLoader", () => {
    const root = join(temp.dir, "town");
    const paths = townPaths(root);
    before(() => {
      for (const d of [
        paths.mayorDir,
        paths.settingsDir,
        paths.wispConfigDir,
        join(root, "gastown", "settings"),
      ])
        mkdirSync(d, { recursive: true });
      writeFileSync(paths.townJson, JSON.stringify(VALID["town"]));
    });

    it("never throws, reports each problem once naming the file, and keeps serving the last good config (1000 cases)", (t) => {
      const g = new Gen(targetRng(SEED, "config-loader"));
      const failures: Failure[] = [];
      const problems: { file: string; message: string }[] = [];
      const loader = new ConfigLoader(paths, (problem) => {
        if (!problem.recovered) problems.push({ file: problem.file, message: problem.message });
      });
      const targets: [string, string][] = [
        [paths.settingsJson, "settings"],
        [paths.rigsJson, "rigs"],
        [paths.patrolConfig, "patrol"],
        [paths.wispConfig("gastown"), "wisp"],
        [paths.rigSettings("gastown"), "settings"],
      ];
      for (const [file, kind] of targets) writeFileSync(file, JSON.stringify(VALID[kind]));
      loader.load();
      const CASES = 1000;
      let strictErrors = 0;
      // What the loader must serve for settings and rigs: the file when valid, else the last valid version.
      const expected: Record<string, unknown> = {
        [paths.settingsJson]: VALID["settings"],
        [paths.rigsJson]: VALID["rigs"],
      };
      const schemaOf: Record<string, z.ZodType> = {
        [paths.settingsJson]: settingsSchema,
        [paths.rigsJson]: rigsFileSchema,
      };
      for (let n = 0; n < CASES; n++) {
        const changed: string[] = [];
        for (const [file, kind] of targets) {
          if (!g.bool(0.35)) continue;
          const roll = g.rng();
          if (roll < 0.1) rmSync(file, { force: true });
          else if (roll < 0.3) writeFileSync(file, JSON.stringify(VALID[kind]));
          else writeFileSync(file, fuzzedText(g, VALID[kind], canary));
          changed.push(file);
        }
        problems.length = 0;
        for (const file of [paths.settingsJson, paths.rigsJson]) {
          try {
            const value: unknown = readJsonIfExists(file, schemaOf[file] ?? settingsSchema);
            expected[file] = value ?? (file === paths.rigsJson ? { version: 1, rigs: {} } : {});
          } catch {
            // Invalid now: the loader keeps the last good version.
          }
        }
        try {
          const config = loader.load();
          assert.deepEqual(config.settings, expected[paths.settingsJson], `settings at case ${n}`);
          assert.deepEqual(config.rigs, expected[paths.rigsJson], `rigs at case ${n}`);
          const d = config.daemon;
          const numbers = [
            d.recoveryHeartbeatIntervalMs,
            d.maxLifecycleMessageAgeMs,
            d.killGracePeriodMs,
            d.deathPollIntervalMs,
          ];
          if (!numbers.every((v) => typeof v === "number" && !Number.isNaN(v) && v >= 0))
            failures.push({
              target: "loader",
              n,
              input: changed.join(","),
              problem: `unusable durations ${numbers.join(",")}`,
            });
          if (!(d.recoveryHeartbeatIntervalMs >= 100))
            failures.push({
              target: "loader",
              n,
              input: changed.join(","),
              problem: "heartbeat interval below 100 ms",
            });
          if (typeof config.rigs.rigs !== "object")
            failures.push({
              target: "loader",
              n,
              input: changed.join(","),
              problem: "rigs is not an object",
            });
        } catch (error) {
          failures.push({
            target: "loader",
            n,
            input: changed.join(","),
            problem: `load() threw ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
          });
        }
        // A problem is reported once, not at every pass: loading the same files again reports nothing new.
        const reported = problems.length;
        try {
          loader.load();
        } catch {
          // Counted above.
        }
        if (problems.length !== reported)
          failures.push({
            target: "loader",
            n,
            input: changed.join(","),
            problem: `the same problem reported again: ${show(problems.at(-1)?.message ?? "")}`,
          });
        for (const problem of problems) {
          if (!problem.message.startsWith(problem.file))
            failures.push({
              target: "loader",
              n,
              input: problem.file,
              problem: `problem does not name its file: ${show(problem.message)}`,
            });
        }
        // The CLI reads the same files strictly: an AppError (one line, exit 1), never anything else.
        try {
          loadTownConfigStrict(paths);
        } catch (error) {
          strictErrors++;
          const file = error instanceof FileFormatError ? error.file : "";
          const problem = checkError(error, file);
          if (
            problem !== undefined &&
            !problem.startsWith("message spans") &&
            !problem.startsWith("message carries")
          )
            failures.push({ target: "strict", n, input: changed.join(","), problem });
        }
      }
      t.diagnostic(`${CASES} rounds of file changes; the strict CLI loader refused ${strictErrors}`);
      assert.equal(failures.length, 0, report(failures, "ConfigLoader failures"));
      assert.equal(existsSync(canary), false, "nothing was executed");
    });
  });

  it("heartbeats: readHeartbeatAt gives a time or null; touchHeartbeat always leaves a readable file (600 cases)", async (t) => {
    const g = new Gen(targetRng(SEED, "heartbeat"));
    const failures: Failure[] = [];
    const dir = join(temp.dir, "beats");
    mkdirSync(dir);
    const CASES = 600;
    let unreadableAfterTouch = 0;
    for (let n = 0; n < CASES; n++) {
      const file = join(dir, `hq-deacon-${n}.json`);
      const input = fuzzedText(g, VALID["heartbeat"], canary);
      writeFileSync(file, input);
      try {
        const at = readHeartbeatAt(file);
        if (at !== null && !Number.isFinite(at))
          failures.push({ target: "heartbeat", n, input, problem: `time ${at}` });
      } catch (error) {
        failures.push({ target: "heartbeat", n, input, problem: `readHeartbeatAt threw ${String(error)}` });
      }
      if (g.bool(0.3)) {
        try {
          const cycle = await touchHeartbeat(file, g.bool() ? g.hostile(canary, 3) : undefined, new Date());
          if (!Number.isInteger(cycle)) {
            failures.push({ target: "touchHeartbeat", n, input, problem: `cycle ${cycle}` });
          }
          if (readHeartbeatAt(file) === null) unreadableAfterTouch++;
        } catch (error) {
          failures.push({ target: "touchHeartbeat", n, input, problem: `threw ${String(error)}` });
        }
      }
    }
    t.diagnostic(`${CASES} heartbeat files; ${unreadableAfterTouch} unreadable right after a touch`);
    assert.equal(failures.length, 0, report(failures, "heartbeat failures"));
    assert.equal(unreadableAfterTouch, 0, "a heartbeat just written is always readable");
  });

  it("agents.json history: whatever passes the schema turns into records without throwing (600 cases)", (t) => {
    const g = new Gen(targetRng(SEED, "agents-history"));
    const failures: Failure[] = [];
    let accepted = 0;
    const CASES = 600;
    for (let n = 0; n < CASES; n++) {
      const text = JSON.stringify(mutateJson(g, VALID["agents"], canary));
      let file: z.output<typeof agentsFileSchema>;
      try {
        file = parseJson("/town/daemon/agents.json", text, agentsFileSchema);
      } catch {
        continue;
      }
      accepted++;
      try {
        for (const status of file.agents) {
          const record = statusToRecord(status);
          for (const value of [record.startedAt, record.lastDeathAt, record.nextAttemptAt])
            if (value !== null && !Number.isFinite(value)) throw new Error(`non-finite time ${value}`);
        }
        townStateFromFile(file);
      } catch (error) {
        failures.push({ target: "agents", n, input: text, problem: `threw ${String(error)}` });
      }
    }
    t.diagnostic(`${CASES} documents, ${accepted} accepted by the schema`);
    assert.equal(failures.length, 0, report(failures, "history failures"));
  });
});
