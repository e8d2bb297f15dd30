import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { makeTempDir } from "../../test/helpers/tmp.js";
import { RotatingFile } from "./rotating-file.js";

describe("RotatingFile", () => {
  const temp = makeTempDir("td-rot-");
  after(() => {
    temp.cleanup();
  });
  let n = 0;
  const freshDir = (): string => {
    const dir = join(temp.dir, `d${n++}`);
    mkdirSync(dir);
    return dir;
  };
  const read = (path: string): string => (existsSync(path) ? readFileSync(path, "utf8") : "");
  const line = (tag: string, size: number): string => `${tag}${"x".repeat(size - tag.length - 1)}\n`;

  it("does not rotate below the limit, nor when a write exactly fills it", () => {
    const dir = freshDir();
    const file = join(dir, "daemon.log");
    const log = new RotatingFile({ file, maxBytes: 100, maxFiles: 2 });
    log.write(line("a", 60));
    log.write(line("b", 40));
    log.close();
    assert.equal(read(file).length, 100);
    assert.equal(existsSync(`${file}.1`), false);
  });

  it("rotates before a write that would pass the limit: the old content moves to .1 whole", () => {
    const dir = freshDir();
    const file = join(dir, "daemon.log");
    const log = new RotatingFile({ file, maxBytes: 100, maxFiles: 2 });
    log.write(line("a", 60));
    log.write(line("b", 41));
    log.close();
    assert.equal(read(`${file}.1`), line("a", 60));
    assert.equal(read(file), line("b", 41));
  });

  it("shifts backups .1 → .2 and drops the oldest at maxFiles", () => {
    const dir = freshDir();
    const file = join(dir, "daemon.log");
    const log = new RotatingFile({ file, maxBytes: 50, maxFiles: 2 });
    for (const tag of ["one", "two", "three", "four", "five"]) log.write(line(tag, 40));
    log.close();
    assert.equal(read(file), line("five", 40));
    assert.equal(read(`${file}.1`), line("four", 40));
    assert.equal(read(`${file}.2`), line("three", 40));
    assert.equal(existsSync(`${file}.3`), false);
  });

  it("keeps only .1 with maxFiles 1", () => {
    const dir = freshDir();
    const file = join(dir, "daemon.log");
    const log = new RotatingFile({ file, maxBytes: 50, maxFiles: 1 });
    for (const tag of ["one", "two", "three"]) log.write(line(tag, 40));
    log.close();
    assert.equal(read(`${file}.1`), line("two", 40));
    assert.equal(existsSync(`${file}.2`), false);
  });

  it("never splits a line: the files, oldest first, are the newest whole lines written", () => {
    const dir = freshDir();
    const file = join(dir, "daemon.log");
    const maxBytes = 300;
    const log = new RotatingFile({ file, maxBytes, maxFiles: 3 });
    const written: string[] = [];
    for (let i = 0; i < 200; i++) {
      const text = line(`#${i}:`, 10 + ((i * 37) % 90));
      written.push(text);
      log.write(text);
    }
    log.close();
    const files = [`${file}.3`, `${file}.2`, `${file}.1`, file];
    for (const path of files) {
      const text = read(path);
      assert.ok(text.endsWith("\n"), `${path} ends with a whole line`);
      assert.ok(Buffer.byteLength(text) <= maxBytes, `${path} is ${Buffer.byteLength(text)} bytes`);
    }
    const kept = files.map(read).join("");
    assert.ok(written.join("").endsWith(kept), "the kept files are exactly the last lines written, in order");
    assert.ok(kept.length > maxBytes * 3, "all four files are in use");
  });

  it("a single line longer than the limit is written whole, and the next write rotates", () => {
    const dir = freshDir();
    const file = join(dir, "daemon.log");
    const log = new RotatingFile({ file, maxBytes: 50, maxFiles: 2 });
    log.write(line("small", 20));
    log.write(line("huge", 120));
    log.write(line("after", 20));
    log.close();
    assert.equal(read(`${file}.2`), line("small", 20));
    assert.equal(read(`${file}.1`), line("huge", 120));
    assert.equal(read(file), line("after", 20));
  });

  it("counts what an existing file already holds", () => {
    const dir = freshDir();
    const file = join(dir, "daemon.log");
    writeFileSync(file, line("old", 90));
    const log = new RotatingFile({ file, maxBytes: 100, maxFiles: 2 });
    log.write(line("new", 20));
    log.close();
    assert.equal(read(`${file}.1`), line("old", 90));
    assert.equal(read(file), line("new", 20));
  });

  it("setLimits() applies to the next write", () => {
    const dir = freshDir();
    const file = join(dir, "daemon.log");
    const log = new RotatingFile({ file, maxBytes: 1000, maxFiles: 2 });
    log.write(line("a", 60));
    log.setLimits(80, 1);
    log.write(line("b", 60));
    log.close();
    assert.equal(read(`${file}.1`), line("a", 60));
    assert.equal(read(file), line("b", 60));
  });

  it("creates the log and its rotated successors with the given mode", () => {
    const dir = freshDir();
    const file = join(dir, "daemon.log");
    const log = new RotatingFile({ file, maxBytes: 50, maxFiles: 2, mode: 0o600 });
    log.write(line("a", 40));
    log.write(line("b", 40));
    log.close();
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(`${file}.1`).mode & 0o777, 0o600);
  });

  it("narrows a log and rotated logs an older townd left 0644 to 0600 (issue 14 item 2)", () => {
    const dir = freshDir();
    const file = join(dir, "daemon.log");
    for (const path of [file, `${file}.1`, `${file}.2`]) writeFileSync(path, "old\n", { mode: 0o644 });
    const log = new RotatingFile({ file, maxBytes: 1000, maxFiles: 2, mode: 0o600 });
    log.close();
    for (const path of [file, `${file}.1`, `${file}.2`])
      assert.equal(statSync(path).mode & 0o777, 0o600, path);
  });

  it("never writes through a symlink at the log's place (issue 14 item 17)", () => {
    const dir = freshDir();
    const file = join(dir, "daemon.log");
    const outside = join(dir, "outside.txt");
    writeFileSync(outside, "precious\n", { mode: 0o644 });
    symlinkSync(outside, file);
    const log = new RotatingFile({ file, maxBytes: 1000, maxFiles: 2, mode: 0o600 });
    log.write("line\n");
    log.close();
    assert.equal(readFileSync(outside, "utf8"), "precious\n");
    assert.equal(statSync(outside).mode & 0o777, 0o644);
    assert.ok(lstatSync(file).isFile());
    assert.equal(read(file), "line\n");
  });
});
