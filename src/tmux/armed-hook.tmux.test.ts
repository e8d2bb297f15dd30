import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startPrivateTmux, tmuxSkipReason, type PrivateTmux } from "../../test/helpers/tmux.js";
import { paneDiedHook } from "../supervisor/pane-died-hook.js";
import { waitFor } from "../util/sleep.js";
import { armCommand, disarmCommand, parseArmedExit } from "./armed-hook.js";
import type { TmuxClient } from "./client.js";
import type { PaneInfo } from "./types.js";

const skip = await tmuxSkipReason();

/** Writes its generation and its hostile argument to a file named after its pid, then stays alive. */
const AGENT = `
require("node:fs").writeFileSync(process.argv[2] + "/" + process.pid, JSON.stringify({ gen: process.env.GEN, arg: process.argv[3] }));
console.log("agent " + process.env.GEN + " up");
setInterval(() => {}, 60_000);
`;

describe("armed pane-died hooks on a private tmux server", { skip }, () => {
  let tmux: PrivateTmux;
  let client: TmuxClient;
  let events: string;
  let script: string;
  const hostile = `x'; touch /tmp/pwned-armed; echo "#{session_name}" $HOME {;}`;

  const pane = async (session: string): Promise<PaneInfo | undefined> =>
    (await client.snapshot()).panes.find((entry) => entry.session === session);
  const livePane = async (session: string, generation: string): Promise<PaneInfo> => {
    const found = await waitFor(
      async () => {
        const entry = await pane(session);
        return entry !== undefined && !entry.dead && entry.generation === generation ? entry : undefined;
      },
      { timeoutMs: 5000, intervalMs: 10 },
    );
    assert.ok(found, `${session} never ran generation ${generation}`);
    return found;
  };
  /** What the agent in `pid` wrote once it ran (its output is on screen by then). */
  const agentFile = async (pid: number): Promise<{ gen: string; arg: string }> => {
    const written = await waitFor(
      () => {
        try {
          return JSON.parse(readFileSync(join(tmux.dir, String(pid)), "utf8")) as {
            gen: string;
            arg: string;
          };
        } catch {
          return undefined;
        }
      },
      { timeoutMs: 5000 },
    );
    assert.ok(written, `agent ${pid} never ran`);
    return written;
  };
  const spawn = (generation: string) => ({
    cwd: tmux.dir,
    argv: [process.execPath, script, tmux.dir, hostile],
    env: { GEN: generation },
    generation,
  });

  before(async () => {
    tmux = await startPrivateTmux();
    client = tmux.client;
    events = join(tmux.dir, "pane-events");
    script = join(tmux.dir, "agent.cjs");
    writeFileSync(script, AGENT);
    writeFileSync(events, "");
    await client.ensureServer({ paneDiedHook: paneDiedHook(events) });
  });

  after(async () => {
    await tmux.cleanup();
  });

  it("respawns a killed agent with the armed generation, once, within the town's allowance", async () => {
    await client.newSession({ name: "armed", ...spawn("g1"), identity: "rig/witness" });
    const first = await livePane("armed", "g1");
    await agentFile(first.panePid);
    await client.armed.setLimit(1);
    await client.armed.setArming(armCommand("armed", spawn("g2"), paneDiedHook(events)));
    process.kill(first.panePid, "SIGKILL");
    const second = await livePane("armed", "g2");
    assert.notEqual(second.panePid, first.panePid);
    assert.deepEqual(
      await agentFile(second.panePid),
      { gen: "g2", arg: hostile },
      "the argv and env reach the agent unchanged",
    );
    assert.equal(await client.armed.fired(), 1);
    assert.equal(await client.armed.takeExit("armed"), null, "killed by a signal");
    assert.match((await client.armed.takeLines("armed")) ?? "", /agent g1 up/);
    assert.equal(await client.armed.takeExit("armed"), undefined, "read once");
    assert.equal(await client.armed.takeLines("armed"), undefined, "read once");
    assert.ok(
      (await waitFor(() => (readFileSync(events, "utf8").includes("%") ? true : undefined), {
        timeoutMs: 2000,
      })) === true,
      "the daemon is woken for an armed respawn too",
    );

    // Fired once: the hook is gone, so the next death is the daemon's to answer (the pane stays dead).
    process.kill(second.panePid, "SIGKILL");
    const dead = await waitFor(async () => ((await pane("armed"))?.dead === true ? true : undefined), {
      timeoutMs: 5000,
    });
    assert.equal(dead, true);
    assert.equal((await pane("armed"))?.generation, "g2");
    assert.equal(await client.armed.fired(), 1);
    await client.killSession("armed");
  });

  it("answers no death beyond the allowance, and none once disarmed", async () => {
    await client.newSession({ name: "spent", ...spawn("s1"), identity: "rig/refinery" });
    await client.newSession({ name: "off", ...spawn("o1"), identity: "rig2/witness" });
    const spent = await livePane("spent", "s1");
    const off = await livePane("off", "o1");
    const fired = await client.armed.fired();
    await client.armed.setLimit(fired); // nothing left to spend
    await client.armed.setArming(armCommand("spent", spawn("s2"), paneDiedHook(events)));
    await client.armed.setArming(armCommand("off", spawn("o2"), paneDiedHook(events)));
    const staysDead = async (session: string): Promise<void> => {
      const dead = await waitFor(async () => ((await pane(session))?.dead === true ? true : undefined), {
        timeoutMs: 5000,
      });
      assert.equal(
        dead,
        true,
        `${session} must stay dead for the daemon: ${JSON.stringify(await pane(session))}`,
      );
    };
    process.kill(spent.panePid, "SIGKILL");
    await staysDead("spent");
    // One respawn allowed now, but "off" is disarmed: its death is the daemon's.
    await client.armed.setArming(disarmCommand("off"));
    await client.armed.setLimit(fired + 1);
    process.kill(off.panePid, "SIGKILL");
    await staysDead("off");
    assert.equal((await pane("spent"))?.generation, "s1");
    assert.equal((await pane("off"))?.generation, "o1");
    assert.equal(await client.armed.fired(), fired);
    await client.killSession("spent");
    await client.killSession("off");
  });

  it("fails alone for a session that is gone", async () => {
    await assert.rejects(client.armed.setArming(disarmCommand("nosuch")), /nosuch|can't find|no server/i);
  });

  it("reads the exit an armed hook left", () => {
    assert.equal(parseArmedExit("1 \n"), 1);
    assert.equal(parseArmedExit("0 "), 0);
    assert.equal(parseArmedExit(" 9\n"), null, "a signal");
    assert.equal(parseArmedExit(""), undefined);
    assert.equal(parseArmedExit(" "), undefined);
    assert.equal(parseArmedExit("garbage"), undefined);
  });
});
