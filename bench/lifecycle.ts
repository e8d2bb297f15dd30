/**
 * Lifecycle request latency: `townd request cycle --as <agent>` issued → the agent's new process exists.
 * The request goes the way an agent sends it (a lifecycle mail in the town's SQLite store, then a wake-up
 * of the daemon through its control socket); the daemon kills the agent's process tree and respawns its
 * pane with a new generation.
 *
 *   node --import tsx bench/lifecycle.ts [--requests 30] [--runs 3] [--rigs 5] [--gap-min 1000]
 *                                        [--gap-max 2000] [--max-load 4] [--pm2-dir DIR] [--no-pm2]
 *
 * Each round makes three requests in a shuffled order, each timed from just before it is issued:
 *   - townd CLI: the `townd request cycle` process, as an agent runs it;
 *   - townd in-process: the same request made by this process (the same store write with the same code,
 *     then the same wake-up), i.e. without the CLI's Node start-up: the daemon's part and the floor;
 *   - PM2: the `pm2 restart <app>` process, for the same agent script under PM2.
 * Measured for each: the request's process exits (CLI and PM2), the new agent process is listed among the
 * supervisor's children (/proc polled every millisecond, as bench/respawn.ts does: the tmux server's, PM2
 * God's), and the new agent's first log line (adds Node's start-up). `townd --version` is timed after each
 * round: the CLI's start-up under the same load, for scale.
 *
 * Agents are cycled round-robin (2 per rig) with a random 1–2 s pause between requests; the daemon runs
 * with default settings (3-minute heartbeat), only the Deacon is off. Each run has its own town and PM2
 * home and starts once the 1-minute load average is at most --max-load (or after waiting 10 min).
 *
 * The reference is computed, not measured: it reads lifecycle mail at its next 3-minute heartbeat unless
 * something sends SIGUSR1, which no in-tree code does (gastown-daemon.md §7.1), then kills the session,
 * sleeps a fixed 500 ms and starts a new one (§7.4).
 *
 * Prints markdown tables and writes .bench/lifecycle.json.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { withStore } from "../src/cli/store-access.js";
import { nudgeDaemon } from "../src/daemon/wake.js";
import { LIFECYCLE_INBOX } from "../src/lifecycle/intake.js";
import { touchAgent } from "../src/store/agents.js";
import { sendMail } from "../src/store/mail.js";
import { townPaths } from "../src/town/paths.js";
import {
  AGENT_SOURCE,
  AgentLog,
  MAIN,
  childPids,
  installPm2,
  machine,
  nowMs,
  onCleanup,
  pm2Home,
  round,
  runBenchmark,
  sleep,
  startTown,
  summarize,
  table,
  pm2RunsAgent,
  waitForNewChild,
  waitForQuiet,
  waitForRunning,
  writeResult,
  type AgentLog as Log,
  type Summary,
} from "./harness.js";

const WAYS = ["cli", "inProcess", "pm2"] as const;
type Way = (typeof WAYS)[number];

interface Request {
  way: Way;
  identity: string;
  /** Issued → the request's own process exited (CLI and PM2 only). */
  commandMs: number | null;
  /** Issued → the new agent process listed among the supervisor's children. */
  processMs: number;
  /** Issued → the new agent's first log line. */
  firstLineMs: number;
}

interface Run {
  loadAtStart: number[];
  loadAtEnd: number[];
  requests: Request[];
  cliFloorMs: number[];
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
      "pm2-dir": { type: "string" },
      "no-pm2": { type: "boolean", default: false },
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
  return { requests, runs, rigs, gapMin, gapMax, maxLoad, pm2Dir: values["pm2-dir"], pm2: !values["no-pm2"] };
}

/** Runs a command; resolves with nowMs() at its exit, rejects if it fails. */
function runCommand(file: string, args: string[], env?: NodeJS.ProcessEnv): Promise<number> {
  const child = spawn(file, args, {
    stdio: ["ignore", "ignore", "pipe"],
    ...(env === undefined ? {} : { env }),
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on("exit", (code) => {
      if (code === 0) resolve(nowMs());
      else reject(new Error(`${args.slice(0, 4).join(" ")} exited ${code ?? "by a signal"}: ${stderr}`));
    });
  });
}

/** What `townd request cycle --as <identity>` does, in this process: the same store write and wake-up. */
async function requestInProcess(town: string, identity: string): Promise<void> {
  const paths = townPaths(town);
  withStore(paths, (db) => {
    touchAgent(db, identity);
    sendMail(db, {
      from: identity,
      to: LIFECYCLE_INBOX,
      subject: `LIFECYCLE: ${identity} requesting cycle`,
      body: JSON.stringify({ action: "cycle" }),
      type: "lifecycle",
    });
  });
  const woken = await nudgeDaemon(paths, "/v1/wake", "SIGUSR1");
  if (woken.outcome !== "api" && woken.outcome !== "signal")
    throw new Error(`Could not wake the daemon: ${JSON.stringify(woken)}`);
}

