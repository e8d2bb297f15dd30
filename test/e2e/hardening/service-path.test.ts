import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { lines, townd } from "../../helpers/cli.js";
import { makeTempDir } from "../../helpers/tmp.js";

/** Issue 14 item 18: a newline in the town path wrote a directive of the path's choosing into the unit. */
describe("townd service install and a town path with a newline", { timeout: 60_000 }, () => {
  const temp = makeTempDir("td-svc-");
  after(() => {
    temp.cleanup();
  });

  it("is refused with one line naming the path; no unit is written or printed", async () => {
    const root = join(temp.dir, "t\nExecStartPre=/bin/touch /tmp/pwned\n#");
    const init = await townd(["init", root, "--name", "t"]);
    assert.equal(init.code, 0, init.stderr);
    const xdg = join(temp.dir, "xdg");
    for (const args of [
      ["service", "install"],
      ["service", "install", "--print"],
    ]) {
      const run = await townd(["--town", root, ...args], { env: { XDG_CONFIG_HOME: xdg } });
      assert.equal(run.code, 1, `${args.join(" ")}: ${run.stdout}${run.stderr}`);
      assert.equal(run.stdout, "", "nothing printed");
      assert.deepEqual(lines(run.stderr), [
        `townd: Cannot write a systemd unit: the town path ${JSON.stringify(root)} contains a newline or another control character`,
      ]);
    }
    assert.equal(existsSync(xdg) ? readdirSync(join(xdg, "systemd", "user")).length : 0, 0, "no unit file");
  });
});
