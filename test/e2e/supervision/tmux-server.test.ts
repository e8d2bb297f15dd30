import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { after, before, describe, it } from "node:test";
import {
  assertRespawnLatency,
  createSupervisedTown,
  startedPatrolTown,
  killAndMeasureOnQuietMachine,
  isAlive,
  sessionNames,
  townProcessPids,
  type SupervisedTown,
} from "../../helpers/supervised-town.js";

/**
 * The town's tmux server itself: killed under the daemon, it is started again (with townd's settings and the
 * pane-died hook) at the next pass and every agent comes back; with no tmux at all, `townd start` fails
 * clearly and leaves nothing behind.
 */

describe("the tmux server is killed while agents run", { timeout: 60_000 }, () => {
  let town: SupervisedTown;

  before(async () => {
    town = await startedPatrolTown({ rigs: ["r1"] });
  });
  after(async () => {
    await town.cleanup();
  });

  it("starts the server again at the next pass (SIGUSR1) and brings every agent back", async (t) => {
    const before = await town.panes();
    assert.equal(before.length, 3);
    // Kill it while the daemon is idle; a pass that races the teardown is the todo below.
    await town.waitForQuiet(500, 10_000);
    const killed = await town.tmux(["kill-server"]);
    assert.equal(killed.code, 0, killed.stderr);
    await town.waitForPanes((ps) => ps.length === 0, 5000, "the server to be gone");
    for (const pane of before) {
      const deadline = Date.now() + 5000;
      while (isAlive(pane.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      assert.equal(isAlive(pane.pid), false, `${pane.session}'s agent died with its server`);
    }

    const signalledAt = performance.now();
    town.signal("SIGUSR1");
    const after = await town.waitForPanes(
      (ps) => ps.length === 3 && ps.every((p) => !p.dead),
      10_000,
      "every agent to be back",
    );
    t.diagnostic(`SIGUSR1 -> all three agents back: ${(performance.now() - signalledAt).toFixed(0)} ms`);
    assert.deepEqual(sessionNames(after), ["gt-r1-refinery", "gt-r1-witness", "hq-deacon"]);
    for (const pane of after) {
      const old = before.find((p) => p.session === pane.session);
      assert.notEqual(pane.generation, old?.generation, `${pane.session} is a new generation`);
      assert.notEqual(pane.pid, old?.pid);
    }
    assert.ok(town.log().some((r) => r.msg === "tmux server is not running; starting it"));
    const generations = new Set(after.map((p) => p.generation));
    await town.waitFor(
      (s) =>
        s.agents.filter((a) => a.state === "running" && generations.has(a.generation ?? "")).length === 3,
      30_000,
      "every new agent to finish its start-up sequence",
    );
    const titled = await town.waitForPanes((ps) => ps.every((p) => p.command === "2.1.7"), 5000, "titles");
    assert.equal(titled.length, 3);

    // The new server has townd's settings: remain-on-exit and the pane-died hook.
    const option = await town.tmux(["show-options", "-gwv", "remain-on-exit"]);
    assert.equal(option.stdout.trim(), "on");
    const hooks = await town.tmux(["show-hooks", "-gw"]);
    assert.match(hooks.stdout, /^pane-died\[0\] run-shell -b .*daemon\/pane-events/m);

    // A server loss is not an agent death (no mass death, no failure streak), so the hook-driven respawn
    // of the next real death is immediate.
    const status = town.snapshot();
    assert.deepEqual(
      status.agents.filter((a) => a.failures > 0).map((a) => `${a.identity}: ${a.last_exit ?? ""}`),
      [],
      "no agent was charged a death for the server going away",
    );
    assert.ok(!town.log().some((r) => r.msg.startsWith("ALERT mass_death")), "no mass-death alert");
    const note = (text: string): void => {
      t.diagnostic(`on the restarted server: ${text}`);
    };
    const attempts = await killAndMeasureOnQuietMachine(
      town,
      ["gt-r1-witness", "hq-deacon"],
      async () => {
        await town.waitFor((s) => town.agent(s, "r1/witness").state === "running", 20_000, "the witness");
      },
      note,
    );
    for (const attempt of attempts.slice(0, -1)) assertRespawnLatency(attempt, note, 2000, false);
    const m = attempts[attempts.length - 1];
    assert.ok(m !== undefined);
    assertRespawnLatency(m, note);
    assert.notEqual(m.after.generation, m.before.generation);
  });

  it(
    "does not count a tmux server kill as agent deaths when a pass races the server's teardown",
    {},
    async () => {
      // Passes as fast as the daemon runs them, across six server kills (each has a small race window).
      const failures = (): Record<string, number> =>
        Object.fromEntries(town.snapshot().agents.map((a) => [a.identity, a.failures]));
      const massDeaths = (): number => town.log().filter((r) => r.msg.startsWith("ALERT mass_death")).length;
      for (let round = 0; round < 6; round++) {
        await town.waitFor(
          (s) => s.agents.filter((a) => a.state === "running" || a.state === "starting").length === 3,
          20_000,
        );
        const before = failures();
        const alerts = massDeaths();
        const spam = setInterval(() => {
          town.signal("SIGUSR1");
        }, 3);
        await new Promise((r) => setTimeout(r, 50));
        await town.tmux(["kill-server"]);
        await new Promise((r) => setTimeout(r, 300));
        clearInterval(spam);
        await town.waitForPanes((ps) => ps.length === 3 && ps.every((p) => !p.dead), 10_000, "agents back");
        assert.equal(massDeaths(), alerts, `round ${round}: the server kill raised a mass_death alert`);
        assert.deepEqual(failures(), before, `round ${round}: the server kill was charged as deaths`);
      }
    },
  );
});

describe("tmux is not installed", { timeout: 30_000 }, () => {
  let town: SupervisedTown;
  let bin: string;

  before(async () => {
    town = await createSupervisedTown({ rigs: ["r1"] });
    // A PATH with node and nothing else.
    bin = join(town.root, "bin");
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, "node"));
  });
  after(async () => {
    await town.cleanup();
  });

  /** The environment of a shell whose PATH is `dir` alone. */
  const pathOnly = (dir: string): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: dir, SUPERVISED_TOWN: town.root };
    delete env["TMUX"];
    delete env["TMUX_PANE"];
    delete env["TOWND_ROOT"];
    delete env["GT_TOWN_ROOT"];
    return env;
  };

  /** Waits until no process of the town is left and the daemon's files say it is not running. */
  const assertNothingLeft = async (): Promise<void> => {
    const deadline = Date.now() + 5000;
    while (townProcessPids(town.root).length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.deepEqual(townProcessPids(town.root), [], "no process of the town is left");
    assert.equal(existsSync(join(town.root, "daemon", "daemon.pid")), false, "no PID file");
    assert.equal(existsSync(town.socket), false, "no tmux server was started");
    const status = await town.status();
    assert.equal(status.daemon.running, false);
    assert.equal(status.daemon.pid, null);
    assert.equal(status.agents.length, 0);
    assert.equal(town.readJson("daemon/state.json")["running"], false);
  };

  it("makes `townd start` fail with exit 1 and a message about tmux, leaving nothing running", async () => {
    const result = await town.townd(["start"], { env: pathOnly(bin) });
    assert.equal(result.code, 1, `exit code; stdout: ${result.stdout}; stderr: ${result.stderr}`);
    assert.doesNotMatch(result.stdout, /Daemon started/);
    assert.match(result.stderr, /Daemon failed to start/);
    assert.match(result.stderr, /Cannot supervise agents: .*cannot run "tmux": not found on PATH/);
    await assertNothingLeft();
    // A second attempt finds no stale lock or PID file in its way and fails the same way.
    const again = await town.townd(["start"], { env: pathOnly(bin) });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /tmux/);
    await assertNothingLeft();
  });

  it("fails the same way when tmux is there but broken and slow to say so (no 'started' for a dying daemon)", async () => {
    // A tmux that takes 300 ms to fail: before 4e1e8b9, `townd start` reported such a daemon as started.
    const slow = join(town.root, "slow");
    mkdirSync(slow);
    symlinkSync(process.execPath, join(slow, "node"));
    writeFileSync(
      join(slow, "tmux"),
      `#!${process.execPath}\nsetTimeout(() => { process.stderr.write("tmux: simulated failure\\n"); process.exit(1); }, 300);\n`,
      { mode: 0o755 },
    );
    const result = await town.townd(["start"], { env: pathOnly(slow) });
    assert.equal(result.code, 1, `townd start said: ${result.stdout.trim()}`);
    assert.match(result.stderr, /tmux: simulated failure/);
    await assertNothingLeft();
  });

  it("records why it stopped in daemon/daemon.log, not only in startup.log", {}, () => {
    const log = readFileSync(join(town.root, "daemon", "daemon.log"), "utf8");
    assert.match(log, /tmux/i);
  });
});
