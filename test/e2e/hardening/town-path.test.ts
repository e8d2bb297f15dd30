import assert from "node:assert/strict";
import { rmSync, symlinkSync } from "node:fs";
import { after, describe, it } from "node:test";
import { daemonPidsOf, startedPid, type TestTown } from "../../helpers/cli.js";
import { defaultSocketTown, killTownServers, townSockets } from "./_helpers.js";

/**
 * Issue 14 item 8: the socket name hashes the town root, so the same town named by a symlink got a second
 * tmux server (and a second set of agents). The root is resolved once, with realpath.
 */
describe("one town reached by two paths", { timeout: 60_000 }, () => {
  let town: TestTown | undefined;
  let link = "";
  after(async () => {
    if (town === undefined) return;
    // Also through the link: a daemon that took the link for its root is not found by the root's cleanup.
    await town.run(["--town", link, "stop", "--timeout", "5s"]).catch(() => undefined);
    killTownServers(town);
    rmSync(link, { force: true });
    await town.cleanup();
  });

  it("stop through the real path, start through a symlink: the same socket, one server, one daemon", async () => {
    town = await defaultSocketTown();
    link = `${town.root}-link`;
    symlinkSync(town.root, link);

    const first = await town.run(["--town", town.root, "start"]);
    assert.equal(startedPid(first.stdout)?.outcome, "started", first.stderr);
    const before = JSON.parse((await town.run(["status", "--json"])).stdout) as { tmux: { socket: string } };
    assert.equal((await town.run(["--town", town.root, "stop"])).code, 0);

    const second = await town.run(["--town", link, "start"]);
    assert.equal(startedPid(second.stdout)?.outcome, "started", second.stderr);
    const viaLink = JSON.parse((await town.run(["--town", link, "status", "--json"])).stdout) as {
      tmux: { socket: string };
    };
    assert.equal(viaLink.tmux.socket, before.tmux.socket, "the daemon uses the same socket");
    assert.deepEqual(townSockets(town), [before.tmux.socket], "one tmux server");
    assert.equal(daemonPidsOf(town.root).length, 1, "one daemon, found by the town's real path");
    const again = await town.run(["--town", link, "start"]);
    assert.equal(startedPid(again.stdout)?.outcome, "already");
  });
});
