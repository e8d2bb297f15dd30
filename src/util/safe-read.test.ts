import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { z } from "zod";
import { FileFormatError } from "../errors.js";
import { makeTempDir } from "../../test/helpers/tmp.js";
import { MAX_READ_BYTES, readTextFileSafe } from "./safe-read.js";
import { MAX_JSON_DEPTH, readJsonIfExists } from "./json-file.js";

const schema = z.looseObject({ version: z.number() });

/** The error `fn` throws, which must be a one-line FileFormatError naming `file`. */
function refusal(fn: () => unknown, file: string): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof FileFormatError, `expected a FileFormatError, got ${String(error)}`);
    assert.equal(error.file, file);
    assert.ok(error.message.startsWith(`${file}: `), error.message);
    assert.doesNotMatch(error.message, /\n/);
    return error.message;
  }
  assert.fail("expected an error");
}

describe("reading files others can write", () => {
  const temp = makeTempDir("td-safe-");
  after(() => {
    temp.cleanup();
  });
  let n = 0;
  const path = (): string => join(temp.dir, `f${n++}.json`);

  it("a FIFO is refused at once instead of blocking in open(2)", () => {
    const fifo = path();
    execFileSync("mkfifo", [fifo]);
    const started = Date.now();
    assert.match(
      refusal(() => readTextFileSafe(fifo), fifo),
      /it is a FIFO, not a regular file/,
    );
    assert.ok(Date.now() - started < 1000);
  });

  it("readJsonIfExists on a FIFO returns an error (checked in a child process: the old read blocked for good)", () => {
    const fifo = path();
    execFileSync("mkfifo", [fifo]);
    const script = `
      import { readJsonIfExists } from ${JSON.stringify(new URL("./json-file.ts", import.meta.url).href)};
      import { z } from "zod";
      try { readJsonIfExists(process.argv[1], z.object({})); } catch (e) { console.log(e.message); }`;
    const result = spawnSync(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script, fifo],
      {
        encoding: "utf8",
        timeout: 10_000,
      },
    );
    assert.equal(result.signal, null, "the read did not return (killed after 10 s)");
    assert.match(result.stdout, /FIFO, not a regular file/);
  });

  it("a symlink to /dev/zero is refused without reading it", () => {
    const link = path();
    symlinkSync("/dev/zero", link);
    assert.match(
      refusal(() => readJsonIfExists(link, schema), link),
      /a character device, not a regular file/,
    );
  });

  it("a directory in place of the file is refused", () => {
    const dir = path();
    mkdirSync(dir);
    assert.match(
      refusal(() => readJsonIfExists(dir, schema), dir),
      /cannot read: it is a directory/,
    );
  });

  it("a file over the size limit is refused; one at the limit is read", () => {
    const big = path();
    writeFileSync(big, Buffer.alloc(MAX_READ_BYTES + 1, 0x20));
    assert.match(
      refusal(() => readJsonIfExists(big, schema), big),
      /over the size limit of 1048576 bytes/,
    );
    const fits = path();
    writeFileSync(fits, `{"version": 1}${" ".repeat(MAX_READ_BYTES - 14)}`);
    assert.deepEqual(readJsonIfExists(fits, schema), { version: 1 });
  });

  it("noFollow refuses a symlink even to a good file; without it the link is followed", () => {
    const target = path();
    writeFileSync(target, '{"version": 3}');
    const link = path();
    symlinkSync(target, link);
    assert.deepEqual(readJsonIfExists(link, schema), { version: 3 });
    assert.match(
      refusal(() => readJsonIfExists(link, schema, { noFollow: true }), link),
      /symbolic link/,
    );
  });

  it("a missing file is undefined", () => {
    assert.equal(readTextFileSafe(join(temp.dir, "nope.json")), undefined);
  });

  it("bytes that are not UTF-8 are refused, not replaced (an unknown field would be rewritten with U+FFFD)", () => {
    const file = path();
    writeFileSync(
      file,
      Buffer.concat([Buffer.from('{"version": 1, "note": "'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
    );
    assert.match(
      refusal(() => readJsonIfExists(file, schema), file),
      /is not valid UTF-8 text/,
    );
    const good = path();
    writeFileSync(good, '{"version": 1, "note": "é ✓ 🚀"}');
    assert.deepEqual(readJsonIfExists(good, schema), { version: 1, note: "é ✓ 🚀" });
  });

  it(`a value nested deeper than ${MAX_JSON_DEPTH} levels is refused (rewriting it would overflow the stack)`, () => {
    const file = path();
    const depth = 100_000;
    writeFileSync(file, `{"version": 1, "x": ${"[".repeat(depth)}${"]".repeat(depth)}}`);
    assert.match(
      refusal(() => readJsonIfExists(file, schema), file),
      /nested more than 64 levels deep/,
    );
    const fine = path();
    writeFileSync(fine, `{"version": 1, "x": ${"[".repeat(40)}${"]".repeat(40)}}`);
    assert.equal(readJsonIfExists(fine, schema)?.version, 1);
  });
});
