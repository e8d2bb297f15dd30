import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { makeTempDir } from "../../test/helpers/tmp.js";
import { townPaths } from "../town/paths.js";
import { daemonOwnedFiles, ensureDaemonDir, removeUnsafeDaemonFiles } from "./daemon-dir.js";

describe("daemon/", () => {
  const temp = makeTempDir("td-ddir-");
  after(() => {
    temp.cleanup();
  });
  let n = 0;
  const town = (): ReturnType<typeof townPaths> => {
    const root = join(temp.dir, `t${n++}`);
    mkdirSync(root);
    return townPaths(root);
  };

  it("is created owner-only", () => {
    const paths = town();
    assert.equal(ensureDaemonDir(paths), undefined);
    assert.equal(statSync(paths.daemonDir).mode & 0o777, 0o700);
  });

  it("an existing 0755 daemon/ is narrowed to 0700, and the old mode is returned for the log", () => {
    const paths = town();
    mkdirSync(paths.daemonDir);
    chmodSync(paths.daemonDir, 0o755);
    assert.equal(ensureDaemonDir(paths), 0o755);
    assert.equal(statSync(paths.daemonDir).mode & 0o777, 0o700);
    assert.equal(ensureDaemonDir(paths), undefined, "nothing to say the second time");
  });

  it("symlinks and FIFOs among the daemon's files are removed (not their targets); regular files stay", () => {
    const paths = town();
    ensureDaemonDir(paths);
    const outside = join(temp.dir, `outside${n++}`);
    writeFileSync(outside, "precious\n");
    symlinkSync(outside, paths.stateFile);
    symlinkSync(outside, paths.logFile);
    execFileSync("mkfifo", [join(paths.daemonDir, "pane-events")]);
    writeFileSync(paths.agentsFile, "{}");
    const removed = removeUnsafeDaemonFiles(daemonOwnedFiles(paths, 5));
    assert.deepEqual(removed.sort(), [
      "daemon/daemon.log was a symbolic link; removed it (townd never writes through one)",
      "daemon/pane-events was not a regular file; removed it (townd never writes through one)",
      "daemon/state.json was a symbolic link; removed it (townd never writes through one)",
    ]);
    assert.equal(readFileSync(outside, "utf8"), "precious\n");
    assert.equal(existsSync(paths.stateFile), false);
    assert.ok(lstatSync(paths.agentsFile).isFile());
  });
});