/**
 * Issues one request with `issue` and times it: its own exit (if it is a process), the new agent process
 * among `supervisor`'s children, and the new agent's first line in `log`.
 */
async function timeRequest(
  way: Way,
  identity: string,
  log: Log,
  supervisor: number,
  isAgent: (cmdline: string) => boolean,
  issue: () => Promise<number | null>,
): Promise<Request> {
  const known = new Set(childPids(supervisor));
  const issued = nowMs();
  const done = issue();
  const child = await waitForNewChild(supervisor, known, isAgent, 30_000);
  const first = await log.waitFor(
    () => log.starts.find((start) => start.pid === child.pid),
    30_000,
    `${way} ${identity}: the first line of pid ${child.pid}`,
  );
  const exitedAt = await done;
  return {
    way,
    identity,
    commandMs: exitedAt === null ? null : round(exitedAt - issued, 2),
    processMs: round(child.seenAt - issued, 2),
    firstLineMs: round(first.at - issued, 2),
  };
}

function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

async function runOnce(
  opts: ReturnType<typeof options>,
  pm2Prefix: string | null,
  index: number,
): Promise<Run> {
  const loadAtStart = loadavg().map((value) => round(value, 2));
  const work = mkdtempSync(join(tmpdir(), "tdb-lifecycle-"));
  onCleanup(`remove ${work}`, () => {
    rmSync(work, { recursive: true, force: true });
  });
  const agentFile = join(work, "agent.cjs");
  writeFileSync(agentFile, AGENT_SOURCE);
  const runsAgent = (cmdline: string): boolean => {
    const argv = cmdline.split("\0");
    return argv[0] === process.execPath && argv[1] === agentFile;
  };
  const log = new AgentLog(join(work, "agents.log"));
  const town = await startTown("tdb-lifecycle-town-", {
    rigs: opts.rigs,
    runtime: { command: process.execPath, args: [agentFile, log.file], process_names: ["node"] },
  });
  const agents = opts.rigs * 2;
  process.stderr.write(`run ${index + 1}: waiting for ${agents} agents\n`);
  await waitForRunning(town, agents, 300_000);
  const live = (await town.status()).agents.filter((agent) => agent.state === "running");
  const server = town.tmuxPid();

  const pm2Log = new AgentLog(join(work, "pm2.log"));
  const pm2 = pm2Prefix === null ? undefined : await pm2Home(pm2Prefix);
  if (pm2 !== undefined) {
    pm2.run("start", agentFile, "--name", "bench-agent", "--", pm2Log.file, "pm2-agent");
    await pm2Log.waitFor(() => pm2Log.latestStart("pm2-agent"), 30_000, "PM2's first start");
  }
  const pm2Bin = pm2Prefix === null ? "" : join(pm2Prefix, "node_modules", "pm2", "bin", "pm2");

  const requests: Request[] = [];
  const cliFloorMs: number[] = [];
  let next = 0;
  const pause = (): Promise<void> => sleep(opts.gapMin + Math.random() * (opts.gapMax - opts.gapMin));
  await sleep(2000);
  for (let i = 0; i < opts.requests; i += 1) {
    for (const way of shuffled(WAYS.filter((w) => w !== "pm2" || pm2 !== undefined))) {
      if (way === "pm2" && pm2 !== undefined) {
        requests.push(
          await timeRequest(way, "pm2-agent", pm2Log, pm2.godPid(), pm2RunsAgent, () =>
            runCommand(process.execPath, [pm2Bin, "restart", "bench-agent"], {
              ...process.env,
              PM2_HOME: pm2.home,
            }),
          ),
        );
      } else {
        const agent = live[next % live.length];
        next += 1;
        if (agent === undefined) throw new Error("No running agent to cycle");
        requests.push(
          await timeRequest(way, agent.identity, log, server, runsAgent, async () => {
            if (way === "cli")
              return runCommand(process.execPath, [
                MAIN,
                "--town",
                town.town,
                "request",
                "cycle",
                "--as",
                agent.identity,
              ]);
            await requestInProcess(town.town, agent.identity);
            return null;
          }),
        );
      }
      await pause();
    }
    const floorStart = nowMs();
    spawnSync(process.execPath, [MAIN, "--version"], { stdio: "ignore" });
    cliFloorMs.push(round(nowMs() - floorStart, 2));
    if ((i + 1) % 10 === 0) process.stderr.write(`run ${index + 1}: ${i + 1} of ${opts.requests} rounds\n`);
  }
  const loadAtEnd = loadavg().map((value) => round(value, 2));
  pm2?.kill();
  town.dispose();
  return { loadAtStart, loadAtEnd, requests, cliFloorMs };
}

