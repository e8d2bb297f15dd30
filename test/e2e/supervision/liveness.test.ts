import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  childPids,
  CLI_MAIN,
  createSupervisedTown,
  type StatusJson,
  type SupervisedTown,
} from "../../helpers/supervised-town.js";

/**
 * I2 on a real tmux server: a healthy agent is never replaced, whatever tmux shows as its pane command —
 * Claude's native title `2.1.7` (#566: 812 sessions in four days), `node`, `claude`, a custom runtime's own
 * name, or a shell with the agent running below it (B49, B115).
 */

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** Who runs under which title, and what tmux must show for its pane. */
const CASES = [
  { identity: "deacon", session: "hq-deacon", command: "2.1.7" },
  { identity: "mayor", session: "hq-mayor", command: "node" },
  { identity: "r1/witness", session: "gt-r1-witness", command: "claude" },
  { identity: "r1/refinery", session: "gt-r1-refinery", command: "myagent" },
  { identity: "r2/witness", session: "gt-r2-witness", command: "bash" },
  { identity: "r2/refinery", session: "gt-r2-refinery", command: "2.1.7" },
] as const;

describe(
  "liveness: healthy agents under every title survive 20 passes (I2, B49, B115, #566)",
  { timeout: 90_000 },
  () => {
    let town: SupervisedTown;
    let first: StatusJson;

    before(async () => {
      town = await createSupervisedTown({
        rigs: ["r1", "r2"],
        patrols: { mayor: { enabled: true } },
        settings: (s, h) => {
          const daemon = { recovery_heartbeat_interval: "300ms" };
          s["operational"] = { daemon };
          s["agents"] = {
            ...(s["agents"] as object),
            asnode: h.simRuntime(["--title", "node"], { process_names: ["node"] }),
            asclaude: h.simRuntime(["--title", "claude"], { process_names: ["claude"] }),
            custom: h.simRuntime(["--title", "myagent"], { process_names: ["myagent"] }),
            // The shell stays the pane's process (the agent is not its last command, so it is not exec'd).
            shelled: {
              command: "bash",
              args: [
                "-c",
                `${shellQuote(process.execPath)} ${shellQuote(CLI_MAIN)} sim-agent --log ${shellQuote(h.simLog)}; true`,
              ],
              process_names: ["2.1.7"],
              profile: "claude",
              ready_timeout: "20s",
            },
          };
          s["role_agents"] = { mayor: "asnode" };
        },
        rigSettings: {
          r1: () => ({ role_agents: { witness: "asclaude", refinery: "custom" } }),
          r2: () => ({ role_agents: { witness: "shelled" } }),
        },
      });
      await town.start();
      first = await town.waitFor(
        (s) => s.daemon.heartbeat_count >= 1 && s.agents.filter((a) => a.generation !== null).length === 6,
        15_000,
        "the first pass to start six agents",
      );
    });
    after(async () => {
      await town.cleanup();
    });

    it("shows each title to tmux, and keeps every agent through 20 more passes with zero restarts", async () => {
      const generations = new Map(first.agents.map((a) => [a.identity, a.generation]));
      // Status pids come from the pass's observation (taken before the spawns): read the panes instead.
      const pids = new Map((await town.panes()).map((p) => [p.identity, p.pid]));
      assert.equal(pids.size, 6);

      // Passes while the agents are still starting (a shell before its child exists, a node not yet titled) …
      await town.forcePasses(12, 20_000);
      const panes = await town.waitForPanes(
        (ps) => CASES.every((c) => ps.find((p) => p.session === c.session)?.command === c.command),
        20_000,
        "every pane to show its agent's title",
      );
      await town.waitFor(
        (s) => s.agents.filter((a) => a.state === "running").length === 6,
        30_000,
        "every start-up sequence to complete",
      );
      // … and with every agent settled: at least 20 passes after the first in all.
      const settled = town.snapshot().daemon.heartbeat_count;
      const status = await town.forcePasses(Math.max(21, settled + 8), 20_000);
      assert.ok(status.daemon.heartbeat_count >= 21, `heartbeat_count ${status.daemon.heartbeat_count}`);

      for (const c of CASES) {
        const pane = panes.find((p) => p.session === c.session);
        assert.ok(pane !== undefined, `${c.session} exists`);
        assert.equal(pane.command, c.command, `${c.session} shows ${c.command}`);
        const now = (await town.pane(c.session))?.pid;
        assert.equal(now, pids.get(c.identity), `${c.identity} kept its pane process`);
        const agent = town.agent(await town.status(), c.identity);
        assert.equal(agent.generation, generations.get(c.identity), `${c.identity} kept its generation`);
        assert.equal(agent.restarts, 0, `${c.identity} was never restarted`);
        assert.equal(agent.state, "running");
      }

      // The shell case really is a shell with the agent as its child.
      const shell = panes.find((p) => p.session === "gt-r2-witness");
      assert.ok(shell !== undefined);
      const children = childPids(shell.pid);
      assert.equal(children.length, 1, "bash has one child, the agent");
      const agentStart = town.simEntries().find((e) => e.type === "start" && e.identity === "r2/witness");
      assert.equal(agentStart?.pid, children[0]);

      // One start per agent in the agents' own log, and nothing spawned, respawned or killed after pass #1.
      const starts = town.simEntries().filter((e) => e.type === "start");
      assert.deepEqual(starts.map((e) => e.identity).sort(), CASES.map((c) => c.identity).sort());
      const upToFirst = await town.waitForLog((r) => r.msg === "Heartbeat complete (#1)", 10_000, "pass #1");
      const later = town.log().slice(upToFirst.length);
      const acted = later.filter(
        (r) =>
          r.msg.startsWith("Started ") ||
          r.msg.startsWith("Killed ") ||
          (r.action !== undefined && ["spawn", "respawn", "kill"].includes(r.action)),
      );
      assert.deepEqual(acted, [], "no spawn, respawn or kill after the first pass");
    });
  },
);
