import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  createSupervisedTown,
  isAlive,
  type PaneRow,
  type AgentStatusJson,
  type Json,
  type SupervisedTown,
} from "../../helpers/supervised-town.js";
import { eventRows } from "../../helpers/store.js";

/**
 * The operator commands on a real town (three simulated agents on a private tmux server, the built daemon):
 * `townd stop-agent`/`start-agent` (the hold outlives a daemon restart and is never a death), and
 * `townd down`/`up` (a plain `townd start` honours the town's stop), with and without a running daemon.
 * Mass death is at its default of 3, so stopping the three agents as deaths would raise one.
 */

const AGENTS = ["deacon", "r1/witness", "r1/refinery"];
const SESSIONS = ["hq-deacon", "gt-r1-witness", "gt-r1-refinery"];

function field(agent: AgentStatusJson, key: string): unknown {
  return (agent as unknown as Json)[key];
}

describe("townd stop-agent, start-agent, down and up", { timeout: 120_000 }, () => {
  let town: SupervisedTown;

  before(async () => {
    town = await createSupervisedTown({
      rigs: ["r1"],
      // A short heartbeat: "stays down" is checked across timer-driven passes as well as forced ones.
      settings: (s) => {
        s["operational"] = { daemon: { recovery_heartbeat_interval: "500ms", kill_grace_period: "2s" } };
      },
    });
    await town.start();
    await running(SESSIONS);
  });
  after(async () => {
    await town.cleanup();
  });

  /** Waits until each of `sessions` runs a live agent other than those in `old` (a start, not its start-up). */
  async function running(sessions: readonly string[], old: readonly PaneRow[] = []): Promise<void> {
    const gone = new Set(old.map((p) => p.generation));
    await town.waitForPanes(
      (panes) =>
        sessions.every((session) =>
          panes.some(
            (p) => p.session === session && !p.dead && p.generation !== "" && !gone.has(p.generation),
          ),
        ),
      30_000,
      `${sessions.join(", ")} running`,
    );
  }

  /** `sessions` stay gone over a few passes (forced and timed). */
  async function staysDown(sessions: readonly string[], passes = 3): Promise<void> {
    const from = town.snapshot().daemon.heartbeat_count;
    await town.forcePasses(from + passes, 15_000);
    const panes = await town.panes();
    for (const session of sessions)
      assert.ok(!panes.some((p) => p.session === session), `${session} stays down after ${passes} passes`);
  }

  /** Nothing the operator did was counted as a death, anywhere. */
  function noDeaths(): void {
    const status = town.snapshot();
    for (const identity of AGENTS) {
      const agent = town.agent(status, identity);
      assert.equal(agent.failures, 0, `${identity}: no death counted`);
      assert.equal(agent.restarts_auto, 0, `${identity}: no automatic restart`);
      assert.equal(field(agent, "last_death_at"), null, `${identity}: no death time`);
    }
    const alerts = eventRows(town).filter((e) => ["mass_death", "crash_loop"].includes(e.type));
    assert.deepEqual(alerts, [], "no mass death or crash loop alert");
  }

  it("stop-agent kills the agent's session; it stays down, shown as stopped by the operator", async () => {
    const before = await town.pane("gt-r1-witness");
    assert.ok(before !== undefined && !before.dead);
    const run = await town.townd(["stop-agent", "r1/witness"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stdout,
      "✓ r1/witness: kill (stopped by the operator; 'townd start-agent r1/witness' starts it)\n",
    );
    assert.equal(await town.pane("gt-r1-witness"), undefined, "gone when the command returns");
    assert.ok(!isAlive(before.pid), "its process is gone");
    await staysDown(["gt-r1-witness"]);
    const witness = town.agent(await town.status(), "r1/witness");
    assert.equal(witness.state, "stopped");
    assert.equal(field(witness, "held_by"), "operator");
    assert.equal(field(witness, "held_until"), null);
    assert.equal(
      field(witness, "last_reason"),
      "stopped by the operator; 'townd start-agent r1/witness' starts it",
    );
    const text = await town.townd(["status"]);
    assert.match(text.stdout, /^r1\/witness\s+gt-r1-witness\s+stopped \(stop-agent\)\s/m);
    noDeaths();
  });

  it("neither the agent's own cycle request nor `townd restart` brings it back", async () => {
    const request = await town.townd(["request", "cycle", "--as", "r1/witness"]);
    assert.equal(request.code, 0, request.stderr);
    const restart = await town.townd(["restart", "r1/witness"]);
    assert.equal(restart.code, 1);
    assert.equal(
      restart.stderr,
      "townd: r1/witness: restart not done: stopped by the operator; 'townd start-agent r1/witness' starts it\n",
    );
    await staysDown(["gt-r1-witness"]);
  });

  it("the hold outlives a daemon restart; stop-agent with no daemon running ends the session itself", async () => {
    const stop = await town.townd(["stop"]);
    assert.equal(stop.code, 0, stop.stderr);
    const refinery = await town.pane("gt-r1-refinery");
    const deacon = await town.pane("hq-deacon");
    assert.ok(refinery !== undefined, "a stopped daemon leaves the agents running");
    const run = await town.townd(["stop-agent", "r1/refinery"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stdout,
      "✓ r1/refinery: stopped; the daemon is not running, and keeps it down when it starts, until 'townd start-agent r1/refinery'\n",
    );
    assert.equal(await town.pane("gt-r1-refinery"), undefined);
    assert.ok(!isAlive(refinery.pid));
    await town.start();
    await staysDown(["gt-r1-witness", "gt-r1-refinery"], 4);
    const status = await town.status();
    for (const identity of ["r1/witness", "r1/refinery"]) {
      assert.equal(town.agent(status, identity).state, "stopped", identity);
      assert.equal(field(town.agent(status, identity), "held_by"), "operator", identity);
    }
    assert.notEqual(town.agent(status, "deacon").state, "stopped", "the others are not held");
    assert.equal((await town.pane("hq-deacon"))?.generation, deacon?.generation, "and were left alone");
    noDeaths();
  });

  it("start-agent brings each back as a new generation, running; still no death counted", async () => {
    for (const identity of ["r1/witness", "r1/refinery"]) {
      const run = await town.townd(["start-agent", identity]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(
        run.stdout,
        new RegExp(`^✓ ${identity}: spawn \\(start requested: townd start-agent\\)\\n$`),
      );
    }
    await running(["gt-r1-witness", "gt-r1-refinery"]);
    const status = await town.status();
    for (const identity of ["r1/witness", "r1/refinery"]) {
      assert.equal(field(town.agent(status, identity), "held_by"), null);
      assert.equal(town.agent(status, identity).restarts_manual, 1);
    }
    noDeaths();
  });

  it("down stops every agent and the daemon and leaves the intent; a plain start keeps the agents down", async () => {
    const pids = (await town.panes()).map((p) => p.pid);
    const down = await town.townd(["down"]);
    assert.equal(down.code, 0, down.stderr);
    const lines = down.stdout.split("\n");
    const said = `${down.stdout}${down.stderr}`;
    assert.match(lines[0] ?? "", /^✓ Daemon stopped \(was PID \d+\)$/, said);
    assert.match(lines[1] ?? "", /^✓ Stopped 3 agent\(s\): /, said);
    assert.deepEqual((lines[1] ?? "").replace(/^.*: /, "").split(", ").sort(), [...AGENTS].sort());
    assert.match(
      lines[2] ?? "",
      /^■ Town stopped \(the town was stopped by 'townd down' at \d{4}-\d\d-\d\dT[\d:.]+Z\): 'townd start' keeps every agent down; 'townd up' starts the town$/,
    );
    assert.deepEqual(await town.panes(), [], `no session left; down said: ${said}`);
    for (const pid of pids) assert.ok(!isAlive(pid), `process ${pid} gone; down said: ${said}`);
    assert.ok(existsSync(join(town.root, "daemon", "town-stopped.json")));
    assert.equal(town.snapshot().daemon.running, false, said);

    const start = await town.townd(["start"]);
    assert.equal(start.code, 0, start.stderr);
    assert.match(
      start.stdout + start.stderr,
      /^✓ Daemon started \(PID \d+\)\n■ the town was stopped by 'townd down' at \S+: every agent stays down until 'townd up'\n$/,
    );
    await staysDown(SESSIONS, 4);
    const status = (await town.status()) as unknown as Json & { agents: AgentStatusJson[] };
    const stopped = status["town_stopped"] as Json;
    assert.equal(stopped["by"], "townd down");
    assert.match(String(stopped["since"]), /^\d{4}-/);
    for (const identity of AGENTS) {
      assert.equal(town.agent(status as never, identity).state, "stopped", identity);
      assert.equal(field(town.agent(status as never, identity), "held_by"), "town-stopped", identity);
    }
    const text = await town.townd(["status"]);
    assert.match(
      text.stdout,
      /■ Town stopped by 'townd down' at \S+ \(.* ago\): agents stay down until 'townd up'/,
    );
    const refused = await town.townd(["start-agent", "deacon"]);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /^townd: Cannot start deacon: the town was stopped by 'townd down' at \S+; 'townd up' starts the town\n$/,
    );
    noDeaths();
  });

  it("up lifts the stop and starts every agent, with no death counted", async () => {
    const run = await town.townd(["up"]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.split("\n");
    assert.match(lines[0] ?? "", /^● Daemon already running \(PID \d+\)$/);
    assert.match(lines[1] ?? "", /^✓ Starting 3 agent\(s\): /);
    assert.ok(!existsSync(join(town.root, "daemon", "town-stopped.json")));
    await running(SESSIONS);
    assert.equal(((await town.status()) as unknown as Json)["town_stopped"], null);
    noDeaths();
  });

  it("down with no daemon running ends the sessions itself; up then starts the daemon and the agents", async () => {
    const stop = await town.townd(["stop"]);
    assert.equal(stop.code, 0, stop.stderr);
    const down = await town.townd(["down"]);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /^○ Daemon was not running\n✓ Stopped 3 agent\(s\): /);
    assert.deepEqual(await town.panes(), []);
    const up = await town.townd(["up"]);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, /^✓ Daemon started \(PID \d+\)\n✓ Starting 3 agent\(s\): /);
    await running(SESSIONS);
    noDeaths();
  });
});
