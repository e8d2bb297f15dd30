/**
 * A fleet of 500 agents, townd beside PM2 in the same run: from nothing to all running, idle CPU and RSS,
 * and the status command.
 *
 *   node --import tsx bench/fleet.ts [--agents 500] [--idle 60] [--status-rounds 15] [--runs 2]
 *                                    [--pm2-dir DIR] [--no-pm2] [--max-load 4] [--reap-kick D]
 *
 * Agents are `sleep 1000000` (cheap, silent processes), 2 per rig, in a private town with default settings
 * (3-minute heartbeat; the Deacon is off; the spawn budget raised so 500 first starts are allowed); PM2 runs
 * as many `sleep` apps (`interpreter: none`) from one ecosystem file, in its own PM2_HOME.
 *
 *   - Start-up: townd from just before `townd start` until `GET /v1/status` shows every agent's pid (its
 *     process runs) and then every agent "running" (its start-up sequence, beacon and nudge, done), polled
 *     every 250 ms; PM2 from `pm2 start apps.json` (its God daemon already up) until `pm2 jlist` shows every
 *     app online, polled every second.
 *   - Idle: 10 s after both are up, /proc is read every second for --idle seconds, both systems in the same
 *     window. CPU is utime+stime of the daemon, of its children (those it waited for: cutime+cstime; those
 *     alive: their own times, e.g. a persistent tmux client), and, for townd, of the town's tmux server:
 *     everything townd makes run. RSS is the daemon's VmRSS (and the tmux server's, shown apart).
 *   - Status: --status-rounds rounds, each in a shuffled order: the whole `townd status --json` process, the
 *     API round trip `GET /v1/status` made in-process (the floor), `pm2 jlist`, and `townd --version`.
 *
 * `--reap-kick D` sets the town's reap_kick_interval (e.g. "25ms"), to see what a shorter one costs idle.
 *
 * Each run starts once the 1-minute load average is at most --max-load (or after waiting 10 min). Prints
 * markdown tables and writes .bench/fleet.json.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { callApi } from "../src/api/client.js";
import {
  MAIN,
  childPids,
  cpuTimes,
  installPm2,
  machine,
  median,
  nowMs,
  pm2Home,
  round,
  rssMb,
  runBenchmark,
  sleep,
  startTown,
  summarize,
  table,
  waitForQuiet,
  writeResult,
  type Pm2,
  type Summary,
  type Town,
} from "./harness.js";

function options() {
  const { values } = parseArgs({
    options: {
      agents: { type: "string", default: "500" },
      idle: { type: "string", default: "60" },
      "status-rounds": { type: "string", default: "15" },
      runs: { type: "string", default: "2" },
      "pm2-dir": { type: "string" },
      "no-pm2": { type: "boolean", default: false },
      "max-load": { type: "string", default: "4" },
      "reap-kick": { type: "string" },
    },
  });
  const parsed = {
    agents: Number(values.agents),
    idle: Number(values.idle),
    statusRounds: Number(values["status-rounds"]),
    runs: Number(values.runs),
    maxLoad: Number(values["max-load"]),
  };
  if (!Number.isInteger(parsed.agents) || parsed.agents < 2 || parsed.agents % 2 !== 0)
    throw new Error(`Invalid --agents "${values.agents}": an even number ≥ 2 (2 per rig)`);
  for (const [name, value] of Object.entries(parsed))
    if (!(value > 0)) throw new Error(`Invalid --${name}: must be positive`);
  return { ...parsed, pm2Dir: values["pm2-dir"], pm2: !values["no-pm2"], reapKick: values["reap-kick"] };
}

/** CPU ms a supervisor has made run so far: itself, the children it waited for, and those still alive. */
function supervisorCpuMs(pid: number): number {
  const own = cpuTimes(pid);
  let live = 0;
  for (const child of childPids(pid)) {
    try {
      const times = cpuTimes(child);
      live += times.self + times.children;
    } catch {
      // Exited meanwhile: its time is in `children` once reaped.
    }
  }
  return own.self + own.children + live;
}

interface Idle {
  cpuPercent: number;
  rssMb: number;
  /** townd only: the tmux server, apart. */
  tmuxCpuPercent?: number;
  tmuxRssMb?: number;
}

