/**
 * Lifecycle request latency: `townd request cycle --as <agent>` issued → the agent's new generation runs.
 * The request goes the way an agent sends it (a lifecycle mail in the town's SQLite store, then SIGUSR1 to
 * the daemon); the daemon kills the agent's process tree and respawns its pane with a new generation.
 *
 *   node --import tsx bench/lifecycle.ts [--requests 30] [--runs 3] [--rigs 5] [--gap-min 1000]
 *                                        [--gap-max 2000] [--max-load 4]
 *
 * Clock starts just before the CLI process is spawned. Measured, per request:
 *   - the CLI process's wall time (Node start-up, the store write, the signal),
 *   - issued → the old agent's exit (its SIGTERM handler's timestamp),
 *   - issued → the new generation in tmux (`list-panes -t =<session>: -F '#{@townd_generation}'`, polled
 *     back to back, a few ms apart),
 *   - issued → the new agent's first line (the same timestamped Node agent as bench/respawn.ts),
 *   - and, after each request, `townd --version`: the CLI's start-up under the same load, for scale.
 * Agents are cycled round-robin (2 per rig) with a random 1–2 s pause between requests; the daemon runs
 * with default settings (3-minute heartbeat), only the Deacon is off. Each run has its own town and
 * starts once the 1-minute load average is at most --max-load (or after waiting 10 min).
 *
 * The reference is computed, not measured: it reads lifecycle mail at its next 3-minute heartbeat unless
 * something sends SIGUSR1, which no in-tree code does (gastown-daemon.md §7.1), then kills the session,
 * sleeps a fixed 500 ms and starts a new one (§7.4).
 *
 * Prints markdown tables (per run and the median over runs) and writes .bench/lifecycle.json.
 */
import { execFile, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";
import {
  AGENT_SOURCE,
  AgentLog,
  MAIN,
  machine,
  median,
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
  /** `townd --version` timed right after this request: the CLI's start-up under the same load. */
  cliFloorMs: number;
}

const MEASURES = ["cli", "oldExit", "generation", "firstLine", "exitToFirstLine", "cliFloor"] as const;
type Measure = (typeof MEASURES)[number];

interface Run {
  loadAtStart: number[];
  loadAtEnd: number[];
  summary: Record<Measure, Summary>;
  requests: Request[];
}

function options() {
  const { values } = parseArgs({
    options: {
      requests: { type: "string", default: "30" },
      runs: { type: "string", default: "3" },
      rigs: { type: "string", default: "5" },
      "gap-min": { type: "string", default: "1000" },
      "gap-max": { type: "string", default: "2000" },
      "max-load": { type: "string", default: "4" },
    },
  });
  const requests = Number(values.requests);
  const runs = Number(values.runs);
  const rigs = Number(values.rigs);
  const gapMin = Number(values["gap-min"]);
  const gapMax = Number(values["gap-max"]);
  const maxLoad = Number(values["max-load"]);
  for (const [name, value] of [
    ["requests", requests],
    ["runs", runs],
    ["rigs", rigs],
  ] as const)
    if (!Number.isInteger(value) || value < 1)
      throw new Error(`Invalid --${name}: expected a positive integer`);
  if (!(gapMin >= 0) || !(gapMax >= gapMin) || !(maxLoad > 0))
    throw new Error("Invalid --gap-min/--gap-max/--max-load");
  return { requests, runs, rigs, gapMin, gapMax, maxLoad };
}

function summarizeRequests(requests: readonly Request[]): Record<Measure, Summary> {
  const exits = requests.filter((r) => r.oldExitMs !== null);
  return {
    cli: summarize(requests.map((r) => r.cliMs)),
    oldExit: summarize(exits.map((r) => r.oldExitMs ?? 0)),
    generation: summarize(requests.map((r) => r.generationMs)),
    firstLine: summarize(requests.map((r) => r.firstLineMs)),
    exitToFirstLine: summarize(exits.map((r) => r.firstLineMs - (r.oldExitMs ?? 0))),
    cliFloor: summarize(requests.map((r) => r.cliFloorMs)),
  };
}

async function runOnce(opts: ReturnType<typeof options>, index: number): Promise<Run> {
  const loadAtStart = loadavg().map((value) => round(value, 2));
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
  process.stderr.write(`run ${index + 1}: waiting for ${agents} agents\n`);
  await waitForRunning(town, agents, 300_000);
  const live = (await town.status()).agents.filter((agent) => agent.state === "running");

  const { TMUX: _tmux, TMUX_PANE: _pane, ...tmuxEnv } = process.env;
  const generationOf = async (session: string): Promise<string> => {
    const args = ["-S", town.socket, "-f", "/dev/null", "-N", "list-panes", "-t", `=${session}:`];
    const { stdout } = await execFileAsync("tmux", [...args, "-F", "#{@townd_generation}"], {
      encoding: "utf8",
      env: tmuxEnv,
    });
    return stdout.trim();
  };

  const requests: Request[] = [];
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
      { stdio: ["ignore", "ignore", "pipe"] },
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
    const floorStart = nowMs();
    spawnSync(process.execPath, [MAIN, "--version"], { stdio: "ignore" });
    const cliFloorMs = nowMs() - floorStart;
    requests.push({
      identity: agent.identity,
      oldGeneration,
      newGeneration,
      cliMs: cliAt - issued,
      oldExitMs: exit === undefined ? null : exit.at - issued,
      generationMs: generationAt - issued,
      firstLineMs: first.at - issued,
      cliFloorMs,
    });
    await sleep(opts.gapMin + Math.random() * (opts.gapMax - opts.gapMin));
    if ((i + 1) % 10 === 0) process.stderr.write(`run ${index + 1}: ${i + 1} of ${opts.requests} requests\n`);
  }
  const loadAtEnd = loadavg().map((value) => round(value, 2));
  town.dispose();
  return { loadAtStart, loadAtEnd, summary: summarizeRequests(requests), requests };
}

