/**
 * Lifecycle request latency: `townd request cycle --as <agent>` issued → the agent's new generation runs.
 * The request goes the way an agent sends it (a lifecycle mail in the town's SQLite store, then SIGUSR1 to
 * the daemon); the daemon kills the agent's process tree and respawns its pane with a new generation.
 *
 *   node --import tsx bench/lifecycle.ts [--requests 30] [--rigs 5] [--gap-min 1000] [--gap-max 2000]
 *                                        [--max-load 4]
 *
 * Clock starts just before the CLI process is spawned. Measured, per request:
 *   - the CLI process's wall time (Node start-up, the store write, the signal),
 *   - issued → the old agent's exit (its SIGTERM handler's timestamp),
 *   - issued → the new generation in tmux (`list-panes -t =<session>: -F '#{@townd_generation}'`, polled
 *     every few ms),
 *   - issued → the new agent's first line (the same timestamped Node agent as bench/respawn.ts).
 * Agents are cycled round-robin (2 per rig) with a random 1–2 s pause between requests; the daemon runs
 * with default settings (3-minute heartbeat), only the Deacon is off.
 *
 * Prints a markdown table and writes .bench/lifecycle.json.
 */
import { execFile, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseArgs } from "node:util";
import {
  AGENT_SOURCE,
  AgentLog,
  MAIN,
  machine,
  nowMs,
  onCleanup,
  round,
  runBenchmark,
  sleep,
  startTown,
  summarize,
  table,
  waitForQuiet,
  waitForRunning,
  writeResult,
  type Summary,
} from "./harness.js";

const execFileAsync = promisify(execFile);

interface Request {
  identity: string;
  oldGeneration: string;
  newGeneration: string;
  cliMs: number;
  oldExitMs: number | null;
  generationMs: number;
  firstLineMs: number;
}

function options() {
  const { values } = parseArgs({
    options: {
      requests: { type: "string", default: "30" },
      rigs: { type: "string", default: "5" },
      "gap-min": { type: "string", default: "1000" },
      "gap-max": { type: "string", default: "2000" },
      "max-load": { type: "string", default: "4" },
    },
  });
  const requests = Number(values.requests);
  const rigs = Number(values.rigs);
  const gapMin = Number(values["gap-min"]);
  const gapMax = Number(values["gap-max"]);
  const maxLoad = Number(values["max-load"]);
  if (!Number.isInteger(requests) || requests < 1 || !Number.isInteger(rigs) || rigs < 1)
    throw new Error("Invalid --requests or --rigs: expected positive integers");
  if (!(gapMin >= 0) || !(gapMax >= gapMin) || !(maxLoad > 0))
    throw new Error("Invalid --gap-min/--gap-max/--max-load");
  return { requests, rigs, gapMin, gapMax, maxLoad };
}

