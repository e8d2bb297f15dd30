import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  closeSync,
  lstatSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { makeTempDir } from "../../test/helpers/tmp.js";
import { openPrivateFile, writeJsonPrivateSync } from "./private-file.js";

describe("writing daemon-owned files", () => {
  const temp = makeTempDir("td-priv-");
  const outside = makeTempDir("td-out-");
  after(() => {
    temp.cleanup();
    outside.cleanup();
  });
  let n = 0;
  const name = (): string => join(temp.dir, `f${n++}`);
  /** A file outside the town that a planted link points to; it must come through untouched. */
  const victim = (): string => {
    const file = join(outside.dir, `victim${n++}`);
    writeFileSync(file, "precious\n", { mode: 0o644 });
    return file;
  };
  const untouched = (file: string): void => {
    assert.equal(readFileSync(file, "utf8"), "precious\n");
    assert.equal(statSync(file).mode & 0o777, 0o644);
  };

  it("writeJsonPrivateSync replaces a symlink instead of writing through it, mode 0600, no temp file left", () => {
    const target = victim();
    const file = name();
    symlinkSync(target, file);
    writeJsonPrivateSync(file, { running: true });
    untouched(target);
    const stats = lstatSync(file);
    assert.ok(stats.isFile(), "the link is now a regular file");
    assert.equal(stats.mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), { running: true });
    assert.deepEqual(
      readdirSync(temp.dir).filter((entry) => entry.startsWith(`${file.split("/").at(-1) ?? ""}.`)),
      [],
    );
  });

  it("openPrivateFile replaces a symlink by a file of its own and says so", () => {
    const target = victim();
    const file = name();
    symlinkSync(target, file);
    const { fd, replacedLink } = openPrivateFile(file, "append");
    writeSync(fd, "log line\n");
    closeSync(fd);
    assert.equal(replacedLink, true);
    untouched(target);
    assert.equal(readFileSync(file, "utf8"), "log line\n");
  });

  it("openPrivateFile narrows an existing file's mode to 0600 and appends or truncates", () => {
    const file = name();
    writeFileSync(file, "old\n", { mode: 0o644 });
    const appended = openPrivateFile(file, "append");
    writeSync(appended.fd, "new\n");
    closeSync(appended.fd);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(readFileSync(file, "utf8"), "old\nnew\n");
    closeSync(openPrivateFile(file, "truncate").fd);
    assert.equal(readFileSync(file, "utf8"), "");
  });

  it("openPrivateFile refuses a FIFO at once with one line", () => {
    const fifo = name();
    execFileSync("mkfifo", [fifo]);
    assert.throws(() => openPrivateFile(fifo, "append"), {
      message: `Cannot open ${fifo} for writing: it is not a regular file`,
    });
  });
});
