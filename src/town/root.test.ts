import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { AppError } from "../errors.js";
import { makeTempDir } from "../../test/helpers/tmp.js";
import { findTownRoot } from "./root.js";

describe("findTownRoot()", () => {
  const temp = makeTempDir("td-root-");
  const townA = join(temp.dir, "a");
  const townB = join(temp.dir, "b");
  const nested = join(townA, "rig", "inner");
  const outside = join(temp.dir, "outside", "deep");
  before(() => {
    for (const town of [townA, townB, nested]) {
      mkdirSync(join(town, "mayor"), { recursive: true });
      writeFileSync(join(town, "mayor", "town.json"), "{}");
    }
    mkdirSync(outside, { recursive: true });
    // A mayor/ directory without town.json is not a town.
    mkdirSync(join(temp.dir, "outside", "mayor"));
  });
  after(() => {
    temp.cleanup();
  });

  const noEnv = {};

  it("finds the town from its root and walks up from a subdirectory", () => {
    assert.equal(findTownRoot({ cwd: townA, env: noEnv }), townA);
    const sub = join(townA, "rig", "src", "x");
    mkdirSync(sub, { recursive: true });
    assert.equal(findTownRoot({ cwd: sub, env: noEnv }), townA);
  });

  it("a town reached through a symlink is returned by its real path, however it was named (issue 14 item 8)", () => {
    const link = join(temp.dir, "a-link");
    symlinkSync(townA, link);
    assert.equal(findTownRoot({ town: link, env: noEnv }), townA);
    assert.equal(findTownRoot({ env: { TOWND_ROOT: link } }), townA);
    assert.equal(findTownRoot({ cwd: join(link, "rig"), env: noEnv }), townA);
  });

  it("the nearest town wins: a town inside a town", () => {
    const sub = join(nested, "deeper");
    mkdirSync(sub, { recursive: true });
    assert.equal(findTownRoot({ cwd: sub, env: noEnv }), nested);
  });

  it("--town wins over TOWND_ROOT, GT_TOWN_ROOT and the working directory", () => {
    assert.equal(
      findTownRoot({ town: townB, env: { TOWND_ROOT: townA, GT_TOWN_ROOT: townA }, cwd: townA }),
      townB,
    );
  });

  it("TOWND_ROOT wins over GT_TOWN_ROOT; GT_TOWN_ROOT is used alone; empty values count as unset", () => {
    assert.equal(findTownRoot({ env: { TOWND_ROOT: townA, GT_TOWN_ROOT: townB }, cwd: outside }), townA);
    assert.equal(findTownRoot({ env: { GT_TOWN_ROOT: townB }, cwd: outside }), townB);
    assert.equal(findTownRoot({ town: "", env: { TOWND_ROOT: "", GT_TOWN_ROOT: "" }, cwd: townB }), townB);
  });

  it("a relative --town or variable is resolved against the working directory", () => {
    assert.equal(findTownRoot({ town: "a", env: noEnv, cwd: temp.dir }), townA);
    assert.equal(findTownRoot({ env: { TOWND_ROOT: "../b" }, cwd: townA }), townB);
  });

  it("an explicit root that is not a town is an error naming it and its source, not a fallback", () => {
    assert.throws(
      () => findTownRoot({ env: { TOWND_ROOT: outside, GT_TOWN_ROOT: townB }, cwd: townA }),
      (error: unknown) => {
        assert.ok(error instanceof AppError);
        assert.equal(error.code, "E_NOT_A_TOWN");
        assert.equal(error.exitCode, 1);
        assert.ok(error.message.includes(outside));
        assert.match(error.message, /from TOWND_ROOT/);
        assert.match(error.message, /has no mayor\/town\.json/);
        return true;
      },
    );
    assert.throws(
      () => findTownRoot({ town: join(temp.dir, "nope"), env: noEnv, cwd: townA }),
      /does not exist/,
    );
    assert.throws(() => findTownRoot({ env: { GT_TOWN_ROOT: outside }, cwd: townA }), /from GT_TOWN_ROOT/);
  });

  it("outside any town: one line saying how to fix it", () => {
    assert.throws(
      () => findTownRoot({ env: noEnv, cwd: outside }),
      (error: unknown) => {
        assert.ok(error instanceof AppError);
        assert.equal(error.code, "E_NOT_IN_TOWN");
        assert.ok(error.message.includes(outside));
        assert.match(error.message, /--town/);
        assert.doesNotMatch(error.message, /\n/);
        return true;
      },
    );
  });

  it("the temp dir is not itself inside a town (so the test above proves something)", () => {
    for (let dir = temp.dir; dirname(dir) !== dir; dir = dirname(dir)) {
      assert.throws(() => findTownRoot({ env: noEnv, cwd: dir }), { code: "E_NOT_IN_TOWN" });
    }
  });
});