async function main(): Promise<void> {
  const opts = options();
  const loadBefore = await waitForQuiet(opts.maxLoad, 10 * 60_000);
  const info = machine();
  const work = mkdtempSync(join(tmpdir(), "tdb-lifecycle-"));
  onCleanup(`remove ${work}`, () => {
    rmSync(work, { recursive: true, force: true });
  });
  const agentFile = join(work, "agent.cjs");
  writeFileSync(agentFile, AGENT_SOURCE);
  const log = new AgentLog(join(work, "agents.log"));
  const town = await startTown("tdb-lifecycle-town-", {
    rigs: opts.rigs,
    runtime: { command: process.execPath, args: [agentFile, log.file], process_names: ["node"] },
  });
  const agents = opts.rigs * 2;
  process.stderr.write(`townd: waiting for ${agents} agents\n`);
  await waitForRunning(town, agents, 300_000);
  const live = (await town.status()).agents.filter((agent) => agent.state === "running");

  const { TMUX: _tmux, TMUX_PANE: _pane, ...tmuxEnv } = process.env;
  const generationOf = async (session: string): Promise<string> => {
    const { stdout } = await execFileAsync(
      "tmux",
      [
        "-S",
        town.socket,
        "-f",
        "/dev/null",
        "-N",
        "list-panes",
        "-t",
        `=${session}:`,
        "-F",
        "#{@townd_generation}",
      ],
      { encoding: "utf8", env: tmuxEnv },
    );
    return stdout.trim();
  };

  const results: Request[] = [];
  for (let i = 0; i < opts.requests; i += 1) {
    const agent = live[i % live.length];
    if (agent === undefined) throw new Error("No running agent to cycle");
    const oldGeneration = await generationOf(agent.session);
    const old = log.latestStart(agent.identity);
    if (old?.generation !== oldGeneration)
      throw new Error(
        `${agent.identity}: tmux says generation ${oldGeneration}, its agent ${old?.generation ?? "none"}`,
      );

    const issued = nowMs();
    const cli = spawn(
      process.execPath,
      [MAIN, "--town", town.town, "request", "cycle", "--as", agent.identity],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let stderr = "";
    cli.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const cliDone = new Promise<number>((resolve, reject) => {
      cli.on("exit", (code) => {
        if (code === 0) resolve(nowMs());
        else reject(new Error(`townd request cycle exited ${code ?? "by a signal"}: ${stderr}`));
      });
    });
    let newGeneration = oldGeneration;
    for (const deadline = Date.now() + 30_000; newGeneration === oldGeneration;) {
      if (Date.now() > deadline) throw new Error(`${agent.identity}: no new generation within 30 s`);
      newGeneration = await generationOf(agent.session).catch(() => oldGeneration);
      if (newGeneration === oldGeneration) await sleep(2);
    }
    const generationAt = nowMs();
    const first = await log.waitFor(
      () =>
        log.starts.find((start) => start.identity === agent.identity && start.generation === newGeneration),
      30_000,
      `${agent.identity} generation ${newGeneration} to start`,
    );
    const cliAt = await cliDone;
    const exit = log.exits.find((line) => line.pid === old.pid);
    results.push({
      identity: agent.identity,
      oldGeneration,
      newGeneration,
      cliMs: cliAt - issued,
      oldExitMs: exit === undefined ? null : exit.at - issued,
      generationMs: generationAt - issued,
      firstLineMs: first.at - issued,
    });
    await sleep(opts.gapMin + Math.random() * (opts.gapMax - opts.gapMin));
    if ((i + 1) % 10 === 0) process.stderr.write(`${i + 1} of ${opts.requests} requests\n`);
  }

  const floor: number[] = [];
  for (let i = 0; i < 15; i += 1) {
    const start = nowMs();
    spawnSync(process.execPath, [MAIN, "--version"], { stdio: "ignore" });
    floor.push(nowMs() - start);
  }
  const loadAfter = loadavg().map((value) => round(value, 2));

  const stat = (values: number[]): Summary => summarize(values);
  const summary = {
    cli: stat(results.map((r) => r.cliMs)),
    oldExit: stat(results.flatMap((r) => (r.oldExitMs === null ? [] : [r.oldExitMs]))),
    generation: stat(results.map((r) => r.generationMs)),
    firstLine: stat(results.map((r) => r.firstLineMs)),
    exitToFirstLine: stat(
      results.flatMap((r) => (r.oldExitMs === null ? [] : [r.firstLineMs - r.oldExitMs])),
    ),
    cliFloor: stat(floor),
  };
  // The reference: a request is read at the next 3-minute heartbeat unless something sends SIGUSR1 (no
  // in-tree code does, gastown-daemon.md §7.1), then kill-session, a fixed 500 ms sleep and a new session.
  const reference = { meanMs: 90_000 + 500, worstMs: 180_000 + 500, withSigusr1FloorMs: 500 };
  const command = `node --import tsx bench/lifecycle.ts --requests ${opts.requests} --rigs ${opts.rigs}`;
  const file = writeResult("lifecycle", {
    command,
    machine: { ...info, loadAtEnd: loadAfter, loadBeforeWait: loadBefore },
    settings: { agents, recoveryHeartbeatInterval: "3m (default)", gapMs: [opts.gapMin, opts.gapMax] },
    summary,
    reference,
    ratios: { referenceMeanOverTownd: round(reference.meanMs / summary.firstLine.p50, 0) },
    requests: results,
  });

  const row = (name: string, s: Summary): (string | number)[] => [
    name,
    s.n,
    s.p50.toFixed(0),
    s.p95.toFixed(0),
    s.max.toFixed(0),
  ];
  const out = [
    `agents: ${agents}, requests: ${opts.requests}, load ${info.loadAtStart.join(" / ")} → ${loadAfter.join(" / ")}`,
    "",
    table(
      ["From `townd request cycle` issued to …", "n", "p50 ms", "p95 ms", "max ms"],
      ["---", "---:", "---:", "---:", "---:"],
      [
        row("… the CLI process exits (request stored, SIGUSR1 sent)", summary.cli),
        row("… the old agent exits (SIGTERM from the daemon)", summary.oldExit),
        row("… the new generation shows in tmux (`@townd_generation`)", summary.generation),
        row("… the new agent's first line", summary.firstLine),
        row("old agent's exit → new agent's first line", summary.exitToFirstLine),
        row("`townd --version` (CLI start-up floor, for scale)", summary.cliFloor),
      ],
    ),
    "",
    `reference (computed): next 3-minute heartbeat + 500 ms fixed sleep: mean ${reference.meanMs} ms, worst ${reference.worstMs} ms; ≥ ${reference.withSigusr1FloorMs} ms even with SIGUSR1`,
    `raw: ${file}`,
  ];
  process.stdout.write(`${out.join("\n")}\n`);
}

await runBenchmark(main);