/** Samples every source once a second for `seconds`, all in the same window. */
async function sampleIdle(
  sources: Record<string, { pid: number; tmuxPid?: number }>,
  seconds: number,
): Promise<Record<string, Idle>> {
  const first = Object.fromEntries(
    Object.entries(sources).map(([name, s]) => [
      name,
      { cpu: supervisorCpuMs(s.pid), tmux: s.tmuxPid === undefined ? 0 : cpuTimes(s.tmuxPid).self },
    ]),
  );
  const rss: Record<string, number[]> = {};
  const tmuxRss: Record<string, number[]> = {};
  const start = nowMs();
  for (let i = 0; i < seconds; i += 1) {
    await sleep(1000);
    for (const [name, s] of Object.entries(sources)) {
      (rss[name] ??= []).push(rssMb(s.pid));
      if (s.tmuxPid !== undefined) (tmuxRss[name] ??= []).push(rssMb(s.tmuxPid));
    }
  }
  const elapsed = nowMs() - start;
  const percent = (ms: number): number => round((ms / elapsed) * 100, 2);
  const out: Record<string, Idle> = {};
  for (const [name, s] of Object.entries(sources)) {
    const before = first[name] ?? { cpu: 0, tmux: 0 };
    const tmuxMs = s.tmuxPid === undefined ? 0 : cpuTimes(s.tmuxPid).self - before.tmux;
    out[name] = {
      cpuPercent: percent(supervisorCpuMs(s.pid) - before.cpu + tmuxMs),
      rssMb: round(median(rss[name] ?? [])),
      ...(s.tmuxPid === undefined
        ? {}
        : { tmuxCpuPercent: percent(tmuxMs), tmuxRssMb: round(median(tmuxRss[name] ?? [])) }),
    };
  }
  return out;
}

async function startTownFleet(
  agents: number,
  reapKick: string | undefined,
): Promise<{ town: Town; startupMs: number; processesMs: number }> {
  const town = await startTown("tdb-fleet-", {
    rigs: agents / 2,
    runtime: { command: "sleep", args: ["1000000"], process_names: ["sleep"] },
    daemon: {
      spawn_budget: { count: agents + 10 },
      ...(reapKick === undefined ? {} : { reap_kick_interval: reapKick }),
    },
  });
  let processesMs: number | undefined;
  for (const deadline = nowMs() + 15 * 60_000; ;) {
    try {
      const status = await town.status();
      // Every agent's process exists (what PM2's "online" means) …
      if (processesMs === undefined && status.agents.filter((agent) => agent.pid !== null).length >= agents)
        processesMs = nowMs() - town.startedAt;
      // … and its start-up sequence (beacon, nudge) is done.
      if (status.agents.filter((agent) => agent.state === "running").length >= agents)
        return {
          town,
          startupMs: nowMs() - town.startedAt,
          processesMs: processesMs ?? nowMs() - town.startedAt,
        };
    } catch {
      // The control socket appears a moment after `townd start` returns.
    }
    if (nowMs() > deadline) throw new Error(`townd did not start ${agents} agents within 15 min`);
    await sleep(250);
  }
}

async function startPm2Fleet(prefix: string, agents: number): Promise<{ pm2: Pm2; startupMs: number }> {
  const pm2 = await pm2Home(prefix);
  pm2.run("ping");
  const apps = Array.from({ length: agents }, (_, i) => ({
    name: `s${i}`,
    script: "sleep",
    args: ["1000000"],
    interpreter: "none",
  }));
  const file = join(pm2.home, "apps.json");
  writeFileSync(file, JSON.stringify({ apps }));
  const started = nowMs();
  pm2.run("start", file);
  for (;;) {
    const list = JSON.parse(pm2.run("jlist")) as { pm2_env: { status: string } }[];
    if (list.filter((app) => app.pm2_env.status === "online").length >= agents)
      return { pm2, startupMs: nowMs() - started };
    if (nowMs() - started > 15 * 60_000) throw new Error(`PM2 did not start ${agents} apps`);
    await sleep(1000);
  }
}

function timeProcess(args: string[], env?: NodeJS.ProcessEnv): number {
  const started = nowMs();
  const result = spawnSync(process.execPath, args, {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    ...(env === undefined ? {} : { env }),
  });
  const ms = nowMs() - started;
  if (result.status !== 0)
    throw new Error(`${args.slice(0, 3).join(" ")} exited ${result.status}: ${result.stderr}`);
  return ms;
}

