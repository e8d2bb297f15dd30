/**
 * `townd status` at N agents, through the daemon's control socket: wall time of the whole CLI process
 * (what an operator waits for) and of the API round trip alone, beside `townd --version` (the floor: Node
 * and CLI start-up), medians over several runs interleaved so machine noise falls on all three alike.
 *
 *   node --import tsx bench/status.ts [--agents 500] [--runs 15]
 *
 * Agents are a `sleep` runtime (cheap processes), 2 per rig; the town and its tmux server are private and
 * removed at the end. Prints a markdown table and writes .bench/status.json.
 */
import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { callApi } from "../src/api/client.js";
import {
  MAIN,
  machine,
  median,
  quantile,
  round,
  runBenchmark,
  startTown,
  table,
  waitForRunning,
  writeResult,
} from "./harness.js";

function options(): { agents: number; runs: number } {
  const { values } = parseArgs({
    options: { agents: { type: "string", default: "500" }, runs: { type: "string", default: "15" } },
  });
  const agents = Number(values.agents);
  const runs = Number(values.runs);
  if (!Number.isInteger(agents) || agents < 2) throw new Error(`Invalid --agents "${values.agents}"`);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`Invalid --runs "${values.runs}"`);
  return { agents, runs };
}

function timeCli(args: string[]): { ms: number; bytes: number } {
  const started = performance.now();
  const result = spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8" });
  const ms = performance.now() - started;
  if (result.status !== 0)
    throw new Error(`townd ${args.join(" ")} exited ${result.status}: ${result.stderr}`);
  return { ms, bytes: result.stdout.length };
}

await runBenchmark(async () => {
  const opts = options();
  const info = machine();
  const rigs = Math.ceil(opts.agents / 2);
  const town = await startTown("tdb-status-", {
    rigs,
    runtime: { command: "sleep", args: ["1000000"], process_names: ["sleep"] },
    daemon: { spawn_budget: { count: rigs * 2 + 10 } },
  });
  const spawnMs = await waitForRunning(town, rigs * 2, 300_000);

  const cli: number[] = [];
  const api: number[] = [];
  const floor: number[] = [];
  let bytes = 0;
  for (let i = 0; i < opts.runs; i++) {
    const status = timeCli(["--town", town.town, "status", "--json"]);
    cli.push(status.ms);
    bytes = status.bytes;
    const started = performance.now();
    await callApi(town.controlSocket, "GET", "/v1/status");
    api.push(performance.now() - started);
    floor.push(timeCli(["--version"]).ms);
  }
  town.dispose();

  const row = (name: string, values: number[]): (string | number)[] => [
    name,
    round(median(values)),
    round(quantile(values, 0.9)),
  ];
  const rows = [
    row("`townd status --json` (CLI process, through the socket)", cli),
    row("API round trip `GET /v1/status` (in process)", api),
    row("`townd --version` (Node + CLI start-up floor)", floor),
  ];
  const command = `node --import tsx bench/status.ts --agents ${opts.agents} --runs ${opts.runs}`;
  const file = writeResult("status", {
    command,
    machine: { ...info, loadAtEnd: loadavg().map((value) => round(value, 2)) },
    agents: rigs * 2,
    allRunningAfterMs: spawnMs,
    payloadBytes: bytes,
    samplesMs: {
      cli: cli.map((v) => round(v)),
      api: api.map((v) => round(v)),
      floor: floor.map((v) => round(v)),
    },
    cliOverFloorMs: round(median(cli) - median(floor)),
  });
  console.log(
    `agents: ${rigs * 2} (all running after ${(spawnMs / 1000).toFixed(1)} s), runs: ${opts.runs}, payload ${bytes} bytes`,
  );
  console.log(table(["measurement", "median ms", "p90 ms"], ["---", "---:", "---:"], rows));
  console.log(`\n${command}\nresults: ${file}`);
});
