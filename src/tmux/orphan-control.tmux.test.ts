import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { startPrivateTmux, tmuxSkipReason, type PrivateTmux } from "../../test/helpers/tmux.js";
import { isAlive } from "../proc/tree.js";
import { waitFor } from "../util/sleep.js";
import { CONTROL_OWNER_ENV, endOrphanedControlClients, orphanedControlClients } from "./orphan-control.js";

const skip = await tmuxSkipReason();

describe("control clients a killed daemon left behind", { skip }, () => {
  let tmux: PrivateTmux;
  let other: PrivateTmux;
  const started: ChildProcess[] = [];
  /** A PID that no process has any more: the owner of an orphan. */
  let deadOwner = 0;

  /** A `tmux -C` client on `socket` marked as `owner`'s, as control.ts starts one; attached when it returns. */
  const controlClient = async (socket: string, owner: number): Promise<number> => {
    const child = spawn(
      "tmux",
      ["-u", "-S", socket, "-f", "/dev/null", "-N", "-C", "attach-session", "-f", "no-output,ignore-size"],
      { stdio: ["pipe", "pipe", "ignore"], env: { ...process.env, [CONTROL_OWNER_ENV]: String(owner) } },
    );
    started.push(child);
    await new Promise<void>((resolve) => {
      child.stdout.once("data", () => {
        resolve();
      });
    });
    assert.ok(child.pid !== undefined);
    return child.pid;
  };

  before(async () => {
    tmux = await startPrivateTmux();
    other = await startPrivateTmux();
    for (const server of [tmux, other])
      await server.client.newSession({
        name: "a",
        cwd: server.dir,
        argv: ["sleep", "600"],
        env: {},
        generation: "g",
        identity: "a",
      });
    const done = spawnSync("true");
    deadOwner = done.pid;
    assert.ok(deadOwner > 0 && !isAlive(deadOwner));
  });
  after(async () => {
    for (const child of started) if (child.pid !== undefined && isAlive(child.pid)) child.kill("SIGKILL");
    await tmux.cleanup();
    await other.cleanup();
  });

  it("finds only the clients on this socket whose daemon is gone, and ends them", async () => {
    const orphan = await controlClient(tmux.socket, deadOwner);
    const owned = spawn("sleep", ["600"]);
    started.push(owned);
    assert.ok(owned.pid !== undefined);
    const live = await controlClient(tmux.socket, owned.pid);
    const mine = await controlClient(tmux.socket, process.pid);
    const elsewhere = await controlClient(other.socket, deadOwner);

    assert.deepEqual(orphanedControlClients(tmux.socket), [orphan]);
    assert.deepEqual(endOrphanedControlClients(tmux.socket), [orphan]);
    const gone = await waitFor(() => (isAlive(orphan) ? undefined : true), {
      timeoutMs: 5000,
      intervalMs: 10,
    });
    assert.equal(gone, true, "the orphan was ended");
    for (const pid of [live, mine, elsewhere]) assert.ok(isAlive(pid), `${pid} was left alone`);
    assert.deepEqual(orphanedControlClients(tmux.socket), [], "nothing left to end");
    // The server and its session are untouched.
    assert.equal(await tmux.client.hasSession("a"), true);
  });
});
