import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startPrivateTmux, tmuxSkipReason, type PrivateTmux } from "../../test/helpers/tmux.js";
import { makeTempDir } from "../../test/helpers/tmp.js";
import { waitFor } from "../util/sleep.js";
import { watchFreedTerminals } from "./pty-watch.js";

const skip = await tmuxSkipReason();

describe("watchFreedTerminals", () => {
  it("reports an entry that went away, not one that came", async () => {
    const { dir, cleanup } = makeTempDir("pty-watch-");
    try {
      let freed = 0;
      const watcher = watchFreedTerminals(() => (freed += 1), dir);
      assert.ok(watcher !== null);
      writeFileSync(join(dir, "7"), "");
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(freed, 0, "a new terminal is no news");
      rmSync(join(dir, "7"));
      assert.equal(await waitFor(() => (freed > 0 ? freed : undefined), { timeoutMs: 2000 }), 1);
      watcher.close();
    } finally {
      cleanup();
    }
  });

  it("is null, not an error, where the directory cannot be watched", () => {
    assert.equal(
      watchFreedTerminals(() => undefined, "/nonexistent/pts"),
      null,
    );
  });

  describe("on a private tmux server", { skip }, () => {
    let tmux: PrivateTmux;
    before(async () => {
      tmux = await startPrivateTmux();
      await tmux.client.ensureServer();
    });
    after(async () => {
      await tmux.cleanup();
    });

    it("hears a pane's terminal freed when its process is killed", async () => {
      await tmux.client.newSession({
        name: "dies",
        cwd: tmux.dir,
        argv: ["sleep", "100000"],
        env: {},
        generation: "g1",
        identity: "rig/witness",
      });
      const pane = (await tmux.client.snapshot()).panes.find((p) => p.session === "dies");
      assert.ok(pane !== undefined);
      let freed = 0;
      const watcher = watchFreedTerminals(() => (freed += 1));
      assert.ok(watcher !== null, "/dev/pts can be watched here");
      process.kill(pane.panePid, "SIGKILL");
      // Whether tmux reaped it or lost its SIGCHLD, the terminal is freed when tmux sees the process gone.
      assert.ok((await waitFor(() => (freed > 0 ? true : undefined), { timeoutMs: 3000 })) === true);
      watcher.close();
      await tmux.client.killSession("dies");
    });
  });
});