async function main(): Promise<void> {
  const opts = options();
  const info = machine();
  const pm2Prefix = opts.pm2 ? await installPm2(opts.pm2Dir) : null;
  const pm2Version =
    pm2Prefix === null
      ? null
      : (
          JSON.parse(readFileSync(join(pm2Prefix, "node_modules", "pm2", "package.json"), "utf8")) as {
            version: string;
          }
        ).version;
  const runs: Run[] = [];
  for (let index = 0; index < opts.runs; index += 1) {
    const load = await waitForQuiet(opts.maxLoad, 10 * 60_000);
    if (load > opts.maxLoad) process.stderr.write(`load still ${load} after 10 min: running anyway\n`);
    runs.push(await runOnce(opts, pm2Prefix, index));
  }
  const all = runs.flatMap((run) => run.requests);
  const pooled = (way: Way, key: "commandMs" | "processMs" | "firstLineMs"): Summary | null => {
    const values = all.filter((r) => r.way === way).flatMap((r) => (r[key] === null ? [] : [r[key]]));
    return values.length === 0 ? null : summarize(values);
  };
  const summary = Object.fromEntries(
    WAYS.map((way) => [
      way,
      {
        command: pooled(way, "commandMs"),
        process: pooled(way, "processMs"),
        firstLine: pooled(way, "firstLineMs"),
      },
    ]),
  );
  const cliFloor = summarize(runs.flatMap((run) => run.cliFloorMs));
  const reference = { meanMs: 90_000 + 500, worstMs: 180_000 + 500, withSigusr1FloorMs: 500 };
  const command = `node --import tsx bench/lifecycle.ts --requests ${opts.requests} --runs ${opts.runs} --rigs ${opts.rigs}`;
  const file = writeResult("lifecycle", {
    command,
    machine: { ...info, loadAtEnd: loadavg().map((value) => round(value, 2)) },
    settings: {
      agents: opts.rigs * 2,
      recoveryHeartbeatInterval: "3m (default)",
      gapMs: [opts.gapMin, opts.gapMax],
      pm2: pm2Version,
    },
    pooled: summary,
    cliFloor,
    reference: {
      ...reference,
      computed:
        "next 3-minute heartbeat (U(0, 180 s)) + the fixed 500 ms sleep; ≥ 500 ms + a session start with SIGUSR1",
    },
    runs,
  });

  const cell = (s: Summary | null): string =>
    s === null ? "—" : `${s.p50.toFixed(1)} / ${s.p95.toFixed(1)}`;
  const ratio = (a: Summary | null, b: Summary | null): string =>
    a === null || b === null ? "—" : `${(a.p50 / b.p50).toFixed(2)} / ${(a.p95 / b.p95).toFixed(2)}`;
  const names: Record<Way, string> = {
    cli: "`townd request cycle` (CLI process)",
    inProcess: "the same request made in-process (floor: no CLI start-up)",
    pm2: `\`pm2 restart\` (PM2 ${pm2Version ?? ""})`,
  };
  const rows = WAYS.filter((way) => pooled(way, "processMs") !== null).map((way) => [
    names[way],
    cell(pooled(way, "commandMs")),
    cell(pooled(way, "processMs")),
    pooled(way, "processMs")?.max.toFixed(1) ?? "—",
    ratio(pooled(way, "processMs"), pooled("pm2", "processMs")),
    ratio(pooled(way, "processMs"), pooled("inProcess", "processMs")),
    cell(pooled(way, "firstLineMs")),
  ]);
  const out = [
    `agents: ${opts.rigs * 2}, rounds per run: ${opts.requests}, runs: ${opts.runs}`,
    `load (1/5/15 min) per run: ${runs.map((run) => `${run.loadAtStart.join("/")} → ${run.loadAtEnd.join("/")}`).join("; ")}`,
    "",
    table(
      [
        "Request",
        "its process exits, p50 / p95 ms",
        "→ new agent process, p50 / p95 ms",
        "max ms",
        "÷ PM2",
        "÷ in-process",
        "→ first log line, p50 / p95 ms",
      ],
      ["---", "---:", "---:", "---:", "---:", "---:", "---:"],
      rows,
    ),
    "",
    `\`townd --version\` (CLI start-up, for scale): p50 ${cliFloor.p50} ms, p95 ${cliFloor.p95} ms`,
    `reference (computed): next 3-minute heartbeat + 500 ms fixed sleep: mean ${reference.meanMs} ms, worst ${reference.worstMs} ms; ≥ ${reference.withSigusr1FloorMs} ms even with SIGUSR1`,
    `raw: ${file}`,
  ];
  process.stdout.write(`${out.join("\n")}\n`);
}

await runBenchmark(main);
