import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { AppError, FileFormatError } from "../errors.js";
import { makeTempDir } from "../../test/helpers/tmp.js";
import { parseJson, readJson, readJsonIfExists, writeJsonAtomic, writeJsonAtomicSync } from "./json-file.js";

const schema = z.looseObject({
  version: z.number(),
  daemon: z.looseObject({ interval: z.string() }).optional(),
});

describe("json-file", () => {
  const temp = makeTempDir("td-json-");
  after(() => {
    temp.cleanup();
  });
  let n = 0;
  const file = (content?: string): string => {
    const path = join(temp.dir, `f${n++}.json`);
    if (content !== undefined) writeFileSync(path, content);
    return path;
  };

  const failure = (fn: () => unknown): FileFormatError => {
    try {
      fn();
    } catch (error) {
      assert.ok(error instanceof FileFormatError, `expected a FileFormatError, got ${String(error)}`);
      return error;
    }
    assert.fail("expected an error");
  };

  it("readJsonIfExists() returns undefined for a missing file; readJson() says it is missing", () => {
    const path = join(temp.dir, "missing.json");
    assert.equal(readJsonIfExists(path, schema), undefined);
    const error = failure(() => readJson(path, schema));
    assert.equal(error.message, `${path}: file is missing`);
  });

  it("an empty or blank file is an error naming the file", () => {
    for (const content of ["", "  \n\t"]) {
      const path = file(content);
      const error = failure(() => readJsonIfExists(path, schema));
      assert.equal(error.file, path);
      assert.equal(error.message, `${path}: file is empty`);
    }
  });

  it("invalid JSON is an error naming the file, on one line even when the input spans lines", () => {
    const path = file('{\n"version": 1,\n"daemon":\n}\n');
    const error = failure(() => readJsonIfExists(path, schema));
    assert.ok(error.message.startsWith(`${path}: not valid JSON: `), error.message);
    assert.doesNotMatch(error.message, /\n/, "the CLI prints this message as one line");
  });

  it("a schema error names the file and the field", () => {
    const path = file('{"version": 1, "daemon": {"interval": 5}}');
    const error = failure(() => readJsonIfExists(path, schema));
    assert.match(error.message, new RegExp(`^${path}: field "daemon\\.interval": `));
    const missing = failure(() => readJsonIfExists(file("{}"), schema));
    assert.match(missing.message, /field "version"/);
    const wrongRoot = failure(() => readJsonIfExists(file("[1]"), schema));
    assert.doesNotMatch(wrongRoot.message, /field ""/, "no empty field name for a problem at the root");
  });

  it("a file that cannot be read (a directory) is an error naming it", () => {
    const dir = join(temp.dir, "adir.json");
    mkdirSync(dir);
    const error = failure(() => readJsonIfExists(dir, schema));
    assert.match(error.message, /cannot read/);
    assert.equal(error.file, dir);
  });

  it("FileFormatError is an AppError with exit code 1", () => {
    const error = failure(() => readJsonIfExists(file(""), schema));
    assert.ok(error instanceof AppError);
    assert.equal(error.exitCode, 1);
    assert.equal(error.code, "E_FILE_FORMAT");
  });

  it("unknown fields survive a read (loose schemas)", () => {
    const value = readJsonIfExists(file('{"version": 1, "extra": {"a": [1]}}'), schema);
    assert.deepEqual(value, { version: 1, extra: { a: [1] } });
  });

  it("parseJson() validates text the same way", () => {
    assert.deepEqual(parseJson("x.json", '{"version":2}', schema), { version: 2 });
    assert.throws(() => parseJson("x.json", "", schema), { message: "x.json: file is empty" });
  });

  it("writeJsonAtomic() writes 2-space JSON with a newline, mode 0644, and leaves no temp files", async () => {
    const dir = join(temp.dir, "atomic");
    mkdirSync(dir);
    const path = join(dir, "state.json");
    await writeJsonAtomic(path, { running: true, nested: { a: 1 } });
    assert.equal(readFileSync(path, "utf8"), '{\n  "running": true,\n  "nested": {\n    "a": 1\n  }\n}\n');
    assert.equal(statSync(path).mode & 0o777, 0o644);
    writeJsonAtomicSync(path, { running: false });
    assert.equal(readFileSync(path, "utf8"), '{\n  "running": false\n}\n');
    assert.deepEqual(readdirSync(dir), ["state.json"]);
  });

  it("concurrent atomic writes leave one whole file and no temp files", async () => {
    const dir = join(temp.dir, "race");
    mkdirSync(dir);
    const path = join(dir, "rigs.json");
    const big = (i: number): unknown => ({
      writer: i,
      rigs: Object.fromEntries(Array.from({ length: 200 }, (_, k) => [`r${k}`, { i }])),
    });
    await Promise.all(Array.from({ length: 20 }, (_, i) => writeJsonAtomic(path, big(i))));
    const value = JSON.parse(readFileSync(path, "utf8")) as {
      writer: number;
      rigs: Record<string, { i: number }>;
    };
    assert.ok(
      Object.values(value.rigs).every((r) => r.i === value.writer),
      "one writer's content, whole",
    );
    assert.deepEqual(readdirSync(dir), ["rigs.json"]);
  });

  it("writeJsonAtomic() honours an explicit mode", async () => {
    const path = join(temp.dir, "private.json");
    await writeJsonAtomic(path, {}, 0o600);
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });
});
