import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  createSupervisedTown,
  isAlive,
  type Json,
  type StatusJson,
  type SupervisedTown,
} from "../../helpers/supervised-town.js";
import {
  ANSI,
  api,
  cliEnv,
  controlSocket,
  ISO_TIME,
  readmeStatusExample,
  tableRows,
  townOnTty,
} from "./_helpers.js";

/**
 * `townd status` and `townd status --json` on a real town under the built daemon: from the control API while
 * the daemon runs, from the files when it does not (cleanly stopped, or killed with SIGKILL leaving its
 * socket behind). The town is built to show every state at once: the Deacon crashes the moment it starts
 * (backoff, then crash-loop), rig r1's Witness is shut down by request (stopped), rig r2 is parked, the
 * Mayor's patrol is off (disabled), r1's Refinery runs.
 */

const HEADER = ["AGENT", "SESSION", "STATE", "PID", "UPTIME", "RESTARTS", "ACTIVITY", "LAST REASON"];
const BACKOFF_MS = 6000;

/** The agents the table and the JSON list, in the daemon's order. */
const IDENTITIES = ["deacon", "mayor", "r1/witness", "r2/witness", "r1/refinery", "r2/refinery"];

describe("townd status: from the API while running, from files when stopped", { timeout: 100_000 }, () => {
  let town: SupervisedTown;
  let daemonPid = 0;

  before(async () => {
    town = await createSupervisedTown({
      rigs: ["r1", "r2"],
      settings: (s, h) => {
        s["agents"] = {
          ...(s["agents"] as Json),
          crashy: h.simRuntime(["--crash-after", "0s", "--exit-code", "7"]),
        };
        s["role_agents"] = { deacon: "crashy" };
        s["operational"] = {
          daemon: {
            death_poll_interval: "250ms",
            // First restart at once, then 6 s (long enough to run `townd status` twice), then crash-loop.
            restart: {
              initial_backoff: `${BACKOFF_MS / 1000}s`,
              max_backoff: `${BACKOFF_MS / 1000}s`,
              multiplier: 1,
              crash_loop_count: 2,
              crash_loop_window: "1m",
              crash_loop_retry: "1h",
            },
          },
        };
      },
    });
    const parked = await town.townd(["rig", "park", "r2"]);
    assert.equal(parked.code, 0, parked.stderr);
    daemonPid = await town.start();
  });
  after(async () => {
    await town.cleanup();
  });

  it("shows `backoff Ns` for an agent waiting out its backoff (table and JSON)", async () => {
    await town.waitFor((s) => town.agent(s, "deacon").state === "backoff", 15_000, "the Deacon in backoff");
    const [table, json] = await Promise.all([town.townd(["status"]), town.townd(["status", "--json"])]);
    assert.equal(table.code, 0, table.stderr);
    const deacon = tableRows(table.stdout).rows.get("deacon");
    assert.match(deacon?.[2] ?? "", /^backoff [1-6]s$/, `the STATE cell, in:\n${table.stdout}`);
    assert.equal(deacon?.[3], "-", "no PID while it waits");
    assert.equal(deacon[5], "1/0", "one automatic restart so far");
    assert.equal(deacon[7], "pane died (exit status 7)");
    const status = JSON.parse(json.stdout) as StatusJson;
    const agent = town.agent(status, "deacon");
    assert.equal(agent.state, "backoff");
    assert.ok(agent.next_attempt_at !== null && Date.parse(agent.next_attempt_at) > Date.now() - 1000);
  });

  it("shows crash-loop, stopped (by a shutdown request), parked, disabled and running", async () => {
    await town.waitFor(
      (s) =>
        town.agent(s, "deacon").state === "crash-loop" && town.agent(s, "r1/witness").state === "running",
      30_000,
      "the Deacon in crash-loop and r1's Witness running",
    );
    const shutdown = await town.townd([
      "request",
      "shutdown",
      "--as",
      "r1/witness",
      "--reason",
      "maintenance",
    ]);
    assert.equal(shutdown.code, 0, shutdown.stderr);
    await town.waitFor(
      (s) =>
        town.agent(s, "r1/witness").state === "stopped" && town.agent(s, "r1/refinery").state === "running",
      20_000,
      "r1's Witness stopped and its Refinery running",
    );
    const table = await town.townd(["status"]);
    assert.equal(table.code, 0, table.stderr);
    const { rows } = tableRows(table.stdout);
    const state = (identity: string): string => rows.get(identity)?.[2] ?? "(no row)";
    assert.equal(state("deacon"), "crash-loop");
    assert.equal(state("r1/witness"), "stopped");
    assert.equal(state("r2/witness"), "parked");
    assert.equal(state("r2/refinery"), "parked");
    assert.equal(state("mayor"), "disabled");
    assert.equal(state("r1/refinery"), "running");
    assert.match(rows.get("deacon")?.[7] ?? "", /^crash loop: 2 automatic restarts within 1m0s$/);
    assert.equal(rows.get("r1/witness")?.[7], "shutdown requested: maintenance");

    const status = await town.status();
    const byId = new Map(status.agents.map((a) => [a.identity, a]));
    assert.equal(byId.get("deacon")?.state, "crash-loop");
    assert.equal(byId.get("r1/witness")?.state, "stopped");
    assert.match(String((byId.get("r1/witness") as unknown as Json)["stopped_reason"]), /maintenance/);
    assert.equal(byId.get("r2/witness")?.state, "parked");
    assert.equal(byId.get("mayor")?.state, "disabled");
  });

  it("--json with the daemon running comes from the API: recent agents_updated_at, live pids", async () => {
    // Garbage in the files the CLI would fall back to: a status served from them would report problems.
    const stateFile = join(town.root, "daemon", "state.json");
    const agentsFile = join(town.root, "daemon", "agents.json");
    const saved = [readFileSync(stateFile, "utf8"), readFileSync(agentsFile, "utf8")];
    writeFileSync(stateFile, "{garbage");
    writeFileSync(agentsFile, "{garbage");
    let run;
    try {
      run = await town.townd(["status", "--json"]);
    } finally {
      writeFileSync(stateFile, saved[0] ?? "");
      writeFileSync(agentsFile, saved[1] ?? "");
    }
    assert.equal(run.code, 0, run.stderr);
    const status = JSON.parse(run.stdout) as StatusJson & { agents_updated_at: string; problems: string[] };
    assert.deepEqual(status.problems, [], "nothing read from the (garbage) files");
    assert.deepEqual(Object.keys(status), Object.keys(readmeStatusExample()));
    assert.equal(status.daemon.running, true);
    assert.equal(status.daemon.pid, daemonPid);
    assert.ok(status.daemon.heartbeat_count > 0);
    assert.match(status.agents_updated_at, ISO_TIME);
    const age = Date.now() - Date.parse(status.agents_updated_at);
    assert.ok(age >= 0 && age < 60_000, `agents_updated_at is ${age} ms old`);
    assert.ok(Date.parse(status.agents_updated_at) >= Date.parse(status.daemon.started_at ?? ""));
    assert.deepEqual(
      status.agents.map((a) => a.identity),
      IDENTITIES,
    );
    const panes = await town.panes();
    for (const agent of status.agents) {
      if (agent.state === "running") {
        assert.ok(agent.pid !== null && isAlive(agent.pid), `${agent.identity}'s pid ${agent.pid} is live`);
        assert.equal(
          agent.pid,
          panes.find((p) => p.session === agent.session)?.pid,
          `${agent.identity}'s pane`,
        );
      } else {
        assert.equal(agent.pid, null, `${agent.identity} (${agent.state}) has no pid`);
      }
    }
  });

  it("the table has the documented columns and a row per agent matching the JSON", async () => {
    const [table, json] = await Promise.all([town.townd(["status"]), town.townd(["status", "--json"])]);
    const status = JSON.parse(json.stdout) as StatusJson;
    assert.match(
      table.stdout.split("\n")[0] ?? "",
      new RegExp(`^● Daemon is running \\(PID ${daemonPid}\\)$`),
    );
    assert.match(table.stdout, /^ {2}Started: \S+ \(\d+s ago\)$/m);
    assert.match(table.stdout, /^ {2}Last heartbeat: \S+ \(#\d+, \d+s ago\)$/m);
    assert.match(table.stdout, new RegExp(`^  tmux socket: ${town.socket}$`, "m"));
    const { header, rows } = tableRows(table.stdout);
    assert.deepEqual(header, HEADER);
    assert.deepEqual([...rows.keys()], IDENTITIES);
    for (const agent of status.agents) {
      const row = rows.get(agent.identity) ?? [];
      assert.equal(row[1], agent.session);
      assert.equal(row[3], agent.pid === null ? "-" : String(agent.pid), `${agent.identity} PID`);
      assert.match(row[4] ?? "", agent.state === "running" ? /^\d+s$/ : /^-$/, `${agent.identity} UPTIME`);
      assert.equal(row[5], `${agent.restarts_auto}/${agent.restarts_manual}`, `${agent.identity} RESTARTS`);
      const activity = agent.activity === undefined || agent.activity === null ? "-" : agent.activity.state;
      assert.equal(row[6]?.split(" ")[0], activity, `${agent.identity} ACTIVITY`);
      assert.equal(row[7], agent.last_reason ?? undefined, `${agent.identity} LAST REASON`);
    }
  });

  it("colours only a TTY: NO_COLOR and a pipe give no ANSI escapes, FORCE_COLOR=1 and a TTY do", async (t) => {
    const plain = await town.townd(["status"], { env: cliEnv(town) });
    const noColor = await town.townd(["status"], { env: cliEnv(town, { NO_COLOR: "1" }) });
    const forced = await town.townd(["status"], { env: cliEnv(town, { FORCE_COLOR: "1" }) });
    const forcedJson = await town.townd(["status", "--json"], { env: cliEnv(town, { FORCE_COLOR: "1" }) });
    const tty = await townOnTty(town, ["status"], cliEnv(town));
    const ttyNoColor = await townOnTty(town, ["status"], cliEnv(town, { NO_COLOR: "1" }));
    t.diagnostic(`tty output: ${JSON.stringify(tty.stdout.slice(0, 120))}`);
    for (const run of [plain, noColor, forced, forcedJson, tty, ttyNoColor])
      assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(plain.stdout, ANSI, "a pipe: no colour");
    assert.doesNotMatch(noColor.stdout, ANSI, "NO_COLOR=1: no colour");
    assert.match(forced.stdout, ANSI, "FORCE_COLOR=1: colour on a pipe");
    assert.match(forced.stdout, /\u001b\[32mrunning/, "a running agent's state in green");
    assert.match(forced.stdout, /\u001b\[31mcrash-loop/, "a crash-looping agent's state in red");
    assert.doesNotMatch(forcedJson.stdout, ANSI, "--json never carries colour");
    JSON.parse(forcedJson.stdout);
    assert.match(tty.stdout, ANSI, "a TTY: colour");
    assert.doesNotMatch(ttyNoColor.stdout, ANSI, "NO_COLOR=1 on a TTY: no colour");
    // Colour codes never skew the columns: the plain and forced tables hold the same text.
    const stripped = forced.stdout.replace(/\u001b\[\d+m/g, "");
    assert.deepEqual(
      tableRows(stripped).rows.get("r1/refinery")?.slice(0, 3),
      tableRows(plain.stdout).rows.get("r1/refinery")?.slice(0, 3),
    );
  });

  it("falls back to the files with a problem line when a running daemon does not answer on its socket", async () => {
    // The daemon's socket file is gone (removed by hand): the lock says running, the API cannot be reached.
    rmSync(controlSocket(town));
    const [table, json] = await Promise.all([town.townd(["status"]), town.townd(["status", "--json"])]);
    assert.equal(json.code, 0, json.stderr);
    const status = JSON.parse(json.stdout) as StatusJson & { problems: string[] };
    assert.equal(status.daemon.running, true);
    assert.equal(status.daemon.pid, daemonPid);
    assert.deepEqual(
      status.agents.map((a) => a.identity),
      IDENTITIES,
    );
    assert.equal(status.problems.length, 1, JSON.stringify(status.problems));
    assert.match(
      status.problems[0] ?? "",
      /^The daemon did not answer on .*control\.sock .*; showing its files$/,
    );
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^ {2}⚠ The daemon did not answer on /m);
    assert.deepEqual(tableRows(table.stdout).header, HEADER);
  });

  it("with the daemon stopped: from the files, `running: false`, the agents as last seen, a line saying so", async () => {
    const before = await town.status();
    const stopped = await town.townd(["stop"]);
    assert.equal(stopped.code, 0, stopped.stderr);
    const [table, json] = await Promise.all([town.townd(["status"]), town.townd(["status", "--json"])]);
    assert.equal(json.code, 0, json.stderr);
    const status = JSON.parse(json.stdout) as StatusJson & { agents_updated_at: string; problems: string[] };
    assert.deepEqual(Object.keys(status), Object.keys(readmeStatusExample()));
    assert.equal(status.daemon.running, false);
    assert.equal(status.daemon.pid, null);
    assert.equal(status.daemon.started_at, before.daemon.started_at, "the last daemon's start time");
    assert.deepEqual(status.problems, []);
    assert.deepEqual(
      status.agents.map((a) => [a.identity, a.state, a.pid, a.generation]),
      before.agents.map((a) => [a.identity, a.state, a.pid, a.generation]),
      "the agents as the daemon last saw them",
    );
    const refinery = town.agent(status, "r1/refinery");
    assert.ok(refinery.pid !== null && isAlive(refinery.pid), "agents keep running without the daemon");

    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.split("\n");
    assert.equal(lines[0], "○ Daemon is not running");
    assert.equal(lines[1], "  Start with: townd start");
    assert.match(table.stdout, /^Agents as last seen by the daemon, \d+s ago:$/m);
    assert.deepEqual(tableRows(table.stdout).header, HEADER);
    assert.deepEqual([...tableRows(table.stdout).rows.keys()], IDENTITIES);
    assert.equal(tableRows(table.stdout).rows.get("deacon")?.[2], "crash-loop");
  });

  it("after `kill -9` of the daemon its stale control.sock does not break status (files are read)", async () => {
    const pid = await town.start();
    await town.forcePasses(2, 10_000);
    assert.ok(existsSync(controlSocket(town)));
    town.signal("SIGKILL");
    while (isAlive(pid)) await new Promise((r) => setTimeout(r, 25));
    assert.ok(statSync(controlSocket(town)).isSocket(), "the killed daemon left its socket behind");

    const [table, json] = await Promise.all([town.townd(["status"]), town.townd(["status", "--json"])]);
    assert.equal(json.code, 0, json.stderr);
    assert.equal(table.code, 0, table.stderr);
    const status = JSON.parse(json.stdout) as StatusJson & { problems: string[] };
    assert.equal(status.daemon.running, false);
    assert.equal(status.daemon.pid, null);
    // `problems` lists files that could not be read (README): the killed daemon's files are all readable.
    assert.deepEqual(status.problems, []);
    assert.deepEqual(
      status.agents.map((a) => a.identity),
      IDENTITIES,
    );
    assert.equal(table.stdout.split("\n")[0], "○ Daemon is not running");
    assert.match(table.stdout, /^Agents as last seen by the daemon, \d+s ago:$/m);

    // The next daemon replaces the stale socket and answers on it.
    const next = await town.start();
    const answer = await api(town, "GET", "/v1/status");
    assert.equal((answer.json as StatusJson).daemon.pid, next);
  });
});
