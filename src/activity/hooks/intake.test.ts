import assert from "node:assert/strict";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { makeTempDir } from "../../../test/helpers/tmp.js";
import { waitFor } from "../../util/sleep.js";
import { HookIntake, type HookEvent } from "./intake.js";

describe("HookIntake", () => {
  let tmp: { dir: string; cleanup: () => void };
  before(() => {
    tmp = makeTempDir("hook-intake-");
  });
  after(() => {
    tmp.cleanup();
  });

  /** An intake on a fresh file in its own directory, with what it has delivered so far. */
  function intake(
    name: string,
    options: { maxBytes?: number; readExisting?: boolean; before?: string } = {},
  ) {
    const file = join(tmp.dir, name, "hook-events");
    rmSync(join(tmp.dir, name), { recursive: true, force: true });
    mkdirSync(join(tmp.dir, name));
    if (options.before !== undefined) writeFileSync(file, options.before);
    const got: HookEvent[] = [];
    const problems: string[] = [];
    const hi = new HookIntake({
      file,
      onEvents: (events) => got.push(...events),
      onProblem: (p) => problems.push(p),
      now: () => 42,
      ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
      ...(options.readExisting === undefined ? {} : { readExisting: options.readExisting }),
    });
    hi.start();
    const count = (n: number) =>
      waitFor(() => (got.length >= n ? true : undefined), { timeoutMs: 5_000, intervalMs: 10 });
    return { file, got, problems, hi, count };
  }

  it("delivers appended lines as they arrive, a line split across writes once whole", async () => {
    const t = intake("a", { before: "old\tStop\t{}\n" });
    try {
      appendFileSync(t.file, 'g1\tSessionStart\t{"source":"startup"}\n');
      assert.ok(await t.count(1));
      appendFileSync(t.file, "g1\tUserPromptSubmit\t{");
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(t.got.length, 1, "half a line waits");
      appendFileSync(t.file, '"prompt":"hi"}\nnot a line\ng1\tStop\t{"cut');
      appendFileSync(t.file, "\n");
      assert.ok(await t.count(3));
      assert.deepEqual(t.got, [
        { generation: "g1", event: "SessionStart", payload: { source: "startup" }, receivedAt: 42 },
        { generation: "g1", event: "UserPromptSubmit", payload: { prompt: "hi" }, receivedAt: 42 },
        { generation: "g1", event: "Stop", payload: null, receivedAt: 42 },
      ]);
    } finally {
      t.hi.stop();
    }
  });

  it("reads the existing lines when asked", async () => {
    const t = intake("b", { before: "old\tStop\t{}\n", readExisting: true });
    try {
      assert.ok(await t.count(1));
      assert.equal(t.got[0]?.generation, "old");
    } finally {
      t.hi.stop();
    }
  });

  it("survives the file being cut shorter, replaced or removed", async () => {
    const t = intake("c");
    try {
      appendFileSync(t.file, "g\tStop\t{}\n".repeat(10));
      assert.ok(await t.count(10));
      truncateSync(t.file, 0);
      appendFileSync(t.file, "g2\tStop\t{}\n");
      assert.ok(await t.count(11));
      writeFileSync(`${t.file}.new`, "g3\tStop\t{}\n");
      renameSync(`${t.file}.new`, t.file);
      assert.ok(await t.count(12));
      rmSync(t.file);
      appendFileSync(t.file, "g4\tStop\t{}\n");
      assert.ok(await t.count(13));
      assert.deepEqual(
        t.got.slice(10).map((e) => e.generation),
        ["g2", "g3", "g4"],
      );
    } finally {
      t.hi.stop();
    }
  });

  it("never follows a symbolic link: it is replaced by a file", async () => {
    const t = intake("d");
    try {
      const target = join(tmp.dir, "target");
      writeFileSync(target, "evil\tStop\t{}\n");
      rmSync(t.file);
      symlinkSync(target, t.file);
      await waitFor(() => (t.problems.length > 0 ? true : undefined), { timeoutMs: 5_000, intervalMs: 10 });
      appendFileSync(t.file, "g\tStop\t{}\n");
      assert.ok(await t.count(1));
      assert.deepEqual(
        t.got.map((e) => e.generation),
        ["g"],
      );
      assert.match(t.problems[0] ?? "", /symbolic link/);
    } finally {
      t.hi.stop();
    }
  });

  it("moves a large file aside once read and keeps reading what is appended", async () => {
    const t = intake("e", { maxBytes: 1000 });
    try {
      appendFileSync(t.file, `g\tStop\t{"x":"${"a".repeat(2000)}"}\n`);
      assert.ok(await t.count(1));
      await waitFor(() => (existsSync(`${t.file}.old`) ? true : undefined), {
        timeoutMs: 5_000,
        intervalMs: 10,
      });
      // A hook that opened the old file just before the move still gets its line read.
      appendFileSync(`${t.file}.old`, "late\tStop\t{}\n");
      appendFileSync(t.file, "new\tStop\t{}\n");
      assert.ok(await t.count(3));
      await waitFor(() => (existsSync(`${t.file}.old`) ? undefined : true), {
        timeoutMs: 5_000,
        intervalMs: 50,
      });
      assert.deepEqual(t.got.map((e) => e.generation).sort(), ["g", "late", "new"]);
    } finally {
      t.hi.stop();
    }
  });
});
