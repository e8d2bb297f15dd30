import { after, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AppError, FileFormatError } from "../errors.js";
import { makeTempDir } from "../../test/helpers/tmp.js";
import { townPaths, type TownPaths } from "./paths.js";
import { addRig, listRigs, readRigs, readWisp, removeRig, setRigStatus, validateRigName } from "./rigs.js";

function readJson(file: string): unknown {
  return JSON.parse(readFileSync(file, "utf8"));
}

async function rejectsWith(promise: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof AppError, String(error));
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  });
}

describe("rigs", () => {
  const temp = makeTempDir("td-rigs-");
  after(() => {
    temp.cleanup();
  });
  let n = 0;
  let paths: TownPaths;
  beforeEach(() => {
    paths = townPaths(join(temp.dir, `t${n++}`));
    mkdirSync(paths.mayorDir, { recursive: true });
    writeFileSync(paths.rigsJson, '{"version":1,"rigs":{}}');
  });

  it("validateRigName() accepts letters, digits, '-' and '_' starting with a letter or digit", () => {
    for (const name of ["gastown", "a", "9lives", "my-rig", "my_rig", "A-B_c9"]) {
      assert.equal(validateRigName(name), name);
    }
  });

  it("validateRigName() rejects paths, shell syntax, spaces, dots, empty and reserved names", () => {
    const bad = [
      "",
      "bad name",
      "../x",
      "a/b",
      "a;b",
      "$(x)",
      "`x`",
      ".hidden",
      "-x",
      "_x",
      "x.y",
      "a\nb",
      "ü",
    ];
    for (const name of bad) {
      assert.throws(() => validateRigName(name), { code: "E_BAD_RIG_NAME" }, JSON.stringify(name));
    }
    for (const name of ["mayor", "deacon", "daemon", "settings", "hq", "boot", "MAYOR", "Deacon"]) {
      assert.throws(() => validateRigName(name), /reserved/, name);
    }
  });

  it("validateRigName() rejects a name too long to be a directory or a tmux session", () => {
    assert.throws(() => validateRigName("a".repeat(300)), { code: "E_BAD_RIG_NAME" });
  });

  it("add → list → park → dock → unpark/undock → remove round trip", async () => {
    await addRig(paths, "gastown", "https://example.com/g.git");
    await addRig(paths, "beta");
    assert.ok(statSync(paths.rigDir("gastown")).isDirectory());
    let rigs = listRigs(paths);
    assert.deepEqual(
      rigs.map((r) => [r.name, r.git_url, r.state, r.operational]),
      [
        ["beta", null, "operational", true],
        ["gastown", "https://example.com/g.git", "operational", true],
      ],
    );
    assert.ok(!Number.isNaN(Date.parse(rigs[1]?.added_at ?? "")));

    assert.equal(await setRigStatus(paths, "gastown", "park"), true);
    assert.equal(await setRigStatus(paths, "gastown", "park"), false, "already parked");
    assert.deepEqual(readWisp(paths, "gastown"), {
      rig: "gastown",
      values: { status: "parked" },
      blocked: [],
    });
    rigs = listRigs(paths);
    assert.deepEqual(
      rigs.find((r) => r.name === "gastown"),
      {
        name: "gastown",
        git_url: "https://example.com/g.git",
        added_at: rigs[1]?.added_at ?? null,
        state: "parked",
        operational: false,
        reason: "rig is parked",
      },
    );

    assert.equal(await setRigStatus(paths, "gastown", "dock"), true);
    assert.equal(readWisp(paths, "gastown")?.values?.["status"], "docked");
    assert.equal(await setRigStatus(paths, "gastown", "unpark"), false, "unpark does not undo a dock");
    assert.equal(readWisp(paths, "gastown")?.values?.["status"], "docked");
    assert.equal(await setRigStatus(paths, "gastown", "undock"), true);
    assert.equal(readWisp(paths, "gastown")?.values?.["status"], undefined);
    assert.equal(await setRigStatus(paths, "gastown", "undock"), false);

    await removeRig(paths, "gastown");
    assert.deepEqual(Object.keys(readRigs(paths).rigs), ["beta"]);
    assert.ok(existsSync(paths.rigDir("gastown")), "the rig's directory is kept");
  });

  it("add refuses duplicates and bad names; remove and park refuse unknown rigs", async () => {
    await addRig(paths, "gastown");
    await rejectsWith(addRig(paths, "gastown"), "E_RIG_EXISTS", /already exists/);
    await rejectsWith(addRig(paths, "../up"), "E_BAD_RIG_NAME", /Invalid rig name/);
    await rejectsWith(removeRig(paths, "nosuch"), "E_NO_RIG", /no such rig/);
    for (const change of ["park", "unpark", "dock", "undock"] as const) {
      await rejectsWith(setRigStatus(paths, "nosuch", change), "E_NO_RIG", /no such rig/);
    }
    assert.equal(existsSync(paths.wispConfig("nosuch")), false);
  });

  it("unknown fields in rigs.json survive add and remove", async () => {
    writeFileSync(
      paths.rigsJson,
      JSON.stringify({
        version: 1,
        owner: "someone",
        rigs: { old: { git_url: "u", beads: { repo: "r", prefix: "gt-", extra: 1 }, custom: [1, 2] } },
      }),
    );
    await addRig(paths, "fresh");
    await removeRig(paths, "fresh");
    assert.deepEqual(readJson(paths.rigsJson), {
      version: 1,
      owner: "someone",
      rigs: { old: { git_url: "u", beads: { repo: "r", prefix: "gt-", extra: 1 }, custom: [1, 2] } },
    });
  });

  it("unknown fields in the wisp file survive park and unpark", async () => {
    await addRig(paths, "gastown");
    mkdirSync(paths.wispConfigDir, { recursive: true });
    const original = {
      rig: "gastown",
      values: { auto_restart: true, color: "red" },
      blocked: ["x"],
      extra: { a: 1 },
    };
    writeFileSync(paths.wispConfig("gastown"), JSON.stringify(original));
    await setRigStatus(paths, "gastown", "park");
    assert.deepEqual(readJson(paths.wispConfig("gastown")), {
      ...original,
      values: { ...original.values, status: "parked" },
    });
    await setRigStatus(paths, "gastown", "unpark");
    assert.deepEqual(readJson(paths.wispConfig("gastown")), original);
  });

  it("a missing rigs.json is an empty registry; add creates it", async () => {
    const fresh = townPaths(join(temp.dir, `t${n++}`));
    mkdirSync(fresh.mayorDir, { recursive: true });
    assert.deepEqual(listRigs(fresh), []);
    await addRig(fresh, "first");
    assert.deepEqual(readJson(fresh.rigsJson), {
      version: 1,
      rigs: { first: { added_at: readRigs(fresh).rigs["first"]?.added_at ?? "" } },
    });
  });

  it("a corrupt rigs.json is an error naming it, and add leaves it untouched", async () => {
    writeFileSync(paths.rigsJson, '{"version":1,"rigs":');
    assert.throws(() => listRigs(paths), FileFormatError);
    await assert.rejects(addRig(paths, "x"), (error: unknown) => {
      assert.ok(error instanceof FileFormatError);
      assert.equal(error.file, paths.rigsJson);
      return true;
    });
    assert.equal(readFileSync(paths.rigsJson, "utf8"), '{"version":1,"rigs":');
    assert.equal(existsSync(paths.rigDir("x")), false);
  });

  it("concurrent adds and parks lose nothing (one lock for every read-modify-write)", async () => {
    const names = Array.from({ length: 12 }, (_, i) => `rig${i}`);
    await Promise.all(names.map((name) => addRig(paths, name)));
    assert.deepEqual(Object.keys(readRigs(paths).rigs).sort(), [...names].sort());
    await Promise.all(names.map((name, i) => setRigStatus(paths, name, i % 2 === 0 ? "park" : "dock")));
    for (const [i, name] of names.entries()) {
      assert.equal(readWisp(paths, name)?.values?.["status"], i % 2 === 0 ? "parked" : "docked");
    }
  });
});