const STATUS_WAYS = ["status", "api", "jlist", "version"] as const;
type StatusWay = (typeof STATUS_WAYS)[number];

interface Run {
  loadAtStart: number[];
  loadAtEnd: number[];
  startupMs: { townd: number; pm2: number | null };
  /** townd: until every agent's process exists (its start-up sequence may still run). */
  processesMs: number;
  idle: Record<string, Idle>;
  status: Record<StatusWay, number[]>;
}

async function runOnce(opts: ReturnType<typeof options>, prefix: string | null, index: number): Promise<Run> {
  const loadAtStart = loadavg().map((value) => round(value, 2));
  process.stderr.write(`run ${index + 1}: townd: starting ${opts.agents} agents\n`);
  const { town, startupMs: towndStartup, processesMs } = await startTownFleet(opts.agents, opts.reapKick);
  process.stderr.write(
    `run ${index + 1}: townd: all processes after ${round(processesMs / 1000)} s, all running after ${round(towndStartup / 1000)} s\n`,
  );
  let pm2: Pm2 | undefined;
  let pm2Startup: number | null = null;
  if (prefix !== null) {
    process.stderr.write(`run ${index + 1}: pm2: starting ${opts.agents} apps\n`);
    ({ pm2, startupMs: pm2Startup } = await startPm2Fleet(prefix, opts.agents));
    process.stderr.write(`run ${index + 1}: pm2: all online after ${round(pm2Startup / 1000)} s\n`);
  }
  await sleep(10_000);
  process.stderr.write(`run ${index + 1}: sampling idle for ${opts.idle} s\n`);
  const idle = await sampleIdle(
    {
      townd: { pid: town.daemonPid(), tmuxPid: town.tmuxPid() },
      ...(pm2 === undefined ? {} : { pm2: { pid: pm2.godPid() } }),
    },
    opts.idle,
  );

  const status: Record<StatusWay, number[]> = { status: [], api: [], jlist: [], version: [] };
  const pm2Bin = prefix === null ? "" : join(prefix, "node_modules", "pm2", "bin", "pm2");
  for (let round_ = 0; round_ < opts.statusRounds; round_ += 1) {
    const ways = STATUS_WAYS.filter((way) => way !== "jlist" || pm2 !== undefined).sort(
      () => Math.random() - 0.5,
    );
    for (const way of ways) {
      if (way === "status") status.status.push(timeProcess([MAIN, "--town", town.town, "status", "--json"]));
      else if (way === "version") status.version.push(timeProcess([MAIN, "--version"]));
      else if (way === "jlist" && pm2 !== undefined)
        status.jlist.push(timeProcess([pm2Bin, "jlist"], { ...process.env, PM2_HOME: pm2.home }));
      else if (way === "api") {
        const started = nowMs();
        await callApi(town.controlSocket, "GET", "/v1/status");
        status.api.push(nowMs() - started);
      }
      await sleep(200);
    }
  }
  pm2?.kill();
  town.dispose();
  return {
    loadAtStart,
    loadAtEnd: loadavg().map((value) => round(value, 2)),
    startupMs: { townd: round(towndStartup, 0), pm2: pm2Startup === null ? null : round(pm2Startup, 0) },
    processesMs: round(processesMs, 0),
    idle,
    status,
  };
}

