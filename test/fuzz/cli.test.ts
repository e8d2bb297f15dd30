import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CommanderError } from "commander";
import { runCli } from "../../src/cli/cli.js";
import { CONTROL, Gen, LINE_BREAK, fastTempDir, fuzzSeed, show, targetRng } from "./_gen.js";

/**
 * Fuzzes the CLI's arguments in-process (runCli, one invocation per case) against a throw-away town:
 * `rig add`, `mail send`, `hook set`, `agent state`, `request`, `heartbeat --as`, `why`, `events --since` and
 * `restart AGENT`, with hostile values in every position. Properties: the exit code is an integer; an error
 * exits 1 or 2 (never 70, the internal-error code) with ONE line on stderr (commander's usage errors may add
 * its "(run with --help for usage)" hint) and no control characters; a success prints nothing on stderr; no
 * command substitution ever runs (a canary `$(touch <file>)` never appears) and nothing is created outside
 * the town.
 *
 * Reproduce a failure: FUZZ_SEED=<seed> node --import tsx --test test/fuzz/cli.test.ts
 */

const SEED = fuzzSeed(0xc11f022);
const HELP_HINT = "(run with --help for usage)";
const CASES = 1500;
// Plus 33 deterministic cases: every odd number in every numeric option.

interface Outcome {
  n: number;
  argv: string[];
  code: number;
  out: string[];
  err: string[];
}

