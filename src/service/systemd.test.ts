import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AppError } from "../errors.js";
import { systemdUnit } from "./systemd.js";

const base = {
  townRoot: "/home/ann/gt",
  node: "/usr/bin/node",
  main: "/opt/townd/main.js",
  path: "/usr/bin:/bin",
};

describe("systemdUnit (issue 14 item 18)", () => {
  it("a newline in the town path cannot inject a directive: refused with one line", () => {
    const townRoot = "/tmp/t\nExecStartPre=/bin/touch /tmp/pwned\n#";
    assert.throws(
      () => systemdUnit({ ...base, townRoot }),
      (error: unknown) =>
        error instanceof AppError &&
        error.message ===
          'Cannot write a systemd unit: the town path "/tmp/t\\nExecStartPre=/bin/touch /tmp/pwned\\n#" contains a newline or another control character',
    );
  });

  it("every value that goes into the unit is checked, and any control character counts", () => {
    for (const [key, value] of [
      ["node", "/usr/bin/no\rde"],
      ["main", "/opt/x\u0000.js"],
      ["path", "/usr/bin\n[Service]"],
      ["townRoot", "/tmp/a\u007fb"],
    ] as const) {
      assert.throws(
        () => systemdUnit({ ...base, [key]: value }),
        /contains a newline or another control character/,
      );
    }
  });

  it("an ordinary path (spaces, quotes, % and $ included) still makes a unit", () => {
    const unit = systemdUnit({ ...base, townRoot: `/tmp/my "town" 100% $HOME` });
    assert.match(unit, /--town "\/tmp\/my \\"town\\" 100%% \$\$HOME" run/);
    assert.equal(unit.split("\n").filter((line) => line.startsWith("ExecStart")).length, 1);
  });
});
