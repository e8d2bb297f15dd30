import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { lines, makeTown, townd, type CliResult, type TestTown } from "../../helpers/cli.js";
import { makeTempDir } from "../../helpers/tmp.js";

/** `townd init`, town discovery and the `rig` commands, run as real processes against real files. */

function readJson(file: string): unknown {
  return JSON.parse(readFileSync(file, "utf8"));
}

/** A failed command: exit 1, nothing on stdout, exactly one line on stderr (returned). */
function assertOneLineError(result: CliResult, what: string): string {
  assert.equal(result.code, 1, `${what}: exit code (stdout=${result.stdout} stderr=${result.stderr})`);
  assert.equal(result.stdout, "", `${what}: stdout should be empty`);
  const errLines = lines(result.stderr);
  assert.equal(errLines.length, 1, `${what}: expected one stderr line, got:\n${result.stderr}`);
  const line = errLines[0] ?? "";
  assert.ok(line.startsWith("townd: "), `${what}: ${line}`);
  assert.doesNotMatch(line, /internal error|\bat \w+ \(/, `${what}: looks like a crash: ${line}`);
  return line;
}

interface RigJson {
  name: string;
  git_url: string | null;
  added_at: string | null;
  state: string;
  operational: boolean;
  reason: string;
}

async function rigListJson(town: TestTown): Promise<RigJson[]> {
  const result = await townd(["rig", "list", "--json"], { cwd: town.root });
  assert.equal(result.code, 0, result.stderr);
  const doc = JSON.parse(result.stdout) as { rigs: RigJson[] };
  return doc.rigs;
}

// The describe blocks use towns of their own, so they run side by side; tests inside each run in order.
describe("init and rig commands", { concurrency: 2 }, () => {
  describe("townd init", { concurrency: 1 }, () => {
    const temp = makeTempDir("tdf-init-");
    after(() => {
      temp.cleanup();
    });

    it("init DIR creates mayor/town.json, rigs.json, daemon.json, settings/config.json, deacon/ and daemon/", async () => {
      const root = join(temp.dir, "alpha");
      const before = Date.now();
      const result = await townd(["init", root]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`Town created at ${root}`));
      assert.equal(result.stderr, "");

      const town = readJson(join(root, "mayor", "town.json")) as Record<string, unknown>;
      assert.deepEqual(Object.keys(town).sort(), ["created_at", "name", "type", "version"]);
      assert.equal(town["type"], "town");
      assert.equal(town["version"], 1);
      assert.equal(town["name"], "alpha");
      const created = Date.parse(String(town["created_at"]));
      assert.ok(
        created >= before - 1000 && created <= Date.now() + 1000,
        `created_at ${String(town["created_at"])}`,
      );

      assert.deepEqual(readJson(join(root, "mayor", "rigs.json")), { version: 1, rigs: {} });
      assert.deepEqual(readJson(join(root, "settings", "config.json")), {
        type: "town-settings",
        version: 1,
        default_agent: "claude",
        agents: {},
        role_agents: {},
        operational: { daemon: {} },
      });
      const patrol = readJson(join(root, "mayor", "daemon.json")) as {
        type: string;
        version: number;
        patrols: Record<string, { enabled?: boolean }>;
      };
      assert.equal(patrol.type, "daemon-patrol-config");
      assert.equal(patrol.version, 1);
      assert.equal(patrol.patrols["deacon"]?.enabled, true);
      assert.equal(patrol.patrols["witness"]?.enabled, true);
      assert.equal(patrol.patrols["refinery"]?.enabled, true);

      for (const dir of ["mayor", "settings", "deacon", "daemon"]) {
        assert.ok(statSync(join(root, dir)).isDirectory(), `${dir}/ should exist`);
      }
      // Written as 2-space JSON with a trailing newline, like every file townd writes.
      const rigsText = readFileSync(join(root, "mayor", "rigs.json"), "utf8");
      assert.equal(rigsText, `${JSON.stringify({ version: 1, rigs: {} }, null, 2)}\n`);
      // No temp files of the atomic writes are left behind.
      for (const dir of ["mayor", "settings"]) {
        for (const name of readdirSync(join(root, dir)))
          assert.match(name, /^[a-z]+\.json$/, `${dir}/${name}`);
      }
    });

    it("init refuses to overwrite an existing town and changes none of its files", async () => {
      const root = join(temp.dir, "beta");
      assert.equal((await townd(["init", root])).code, 0);
      writeFileSync(join(root, "mayor", "rigs.json"), '{"version":1,"rigs":{"keep":{}},"mine":true}\n');
      const snapshot = [
        "mayor/town.json",
        "mayor/rigs.json",
        "mayor/daemon.json",
        "settings/config.json",
      ].map((file) => readFileSync(join(root, file), "utf8"));
      const again = await townd(["init", root, "--name", "other"]);
      const line = assertOneLineError(again, "second init");
      assert.match(line, /town\.json/);
      assert.match(line, /already exists/);
      const after = ["mayor/town.json", "mayor/rigs.json", "mayor/daemon.json", "settings/config.json"].map(
        (file) => readFileSync(join(root, file), "utf8"),
      );
      assert.deepEqual(after, snapshot);
    });

    it("init --name sets the town name; without DIR it initialises the working directory", async () => {
      const named = join(temp.dir, "gamma");
      assert.equal((await townd(["init", named, "--name", "My Town"])).code, 0);
      assert.equal((readJson(join(named, "mayor", "town.json")) as { name: string }).name, "My Town");

      const here = join(temp.dir, "delta");
      mkdirSync(here);
      const result = await townd(["init"], { cwd: here });
      assert.equal(result.code, 0, result.stderr);
      assert.equal((readJson(join(here, "mayor", "town.json")) as { name: string }).name, "delta");
    });

    it("init keeps existing config files it finds in a directory that is not yet a town", async () => {
      const root = join(temp.dir, "epsilon");
      mkdirSync(join(root, "mayor"), { recursive: true });
      writeFileSync(join(root, "mayor", "rigs.json"), '{"version":1,"rigs":{"old":{}}}\n');
      assert.equal((await townd(["init", root])).code, 0);
      assert.deepEqual(readJson(join(root, "mayor", "rigs.json")), { version: 1, rigs: { old: {} } });
      assert.ok(existsSync(join(root, "mayor", "town.json")));
    });

    it("init --name rejects an empty name with one line and creates no town", async () => {
      const root = join(temp.dir, "zeta");
      assertOneLineError(await townd(["init", root, "--name", "  "]), "init --name '  '");
      assert.equal(existsSync(join(root, "mayor", "town.json")), false);
    });
  });

  describe("town discovery (B18)", { concurrency: 1 }, () => {
    const temp = makeTempDir("tdf-out-");
    let townA: TestTown;
    let townB: TestTown;
    before(async () => {
      // The temp dir must not be inside a town, or "outside a town" would test nothing.
      for (let dir = temp.dir; ; dir = dirname(dir)) {
        assert.equal(existsSync(join(dir, "mayor", "town.json")), false, `${dir} is inside a town`);
        if (dirname(dir) === dir) break;
      }
      [townA, townB] = await Promise.all([makeTown(), makeTown()]);
      const [a, b] = await Promise.all([
        townd(["rig", "add", "in-a"], { cwd: townA.root }),
        townd(["rig", "add", "in-b"], { cwd: townB.root }),
      ]);
      assert.equal(a.code, 0, a.stderr);
      assert.equal(b.code, 0, b.stderr);
    });
    after(async () => {
      temp.cleanup();
      await Promise.all([townA.cleanup(), townB.cleanup()]);
    });

    const rigNames = async (cwd: string, args: string[] = [], env?: NodeJS.ProcessEnv): Promise<string[]> => {
      const result = await townd([...args, "rig", "list", "--json"], { cwd, ...(env ? { env } : {}) });
      assert.equal(result.code, 0, result.stderr);
      return (JSON.parse(result.stdout) as { rigs: RigJson[] }).rigs.map((r) => r.name);
    };

    it("outside a town, status, rig list, rig add, start, stop and logs each fail with exit 1 and one line", async () => {
      const commands = [
        ["status", "--json"],
        ["rig", "list"],
        ["rig", "add", "x"],
        ["start"],
        ["stop"],
        ["logs"],
      ];
      const results = await Promise.all(commands.map((args) => townd(args, { cwd: temp.dir })));
      results.forEach((result, i) => {
        const what = `townd ${commands[i]?.join(" ") ?? ""}`;
        const line = assertOneLineError(result, what);
        assert.match(line, /Not in a town/, what);
        assert.match(line, /mayor\/town\.json/, what);
      });
      // Nothing was created where the commands ran (no daemon/ or mayor/ directory, no lock file).
      assert.deepEqual(readdirSync(temp.dir), []);
    });

    it("--town DIR selects the town from anywhere, and wins over TOWND_ROOT and GT_TOWN_ROOT", async () => {
      assert.deepEqual(
        await rigNames(temp.dir, ["--town", townA.root], {
          TOWND_ROOT: townB.root,
          GT_TOWN_ROOT: townB.root,
        }),
        ["in-a"],
      );
      // --town wins over the working directory too.
      assert.deepEqual(await rigNames(townB.root, ["--town", townA.root]), ["in-a"]);
    });

    it("TOWND_ROOT wins over GT_TOWN_ROOT and the working directory; GT_TOWN_ROOT is used alone", async () => {
      assert.deepEqual(await rigNames(townB.root, [], { TOWND_ROOT: townA.root, GT_TOWN_ROOT: townB.root }), [
        "in-a",
      ]);
      assert.deepEqual(await rigNames(temp.dir, [], { GT_TOWN_ROOT: townB.root }), ["in-b"]);
      // An empty variable counts as unset.
      assert.deepEqual(await rigNames(townB.root, [], { TOWND_ROOT: "", GT_TOWN_ROOT: "" }), ["in-b"]);
    });

    it("an explicit root that is not a town fails with one line naming it and its source", async () => {
      const cases: [string[], NodeJS.ProcessEnv, string][] = [
        [["--town", temp.dir], {}, "--town"],
        [[], { TOWND_ROOT: join(temp.dir, "nope") }, "TOWND_ROOT"],
      ];
      const results = await Promise.all(
        cases.map(([args, env]) => townd([...args, "rig", "list"], { cwd: townA.root, env })),
      );
      results.forEach((result, i) => {
        const source = cases[i]?.[2] ?? "";
        const line = assertOneLineError(result, source);
        assert.match(line, /Not a town/);
        assert.ok(line.includes(source), line);
      });
    });

    it("walks up from a subdirectory to the nearest mayor/town.json", async () => {
      const deep = join(townA.root, "in-a", "src", "deep");
      mkdirSync(deep, { recursive: true });
      // A directory with mayor/ but no town.json is not a town: the walk goes on past it.
      mkdirSync(join(townA.root, "in-a", "mayor"), { recursive: true });
      assert.deepEqual(await rigNames(deep), ["in-a"]);
    });

    it("a relative --town is resolved against the working directory", async () => {
      assert.deepEqual(await rigNames(dirname(townA.root), ["--town", basename(townA.root)]), ["in-a"]);
    });
  });

  describe("townd rig", { concurrency: 1 }, () => {
    let town: TestTown;
    before(async () => {
      town = await makeTown();
    });
    after(async () => {
      await town.cleanup();
    });

    const rig = (...args: string[]): Promise<CliResult> => townd(["rig", ...args], { cwd: town.root });
    const rigsFile = (): string => town.file("mayor", "rigs.json");
    const wispFile = (name: string): string => town.file(".beads-wisp", "config", `${name}.json`);

    it("rig list on a town without rigs says so; --json gives an empty list", async () => {
      const [plain, json] = await Promise.all([rig("list"), rig("list", "--json")]);
      assert.equal(plain.code, 0);
      assert.match(plain.stdout, /No rigs/);
      assert.equal(json.code, 0);
      assert.deepEqual(JSON.parse(json.stdout), { rigs: [] });
    });

    it("rig add registers the rig in mayor/rigs.json, creates its directory and keeps --git-url", async () => {
      const added = await rig("add", "gastown", "--git-url", "https://example.com/gastown.git");
      assert.equal(added.code, 0, added.stderr);
      assert.match(added.stdout, /Rig "gastown" added/);
      const second = await rig("add", "my_rig-2");
      assert.equal(second.code, 0, second.stderr);

      const file = readJson(rigsFile()) as { version: number; rigs: Record<string, Record<string, unknown>> };
      assert.equal(file.version, 1);
      assert.deepEqual(Object.keys(file.rigs).sort(), ["gastown", "my_rig-2"]);
      assert.equal(file.rigs["gastown"]?.["git_url"], "https://example.com/gastown.git");
      assert.ok(!Number.isNaN(Date.parse(String(file.rigs["gastown"]["added_at"]))));
      assert.equal("git_url" in (file.rigs["my_rig-2"] ?? {}), false);
      assert.ok(statSync(town.file("gastown")).isDirectory());
      assert.ok(statSync(town.file("my_rig-2")).isDirectory());

      const rigs = await rigListJson(town);
      assert.deepEqual(
        rigs.map((r) => [r.name, r.git_url, r.state, r.operational, r.reason]),
        [
          ["gastown", "https://example.com/gastown.git", "operational", true, ""],
          ["my_rig-2", null, "operational", true, ""],
        ],
      );
      const table = await rig("list");
      assert.equal(table.code, 0);
      const tableLines = lines(table.stdout);
      assert.match(tableLines[0] ?? "", /^RIG\s+STATE\s+GIT URL$/);
      assert.match(tableLines[1] ?? "", /^gastown\s+operational\s+https:\/\/example\.com\/gastown\.git$/);
      assert.match(tableLines[2] ?? "", /^my_rig-2\s+operational\s+-$/);
    });

    it("rig add refuses a duplicate with one line and leaves rigs.json as it was", async () => {
      const before = readFileSync(rigsFile(), "utf8");
      const line = assertOneLineError(await rig("add", "gastown"), "duplicate add");
      assert.match(line, /gastown/);
      assert.match(line, /already exists/);
      assert.equal(readFileSync(rigsFile(), "utf8"), before);
    });

    it("rig add rejects bad names (spaces, paths, shell syntax, empty) without touching anything", async () => {
      const before = readFileSync(rigsFile(), "utf8");
      const entriesBefore = readdirSync(town.root).sort();
      const escaped = join(dirname(town.root), "x");
      const escapedBefore = existsSync(escaped);
      const bad = ["bad name", "../x", "a;b", "$(x)", "", ".hidden"];
      const results = await Promise.all(bad.map((name) => rig("add", "--", name)));
      results.forEach((result, i) => {
        const line = assertOneLineError(result, `rig add ${JSON.stringify(bad[i])}`);
        assert.match(line, /Invalid rig name/);
      });
      assert.equal(readFileSync(rigsFile(), "utf8"), before);
      assert.deepEqual(readdirSync(town.root).sort(), entriesBefore);
      assert.equal(existsSync(escaped), escapedBefore, `"../x" must not create ${escaped}`);
    });

    it("rig add rejects the town's reserved names in any case", async () => {
      const before = readFileSync(rigsFile(), "utf8");
      const names = ["mayor", "Deacon", "daemon"];
      const results = await Promise.all(names.map((name) => rig("add", name)));
      results.forEach((result, i) => {
        assert.match(assertOneLineError(result, `rig add ${names[i] ?? ""}`), /reserved/);
      });
      assert.equal(readFileSync(rigsFile(), "utf8"), before);
    });

    it("rig park/unpark/dock/undock write values.status in .beads-wisp/config/<rig>.json", async () => {
      const park = await rig("park", "gastown");
      assert.equal(park.code, 0, park.stderr);
      assert.match(park.stdout, /Rig "gastown" parked/);
      assert.deepEqual(readJson(wispFile("gastown")), {
        rig: "gastown",
        values: { status: "parked" },
        blocked: [],
      });
      let listed = (await rigListJson(town)).find((r) => r.name === "gastown");
      assert.deepEqual(
        [listed?.state, listed?.operational, listed?.reason],
        ["parked", false, "rig is parked"],
      );
      assert.match((await rig("list")).stdout, /gastown\s+parked \(rig is parked\)/);

      const again = await rig("park", "gastown");
      assert.equal(again.code, 0);
      assert.match(again.stdout, /already parked/);

      const unpark = await rig("unpark", "gastown");
      assert.equal(unpark.code, 0, unpark.stderr);
      assert.match(unpark.stdout, /Rig "gastown" unparked/);
      assert.deepEqual(readJson(wispFile("gastown")), { rig: "gastown", values: {}, blocked: [] });
      listed = (await rigListJson(town)).find((r) => r.name === "gastown");
      assert.equal(listed?.operational, true);

      const dock = await rig("dock", "gastown");
      assert.equal(dock.code, 0, dock.stderr);
      assert.deepEqual(readJson(wispFile("gastown")), {
        rig: "gastown",
        values: { status: "docked" },
        blocked: [],
      });
      listed = (await rigListJson(town)).find((r) => r.name === "gastown");
      assert.deepEqual([listed?.state, listed?.reason], ["docked", "rig is docked"]);

      // unpark does not undo a dock.
      await rig("unpark", "gastown");
      assert.deepEqual(readJson(wispFile("gastown")), {
        rig: "gastown",
        values: { status: "docked" },
        blocked: [],
      });

      const undock = await rig("undock", "gastown");
      assert.equal(undock.code, 0, undock.stderr);
      assert.deepEqual(readJson(wispFile("gastown")), { rig: "gastown", values: {}, blocked: [] });
    });

    it("park keeps fields of the wisp file that townd does not know", async () => {
      writeFileSync(
        wispFile("my_rig-2"),
        JSON.stringify({
          rig: "my_rig-2",
          values: { auto_restart: true, color: "red" },
          blocked: ["x"],
          extra: 7,
        }),
      );
      assert.equal((await rig("park", "my_rig-2")).code, 0);
      assert.deepEqual(readJson(wispFile("my_rig-2")), {
        rig: "my_rig-2",
        values: { auto_restart: true, color: "red", status: "parked" },
        blocked: ["x"],
        extra: 7,
      });
      assert.equal((await rig("unpark", "my_rig-2")).code, 0);
    });

    it("park, unpark, dock, undock and remove of an unknown rig fail with one line", async () => {
      const commands = ["park", "undock", "remove"];
      const results = await Promise.all(commands.map((c) => rig(c, "nosuch")));
      results.forEach((result, i) => {
        const line = assertOneLineError(result, `rig ${commands[i] ?? ""} nosuch`);
        assert.match(line, /nosuch/);
        assert.match(line, /no such rig/);
      });
      assert.equal(existsSync(wispFile("nosuch")), false);
    });

    it("rig remove unregisters the rig and keeps its directory", async () => {
      assert.equal((await rig("add", "doomed")).code, 0);
      const removed = await rig("remove", "doomed");
      assert.equal(removed.code, 0, removed.stderr);
      assert.match(removed.stdout, /Rig "doomed" removed/);
      const file = readJson(rigsFile()) as { rigs: Record<string, unknown> };
      assert.equal("doomed" in file.rigs, false);
      assert.ok(statSync(town.file("doomed")).isDirectory());
      assertOneLineError(await rig("remove", "doomed"), "second remove");
    });

    it("rig add and remove keep fields of rigs.json that townd does not know", async () => {
      const file = readJson(rigsFile()) as Record<string, unknown> & {
        rigs: Record<string, Record<string, unknown>>;
      };
      file["owner"] = "someone";
      const gastown = file.rigs["gastown"] ?? {};
      gastown["beads"] = { repo: "r", prefix: "gt-", extra: 1 };
      gastown["custom"] = [1, 2];
      writeFileSync(rigsFile(), JSON.stringify(file));
      assert.equal((await rig("add", "temp")).code, 0);
      assert.equal((await rig("remove", "temp")).code, 0);
      const after = readJson(rigsFile()) as typeof file;
      assert.equal(after["owner"], "someone");
      assert.deepEqual(after.rigs["gastown"]?.["beads"], { repo: "r", prefix: "gt-", extra: 1 });
      assert.deepEqual(after.rigs["gastown"]["custom"], [1, 2]);
    });

    it("concurrent rig adds all land in rigs.json", async () => {
      const names = Array.from({ length: 5 }, (_, i) => `par${i}`);
      const results = await Promise.all(names.map((name) => rig("add", name)));
      for (const result of results) assert.equal(result.code, 0, result.stderr);
      const file = readJson(rigsFile()) as { rigs: Record<string, unknown> };
      for (const name of names) assert.ok(name in file.rigs, `${name} missing from rigs.json`);
    });
  });

  describe("rig names that cannot be a directory", { concurrency: 1 }, () => {
    let town: TestTown;
    before(async () => {
      town = await makeTown();
    });
    after(async () => {
      await town.cleanup();
    });
    const rig = (...args: string[]): Promise<CliResult> => townd(["rig", ...args], { cwd: town.root });
    const rigsFile = (): string => town.file("mayor", "rigs.json");

    it("rig add rejects an over-long name with one line instead of crashing half-way", async () => {
      const before = readFileSync(rigsFile(), "utf8");
      const name = "a".repeat(300);
      const line = assertOneLineError(await rig("add", name), "rig add <300 chars>");
      assert.match(line, /Invalid rig name/);
      assert.equal(
        readFileSync(rigsFile(), "utf8"),
        before,
        "rigs.json must not list a rig that was not created",
      );
    });
  });

  describe("corrupt and empty mayor/rigs.json", { concurrency: 1 }, () => {
    let town: TestTown;
    before(async () => {
      town = await makeTown();
    });
    after(async () => {
      await town.cleanup();
    });

    const contents: [string, string][] = [
      ["empty", ""],
      ["whitespace", "  \n"],
      ["truncated JSON", '{"version":1,\n"rigs": {\n'],
      ["invalid JSON spanning lines", '{\n"version": 1,\n"rigs":\n}\n'],
      ["wrong shape", '{"version":1,"rigs":[]}\n'],
      ["bad rig name key", '{"version":1,"rigs":{"a b":{}}}\n'],
    ];
    for (const [label, text] of contents) {
      it(`${label} rigs.json: rig commands fail with one line naming mayor/rigs.json, file untouched`, async () => {
        const file = town.file("mayor", "rigs.json");
        writeFileSync(file, text);
        const commands =
          label === "truncated JSON"
            ? [
                ["list", "--json"],
                ["add", "newrig"],
                ["remove", "x"],
                ["park", "x"],
              ]
            : [["list"], ["add", "newrig"]];
        const results = await Promise.all(
          commands.map((args) => townd(["rig", ...args], { cwd: town.root })),
        );
        results.forEach((result, i) => {
          const what = `rig ${commands[i]?.join(" ") ?? ""} with ${label} rigs.json`;
          const line = assertOneLineError(result, what);
          assert.ok(line.includes(file), `${what}: should name ${file}: ${line}`);
        });
        assert.equal(readFileSync(file, "utf8"), text);
        assert.equal(existsSync(town.file("newrig")), false);
      });
    }

    it("a schema error names the field", async () => {
      const file = town.file("mayor", "rigs.json");
      writeFileSync(file, '{"version":"one","rigs":{}}');
      const line = assertOneLineError(
        await townd(["rig", "list"], { cwd: town.root }),
        "version as a string",
      );
      assert.match(line, /field "version"/);
    });

    it("a missing rigs.json is an empty registry, and rig add creates it", async () => {
      const file = town.file("mayor", "rigs.json");
      writeFileSync(file, "");
      rmSync(file);
      const list = await townd(["rig", "list", "--json"], { cwd: town.root });
      assert.equal(list.code, 0, list.stderr);
      assert.deepEqual(JSON.parse(list.stdout), { rigs: [] });
      assert.equal((await townd(["rig", "add", "fresh"], { cwd: town.root })).code, 0);
      assert.deepEqual(Object.keys((readJson(file) as { rigs: object }).rigs), ["fresh"]);
    });

    it("a corrupt wisp file makes park fail with one line naming it, and leaves it untouched", async () => {
      writeFileSync(town.file("mayor", "rigs.json"), '{"version":1,"rigs":{"w":{}}}');
      mkdirSync(town.file(".beads-wisp", "config"), { recursive: true });
      const wisp = town.file(".beads-wisp", "config", "w.json");
      writeFileSync(wisp, "{nope");
      const line = assertOneLineError(
        await townd(["rig", "park", "w"], { cwd: town.root }),
        "park with bad wisp",
      );
      assert.ok(line.includes(wisp), line);
      assert.equal(readFileSync(wisp, "utf8"), "{nope");
    });
  });
});
