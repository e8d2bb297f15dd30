import assert from "node:assert/strict";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import { after, describe, it } from "node:test";
import { daemonPidsOf, lines, type TestTown } from "../../helpers/cli.js";
import { defaultSocketTown, uid } from "./_helpers.js";

/**
 * Issue 14 item 1: with the default socket ($TMUX_TMPDIR/tmux-$UID/…), a socket directory that another user
 * made, or left open to everyone, hands them the town's tmux server. townd start must refuse it in one line.
 */

describe("townd start and an unsafe tmux socket directory", { timeout: 60_000 }, () => {
  const towns: TestTown[] = [];
  after(async () => {
    for (const town of towns) await town.cleanup();
  });

  it("a tmux-$UID directory with mode 0777 is refused with one line; no daemon, no server", async () => {
    const town = await defaultSocketTown();
    towns.push(town);
    const dir = town.file(`tmux-${uid}`);
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    const result = await town.run(["start"]);
    assert.equal(result.code, 1, `stdout=${result.stdout} stderr=${result.stderr}`);
    assert.deepEqual(lines(result.stderr), [
      `townd: Unsafe tmux socket directory ${dir}: its mode is 0777; it must give group and others no access (chmod 700)`,
    ]);
    assert.deepEqual(daemonPidsOf(town.root), []);
    assert.deepEqual(readdirSync(dir), [], "no tmux server socket was created");
  });

  it(
    "a tmux-$UID directory owned by another user is refused",
    { skip: uid !== 0 && "needs root to chown" },
    async () => {
      const town = await defaultSocketTown();
      towns.push(town);
      const dir = town.file(`tmux-${uid}`);
      mkdirSync(dir, { mode: 0o700 });
      chownSync(dir, 65534, 65534);
      try {
        const result = await town.run(["start"]);
        assert.equal(result.code, 1, `stdout=${result.stdout} stderr=${result.stderr}`);
        assert.match(
          result.stderr,
          new RegExp(`Unsafe tmux socket directory ${dir}: it is owned by uid 65534`),
        );
        assert.deepEqual(daemonPidsOf(town.root), []);
      } finally {
        chownSync(dir, uid, uid);
      }
    },
  );

  it("a daemon started anyway (townd run) refuses too, and logs why", async () => {
    const town = await defaultSocketTown();
    towns.push(town);
    const dir = town.file(`tmux-${uid}`);
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    const result = await town.run(["run"], { timeoutMs: 20_000 });
    assert.notEqual(result.code, 0);
    assert.match(
      readFileSync(town.file("daemon", "daemon.log"), "utf8"),
      /Unsafe tmux socket directory .*its mode is 0755/,
    );
    assert.deepEqual(readdirSync(dir), []);
  });

  it("a missing tmux-$UID directory is created 0700 and the daemon starts", async () => {
    const town = await defaultSocketTown();
    towns.push(town);
    const result = await town.run(["start"]);
    assert.equal(result.code, 0, result.stderr);
    const dir = town.file(`tmux-${uid}`);
    assert.ok(existsSync(dir));
    const status = JSON.parse((await town.run(["status", "--json"])).stdout) as { tmux: { socket: string } };
    assert.ok(status.tmux.socket.startsWith(`${dir}/townd-`), status.tmux.socket);
  });
});
