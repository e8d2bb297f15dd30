import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, it } from "node:test";
import { createSupervisedTown, REPO_ROOT, type SupervisedTown } from "../../helpers/supervised-town.js";
import { makeTempDir } from "../../helpers/tmp.js";

/**
 * What a quick command loads. `townd status` is polled by scripts and dashboards and must answer a 500-agent
 * town in at most 150 ms wall through the socket (docs/BENCHMARKS.md), and agents run `townd request` in
 * their panes; Node itself takes about 50 ms, and the daemon, the supervisor, SQLite and the schemas would
 * add about 100 ms more. A module
 * resolve hook records every module the built CLI loads, so a static import that drags them back in fails
 * here rather than as a slower benchmark weeks later.
 */

const DIST = pathToFileURL(join(REPO_ROOT, "dist")).href;
/** Modules that only the daemon, the store or the file fallback need. */
const HEAVY = [
  { name: "zod (the file schemas)", test: (url: string) => url.includes("/node_modules/zod/") },
  { name: "better-sqlite3", test: (url: string) => url.includes("/node_modules/better-sqlite3/") },
  { name: "pino", test: (url: string) => url.includes("/node_modules/pino/") },
  { name: "the daemon", test: (url: string) => url === `${DIST}/daemon/daemon.js` },
  { name: "the supervisor", test: (url: string) => url.startsWith(`${DIST}/supervisor/supervisor.js`) },
];

describe("quick commands load only what they use", { timeout: 60_000 }, () => {
  let town: SupervisedTown;
  let hookDir = "";
  let removeHookDir = (): void => undefined;

  /** Runs the CLI with a resolve hook that appends each loaded module's URL to a file; returns them. */
  async function traced(args: string[]): Promise<{ code: number | null; stdout: string; urls: string[] }> {
    const traceFile = join(hookDir, `trace-${Date.now()}-${Math.random().toString(36).slice(2)}.txt`);
    writeFileSync(traceFile, "");
    const run = await town.townd(args, {
      env: {
        NODE_OPTIONS: `--import ${pathToFileURL(join(hookDir, "register.mjs")).href}`,
        TOWND_MODULE_TRACE: traceFile,
      },
    });
    assert.equal(run.code, 0, run.stderr);
    const urls = readFileSync(traceFile, "utf8").split("\n").filter(Boolean);
    return { code: run.code, stdout: run.stdout, urls };
  }

  before(async () => {
    const temp = makeTempDir("townd-modtrace-");
    hookDir = temp.dir;
    removeHookDir = temp.cleanup;
    writeFileSync(
      join(hookDir, "register.mjs"),
      'import { register } from "node:module";\nregister("./hooks.mjs", import.meta.url);\n',
    );
    writeFileSync(
      join(hookDir, "hooks.mjs"),
      [
        'import { appendFileSync } from "node:fs";',
        "export async function resolve(specifier, context, next) {",
        "  const result = await next(specifier, context);",
        "  appendFileSync(process.env.TOWND_MODULE_TRACE, result.url + '\\n');",
        "  return result;",
        "}",
        "",
      ].join("\n"),
    );
    town = await createSupervisedTown({ rigs: ["r1"] });
    await town.start();
  });
  after(async () => {
    await town.cleanup();
    removeHookDir();
  });

  it("the hook sees the modules the CLI loads (so the checks below can fail)", async () => {
    const { urls } = await traced(["status", "--json"]);
    assert.ok(
      urls.includes(`${DIST}/cli/commands/daemon.js`),
      `the status command's module among:\n${urls.join("\n")}`,
    );
    assert.ok(existsSync(join(REPO_ROOT, "node_modules", "zod")), "zod is installed");
  });

  it("`townd status --json` with a running daemon answers from the socket without the heavy modules", async () => {
    const { stdout, urls } = await traced(["status", "--json"]);
    const status = JSON.parse(stdout) as { daemon: { running: boolean }; problems: string[] };
    assert.equal(status.daemon.running, true);
    assert.deepEqual(status.problems, [], "answered by the daemon, not from the files");
    for (const heavy of HEAVY) {
      assert.ok(
        !urls.some(heavy.test),
        `status loaded ${heavy.name}:\n${urls.filter(heavy.test).join("\n")}`,
      );
    }
  });

  it("`townd request cycle`, which agents run, stores the request without the schemas or the daemon", async () => {
    const { stdout, urls } = await traced(["request", "cycle", "--as", "r1/refinery"]);
    assert.match(stdout, /^✓ Requested cycle of r1\/refinery \(msg-/);
    assert.ok(
      urls.some((url) => url.includes("/node_modules/better-sqlite3/")),
      "it does open the store",
    );
    for (const heavy of HEAVY.filter((h) => !h.name.startsWith("better-sqlite3"))) {
      assert.ok(
        !urls.some(heavy.test),
        `request loaded ${heavy.name}:\n${urls.filter(heavy.test).join("\n")}`,
      );
    }
  });

  it("`townd --version` loads no command module", async () => {
    const { stdout, urls } = await traced(["--version"]);
    assert.match(stdout.trim(), /^\d+\.\d+\.\d+$/);
    const commands = urls.filter((url) => url.startsWith(`${DIST}/cli/commands/`));
    assert.deepEqual(commands, [], "no command module for --version");
  });

  it("`townd --help` still lists every command (it loads them all)", async () => {
    const { stdout, urls } = await traced(["--help"]);
    for (const name of ["status", "start", "request", "events", "service", "simulate"])
      assert.match(stdout, new RegExp(`^\\s+${name}\\b`, "m"), `${name} in --help`);
    assert.ok(urls.some((url) => url === `${DIST}/cli/commands/events.js`));
  });
});