async function main(): Promise<void> {
  const opts = options();
  const info = machine();
  const runs: Run[] = [];
  for (let index = 0; index < opts.runs; index += 1) {
    const load = await waitForQuiet(opts.maxLoad, 10 * 60_000);
    if (load > opts.maxLoad) process.stderr.write(`load still ${load} after 10 min: running anyway\n`);
    runs.push(await runOnce(opts, index));
  }
  const medianOf = (measure: Measure, key: "p50" | "p95"): number =>
    round(median(runs.map((run) => run.summary[measure][key])), 0);
  const pooled = summarizeRequests(runs.flatMap((run) => run.requests));
  const reference = { meanMs: 90_000 + 500, worstMs: 180_000 + 500, withSigusr1FloorMs: 500 };
  const command = `node --import tsx bench/lifecycle.ts --requests ${opts.requests} --runs ${opts.runs} --rigs ${opts.rigs}`;
  const file = writeResult("lifecycle", {
    command,
    machine: { ...info, loadAtEnd: loadavg().map((value) => round(value, 2)) },
    settings: {
      agents: opts.rigs * 2,
      recoveryHeartbeatInterval: "3m (default)",
      gapMs: [opts.gapMin, opts.gapMax],
    },
    medians: Object.fromEntries(
      MEASURES.map((measure) => [measure, { p50: medianOf(measure, "p50"), p95: medianOf(measure, "p95") }]),
    ),
    pooled,
    reference: {
      ...reference,
      computed:
        "next 3-minute heartbeat (U(0, 180 s)) + the fixed 500 ms sleep; ≥ 500 ms + a session start with SIGUSR1",
    },
    runs,
  });

  const names: Record<Measure, string> = {
    cli: "… the CLI process exits (request stored, SIGUSR1 sent)",
    oldExit: "… the old agent exits (SIGTERM from the daemon)",
    generation: "… the new generation shows in tmux (`@townd_generation`)",
    firstLine: "… the new agent's first line",
    exitToFirstLine: "old agent's exit → new agent's first line",
    cliFloor: "`townd --version` after each request (CLI start-up floor, for scale)",
  };
  const rows = MEASURES.map((measure) => [
    names[measure],
    ...runs.map((run) => `${run.summary[measure].p50.toFixed(0)} / ${run.summary[measure].p95.toFixed(0)}`),
    medianOf(measure, "p50"),
    medianOf(measure, "p95"),
    pooled[measure].max.toFixed(0),
  ]);
  const out = [
    `agents: ${opts.rigs * 2}, requests per run: ${opts.requests}, runs: ${opts.runs}`,
    `load (1/5/15 min) per run: ${runs.map((run) => `${run.loadAtStart.join("/")} → ${run.loadAtEnd.join("/")}`).join("; ")}`,
    "",
    table(
      [
        "From `townd request cycle` issued to …",
        ...runs.map((_, i) => `run ${i + 1} p50 / p95 ms`),
        "median p50 ms",
        "median p95 ms",
        "max ms (all runs)",
      ],
      ["---", ...runs.map(() => "---:"), "---:", "---:", "---:"],
      rows,
    ),
    "",
    `reference (computed): next 3-minute heartbeat + 500 ms fixed sleep: mean ${reference.meanMs} ms, worst ${reference.worstMs} ms; ≥ ${reference.withSigusr1FloorMs} ms even with SIGUSR1`,
    `raw: ${file}`,
  ];
  process.stdout.write(`${out.join("\n")}\n`);
}

await runBenchmark(main);