describe(`fuzzed CLI arguments (FUZZ_SEED=${SEED})`, () => {
  const temp = fastTempDir("fz-cli-");
  const root = join(temp.dir, "town");
  const canary = join(temp.dir, "CANARY");
  const outcomes: Outcome[] = [];
  const env: NodeJS.ProcessEnv = {
    PATH: process.env["PATH"] ?? "/usr/bin:/bin",
    HOME: temp.dir,
    TOWND_TEST: "1",
  };

  /** Invocations in which commander called process.exit() itself (must be none). */
  const exited: { argv: string[]; code: number }[] = [];

  /**
   * One in-process invocation. process.exit is intercepted: commander calls it for usage errors of any
   * command without exitOverride(), which would end the test process. The stub throws the CommanderError
   * exitOverride() would have thrown, so runCli still returns a code, and the call is recorded.
   */
  const run = async (argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> => {
    const out: string[] = [];
    const err: string[] = [];
    const exitCodeBefore = process.exitCode;
    // eslint-disable-next-line @typescript-eslint/unbound-method -- kept only to be put back as it was
    const realExit = process.exit;
    process.exit = (code?: number | string | null) => {
      const numeric = typeof code === "number" ? code : 0;
      exited.push({ argv, code: numeric });
      throw new CommanderError(numeric, "fuzz.process-exit", "process.exit() intercepted");
    };
    try {
      const code = await runCli(argv, {
        env,
        cwd: root,
        out: (line) => out.push(line),
        err: (line) => err.push(line),
      });
      return { code, out, err };
    } finally {
      process.exit = realExit;
      process.exitCode = exitCodeBefore;
    }
  };

  before(async () => {
    mkdirSync(root);
    const init = await run(["init", root, "--agent", "sim"]);
    assert.equal(init.code, 0, init.err.join("\n"));
    const rig = await run(["--town", root, "rig", "add", "r1"]);
    assert.equal(rig.code, 0, rig.err.join("\n"));
    mkdirSync(join(root, "r1", "polecats", "max"), { recursive: true });
  });
  after(() => {
    temp.cleanup();
  });

  /** A value for an argument: mostly hostile, sometimes valid, so that both paths run. */
  const value = (g: Gen, valid: readonly string[]): string =>
    g.pick<() => string>([
      () => g.hostile(canary, 4),
      () => g.hostile(canary, 2),
      () => g.pick(valid),
      () => g.nameish(10),
      () => g.unicode(6),
    ])();

  /** Values for numeric options, the odd ones included. */
  const NUMBERS = ["5", "0", "-1", "1e3", "1e999", "1.5", "NaN", "0x10", "", " 7", "Infinity"];

  const AGENTS = [
    "deacon",
    "r1/witness",
    "r1-refinery",
    "r1/polecats/max",
    "r1/max",
    "mayor/",
    "r1/crew/joe",
  ];

  const commands: ((g: Gen) => string[])[] = [
    (g) => [
      "rig",
      "add",
      value(g, ["r2", "my-rig", "rig_3"]),
      ...(g.bool(0.3) ? ["--git-url", g.hostile(canary)] : []),
    ],
    (g) => [
      "mail",
      "send",
      value(g, ["deacon", "r1/witness", "operator"]),
      "-s",
      g.bool(0.3) ? `LIFECYCLE: ${g.hostile(canary, 2)}` : g.hostile(canary),
      "-m",
      g.bool(0.3) ? JSON.stringify({ action: g.hostile(canary, 1) }) : g.hostile(canary, 6),
      ...(g.bool(0.5) ? ["--from", value(g, AGENTS)] : []),
    ],
    (g) => ["hook", "set", value(g, AGENTS), value(g, ["gt-1234", "work item 7"])],
    (g) => ["agent", "state", value(g, AGENTS), value(g, ["working", "idle", "done"])],
    (g) => [
      "request",
      value(g, ["cycle", "restart", "shutdown"]),
      "--as",
      value(g, AGENTS),
      ...(g.bool(0.4) ? ["--reason", g.hostile(canary)] : []),
    ],
    (g) => ["heartbeat", ...(g.bool(0.5) ? [g.hostile(canary, 3)] : []), "--as", value(g, AGENTS)],
    (g) => ["why", value(g, AGENTS), ...(g.bool(0.3) ? ["-n", value(g, NUMBERS)] : [])],
    (g) => [
      "events",
      "--since",
      value(g, ["1h", "30m", "500ms", "0"]),
      ...(g.bool(0.3) ? ["--agent", value(g, AGENTS)] : []),
      ...(g.bool(0.3) ? ["-n", value(g, NUMBERS)] : []),
    ],
    // `--` keeps a hostile value from being read as an option: `restart` without AGENT restarts the daemon.
    (g) => ["restart", "--", value(g, AGENTS)],
  ];

  it(`runs ${CASES} fuzzed invocations`, async (t) => {
    const g = new Gen(targetRng(SEED, "cli"));
    const started = Date.now();
    for (let n = 0; n < CASES; n++) {
      const argv = ["--town", root, ...g.pick(commands)(g)];
      // A hostile extra argument now and then (not for restart, see above).
      if (argv[2] !== "restart" && g.bool(0.1)) argv.push(g.hostile(canary, 2));
      let result;
      try {
        result = await run(argv);
      } catch (error) {
        result = { code: -1, out: [], err: [`runCli threw: ${String(error)}`] };
      }
      outcomes.push({ n, argv, ...result });
    }
    // Every odd number in every numeric option, whatever the seed picked.
    let n = CASES;
    for (const number of NUMBERS) {
      for (const args of [
        ["why", "deacon", "-n", number],
        ["events", "-n", number],
        ["events", "--since", number],
      ]) {
        const argv = ["--town", root, ...args];
        outcomes.push({ n: n++, argv, ...(await run(argv)) });
      }
    }
    const codes = new Map<number, number>();
    for (const o of outcomes) codes.set(o.code, (codes.get(o.code) ?? 0) + 1);
    t.diagnostic(
      `${CASES} invocations in ${Date.now() - started} ms; exit codes: ${[...codes.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([code, count]) => `${code}×${count}`)
        .join(", ")}`,
    );
  });

  const describeOutcome = (o: Outcome): string =>
    `  #${o.n} exit ${o.code}: townd ${o.argv
      .slice(2)
      .map((a) => show(a, 80))
      .join(" ")}\n      stderr: ${show(o.err.join("\n"), 400)}`;

  /** stderr as lines, without commander's usage hints ("(Did you mean …?)", "(run with --help for usage)"). */
  const stderrLines = (o: Outcome): string[] =>
    o.err
      .join("\n")
      .split(LINE_BREAK)
      .filter((line) => line !== HELP_HINT && !/^\(Did you mean .*\?\)$/.test(line));

  /** An error that is not one clean line. */
  const leaks = (o: Outcome): boolean => {
    const lines = stderrLines(o);
    return lines.length > 1 || lines.some((line) => CONTROL.test(line));
  };

  /**
   * The leaks the todo test below documents: raw values in `request`'s and `events`' messages, and commander's
   * own usage errors ("error: …"). Any other leak fails the main test.
   */
  const knownLeak = (o: Outcome): boolean =>
    leaks(o) && (o.argv[2] === "request" || o.argv[2] === "events" || o.err.join("").startsWith("error:"));

  /** `why -n <not a whole number>`: the internal error the todo test below documents. */
  const knownInternal = (o: Outcome): boolean =>
    o.code === 70 &&
    o.argv[2] === "why" &&
    o.argv.includes("-n") &&
    /SqliteError: datatype mismatch/.test(o.err.join(""));

  it("exit codes are integers; errors exit 1 or 2, never 70 (internal error); successes print no error", () => {
    const bad = outcomes.filter((o) => {
      if (!Number.isInteger(o.code)) return true;
      if (knownInternal(o)) return false;
      if (o.code === 0) return o.err.length > 0;
      return o.code !== 1 && o.code !== 2;
    });
    assert.equal(
      bad.length,
      0,
      `${bad.length} bad exits (FUZZ_SEED=${SEED}):\n${bad.slice(0, 8).map(describeOutcome).join("\n")}`,
    );
  });

  it("every error is reported on stderr (one line, see the todo test for the exceptions)", () => {
    const silent = outcomes.filter((o) => o.code !== 0 && o.err.join("").trim() === "");
    assert.equal(
      silent.length,
      0,
      `${silent.length} silent failures:\n${silent.slice(0, 8).map(describeOutcome).join("\n")}`,
    );
    const wrong = outcomes.filter(
      (o) => o.code !== 0 && !knownLeak(o) && !knownInternal(o) && stderrLines(o).length !== 1,
    );
    assert.equal(
      wrong.length,
      0,
      `${wrong.length} errors:\n${wrong.slice(0, 8).map(describeOutcome).join("\n")}`,
    );
  });

  it("error messages are ONE line without control characters, whatever the arguments hold", () => {
    const leaking = outcomes.filter((o) => o.code !== 0 && knownLeak(o));
    const byCommand = new Map<string, Outcome[]>();
    for (const o of leaking) byCommand.set(o.argv[2] ?? "", [...(byCommand.get(o.argv[2] ?? "") ?? []), o]);
    // Two examples per command.
    const examples = [...byCommand.values()].flatMap((list) => list.slice(0, 2));
    assert.equal(
      leaking.length,
      0,
      `${leaking.length} multi-line or control-character errors (${[...byCommand.entries()]
        .map(([c, list]) => `${c}: ${list.length}`)
        .join(", ")}):\n${examples.map(describeOutcome).join("\n")}`,
    );
  });

  it("`why -n` with a value that is not a whole number is a usage error, not an internal error", {}, () => {
    const internal = outcomes.filter(knownInternal);
    assert.equal(internal.length, 0, internal.slice(0, 5).map(describeOutcome).join("\n"));
  });

  // Found by this fuzzer (every subcommand usage error called process.exit from inside runCli) and fixed in
  // src/cli/cli.ts meanwhile; the stub in run() keeps a regression from ending the test process.
  it("runCli returns the exit code instead of ending the process", () => {
    assert.equal(
      exited.length,
      0,
      `${exited.length} invocations called process.exit(), e.g.\n${exited
        .slice(0, 5)
        .map(
          (e) =>
            `  exit(${e.code}): townd ${e.argv
              .slice(2)
              .map((a) => show(a, 60))
              .join(" ")}`,
        )
        .join("\n")}`,
    );
  });

  it("nothing was executed and nothing was created outside the town", () => {
    assert.equal(existsSync(canary), false, "the canary $(touch …) never ran");
    assert.deepEqual(readdirSync(temp.dir).sort(), ["town"]);
    // Rig directories are only the ones `rig add` accepted: valid names, inside the town.
    for (const entry of readdirSync(root)) {
      assert.match(
        entry,
        /^([A-Za-z0-9][A-Za-z0-9_-]*|\.[A-Za-z0-9_.-]+)$/,
        `unexpected entry ${show(entry)} in the town`,
      );
    }
  });
});