await runBenchmark(async () => {
  const opts = options();
  const info = machine();
  const prefix = opts.pm2 ? await installPm2(opts.pm2Dir) : null;
  const runs: Run[] = [];
  for (let index = 0; index < opts.runs; index += 1) {
    const load = await waitForQuiet(opts.maxLoad, 10 * 60_000);
    if (load > opts.maxLoad) process.stderr.write(`load still ${load} after 10 min: running anyway\n`);
    runs.push(await runOnce(opts, prefix, index));
  }
  const statusOf = (way: StatusWay): Summary | null => {
    const values = runs.flatMap((run) => run.status[way]);
    return values.length === 0 ? null : summarize(values);
  };
  const idleOf = (system: string, key: keyof Idle): number[] =>
    runs.flatMap((run) => {
      const value = run.idle[system]?.[key];
      return value === undefined ? [] : [value];
    });
  const kick = opts.reapKick === undefined ? "" : ` --reap-kick ${opts.reapKick}`;
  const command = `node --import tsx bench/fleet.ts --agents ${opts.agents} --idle ${opts.idle} --status-rounds ${opts.statusRounds} --runs ${opts.runs}${kick}`;
  // A variant does not overwrite the plain run's results.
  const file = writeResult(`fleet${opts.reapKick === undefined ? "" : `-kick${opts.reapKick}`}`, {
    command,
    machine: { ...info, loadAtEnd: loadavg().map((value) => round(value, 2)) },
    agents: opts.agents,
    status: Object.fromEntries(STATUS_WAYS.map((way) => [way, statusOf(way)])),
    runs,
  });

  const perRun = (values: number[], unit = ""): string => values.map((v) => `${v}${unit}`).join(" / ");
  const ratio = (a: number, b: number): string => (Number.isFinite(a / b) ? `${round(a / b, 2)}×` : "—");
  const towndStart = runs.map((run) => round(run.startupMs.townd / 1000, 1));
  const towndProcesses = runs.map((run) => round(run.processesMs / 1000, 1));
  const pm2Start = runs.flatMap((run) =>
    run.startupMs.pm2 === null ? [] : [round(run.startupMs.pm2 / 1000, 1)],
  );
  const cpu = idleOf("townd", "cpuPercent");
  const pm2Cpu = idleOf("pm2", "cpuPercent");
  const rss = idleOf("townd", "rssMb");
  const pm2Rss = idleOf("pm2", "rssMb");
  const cell = (s: Summary | null): string =>
    s === null ? "—" : `${s.p50.toFixed(1)} / ${s.p95.toFixed(1)}`;
  const out = [
    `agents: ${opts.agents}, runs: ${opts.runs}; load (1/5/15 min) per run: ${runs.map((run) => `${run.loadAtStart.join("/")} → ${run.loadAtEnd.join("/")}`).join("; ")}`,
    "",
    table(
      ["Metric", "townd, per run", "PM2, per run", "townd ÷ PM2 (medians)"],
      ["---", "---:", "---:", "---:"],
      [
        [
          `${opts.agents} agents from nothing to every agent's process running (PM2: online), s`,
          perRun(towndProcesses),
          perRun(pm2Start),
          ratio(median(towndProcesses), median(pm2Start)),
        ],
        [
          `${opts.agents} agents from nothing to all running (townd: start-up sequences done), s`,
          perRun(towndStart),
          perRun(pm2Start),
          ratio(median(towndStart), median(pm2Start)),
        ],
        [
          "idle CPU, % of one core (townd: daemon + its tmux clients + tmux server)",
          perRun(cpu),
          perRun(pm2Cpu),
          ratio(median(cpu), median(pm2Cpu)),
        ],
        ["  of which the tmux server", perRun(idleOf("townd", "tmuxCpuPercent")), "—", ""],
        ["idle RSS of the daemon, MB", perRun(rss), perRun(pm2Rss), ratio(median(rss), median(pm2Rss))],
        ["  the tmux server's RSS, MB", perRun(idleOf("townd", "tmuxRssMb")), "—", ""],
      ],
    ),
    "",
    table(
      ["Command", "p50 / p95 ms", "÷ `pm2 jlist` (p50)", "÷ API round trip (p50)"],
      ["---", "---:", "---:", "---:"],
      [
        ["`townd status --json` (whole process)", statusOf("status")],
        ["API round trip `GET /v1/status`, in-process (floor)", statusOf("api")],
        [`\`pm2 jlist\` (${opts.agents} apps, whole process)`, statusOf("jlist")],
        ["`townd --version` (Node + CLI start-up)", statusOf("version")],
      ].map(([name, s]) => {
        const summary = s as Summary | null;
        return [
          name as string,
          cell(summary),
          summary === null ? "—" : ratio(summary.p50, statusOf("jlist")?.p50 ?? Number.NaN),
          summary === null ? "—" : ratio(summary.p50, statusOf("api")?.p50 ?? Number.NaN),
        ];
      }),
    ),
    "",
    `raw: ${file}`,
  ];
  process.stdout.write(`${out.join("\n")}\n`);
});
