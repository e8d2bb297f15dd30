/**
 * The daemon's footprint: RSS and CPU of the townd daemon process idle with 0, 100 and 500 agents, then
 * RSS and CPU per pass over 10 000 passes driven back to back; PM2's God daemon idle with as many `sleep`
 * apps beside it, measured in the same run.
 *
 *   node --import tsx bench/footprint.ts [--sizes 0,100,500] [--idle 60] [--passes 10000] [--runs 2]
 *                                        [--pass-agents 100] [--pm2-dir DIR] [--no-pm2] [--max-load 4]
 *
 * Agents are `sleep 1000000` (cheap processes), 2 per rig, in a private town per size with default
 * settings (3-minute heartbeat, 0.5 s death poll; the Deacon is off). Once every agent is running and its
 * start-up sequence is done, the run waits 10 s and then samples /proc every second for `--idle` seconds:
 * VmRSS of /proc/<pid>/status, utime+stime (the daemon itself) and cutime+cstime (the tmux client
 * processes it ran and waited for) of /proc/<pid>/stat, and the same for the town's tmux server.
 *
 * Passes: on the `--pass-agents` town the daemon is sent SIGUSR1 as soon as its state file shows the
 * previous pass done (recovery_heartbeat_interval cannot go below 100 ms, so a timer would need 17 min for
 * 10 000 passes); RSS and CPU are recorded at passes 0, 1000, 2000, 5000 and 10 000, and 30 s after.
 *
 * Each run measures every size for townd, then for PM2, each in a fresh town / PM2_HOME; a run starts once
 * the 1-minute load average is at most --max-load (or after waiting 10 min).
 *
 * Prints markdown tables and writes .bench/footprint.json.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  cpuTimes,
  installPm2,
  machine,
  median,
  nowMs,
  pm2Home,
  round,
  rssMb,
  runBenchmark,
  signal,
  sleep,
  startTown,
  table,
  waitForQuiet,
  waitForRunning,
  writeResult,
  type Town,
} from "./harness.js";

interface IdleSample {
  rssMb: { median: number; min: number; max: number };
  /** Percent of one CPU over the sampling window. */
  cpuPercent: number;
  childrenCpuPercent: number;
  tmuxServer?: { rssMb: number; cpuPercent: number };
  seconds: number;
}

interface IdleResult {
  run: number;
  system: "townd" | "pm2";
  agents: number;
  startupSeconds: number;
  idle: IdleSample;
}

interface Checkpoint {
  passes: number;
  rssMb: number;
  cpuSelfMs: number;
  cpuChildrenMs: number;
  tmuxCpuMs: number;
  wallMs: number;
}

function options() {
  const { values } = parseArgs({
    options: {
      sizes: { type: "string", default: "0,100,500" },
      idle: { type: "string", default: "60" },
      passes: { type: "string", default: "10000" },
      "pass-agents": { type: "string", default: "100" },
      "pm2-dir": { type: "string" },
      "no-pm2": { type: "boolean", default: false },
      "max-load": { type: "string", default: "4" },
      runs: { type: "string", default: "2" },
    },
  });
  const sizes = values.sizes.split(",").map((text) => Number(text.trim()));
  const idle = Number(values.idle);
  const passes = Number(values.passes);
  const passAgents = Number(values["pass-agents"]);
  const maxLoad = Number(values["max-load"]);
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`Invalid --runs "${values.runs}"`);
  if (sizes.some((size) => !Number.isInteger(size) || size < 0 || size % 2 !== 0))
    throw new Error(`Invalid --sizes "${values.sizes}": even agent counts (2 per rig)`);
  if (!(idle > 0) || !Number.isInteger(passes) || passes < 0 || !(maxLoad > 0))
    throw new Error("Invalid --idle, --passes or --max-load");
  if (passes > 0 && !sizes.includes(passAgents))
    throw new Error(`--pass-agents ${passAgents} must be one of --sizes`);
  return {
    sizes,
    idle,
    passes,
    passAgents,
    maxLoad,
    runs,
    pm2Dir: values["pm2-dir"],
    pm2: !values["no-pm2"],
  };
}

/** Samples `pid` (and optionally the tmux server) once a second for `seconds`. */
async function sampleIdle(pid: number, seconds: number, tmuxPid?: number): Promise<IdleSample> {
  const rss: number[] = [];
  const tmuxRss: number[] = [];
  const first = cpuTimes(pid);
  const firstTmux = tmuxPid === undefined ? undefined : cpuTimes(tmuxPid);
  const start = nowMs();
  for (let i = 0; i < seconds; i += 1) {
    await sleep(1000);
    rss.push(rssMb(pid));
    if (tmuxPid !== undefined) tmuxRss.push(rssMb(tmuxPid));
  }
  const elapsed = nowMs() - start;
  const last = cpuTimes(pid);
  const percent = (ms: number): number => round((ms / elapsed) * 100, 2);
  const sample: IdleSample = {
    rssMb: { median: round(median(rss)), min: round(Math.min(...rss)), max: round(Math.max(...rss)) },
    cpuPercent: percent(last.self - first.self),
    childrenCpuPercent: percent(last.children - first.children),
    seconds: round(elapsed / 1000),
  };
  if (tmuxPid !== undefined && firstTmux !== undefined) {
    const lastTmux = cpuTimes(tmuxPid);
    sample.tmuxServer = {
      rssMb: round(median(tmuxRss)),
      cpuPercent: percent(lastTmux.self - firstTmux.self),
    };
  }
  return sample;
}

function heartbeatCount(town: Town): number {
  try {
    const state = JSON.parse(readFileSync(join(town.town, "daemon", "state.json"), "utf8")) as {
      heartbeat_count: number;
    };
    return state.heartbeat_count;
  } catch {
    return -1;
  }
}

/** Drives `passes` passes back to back with SIGUSR1, recording checkpoints. */
async function drivePasses(town: Town, passes: number): Promise<Checkpoint[]> {
  const pid = town.daemonPid();
  const tmuxPid = town.tmuxPid();
  const base = heartbeatCount(town);
  const start = nowMs();
  const first = cpuTimes(pid);
  const firstTmux = cpuTimes(tmuxPid);
  const marks = [...new Set([0, 1000, 2000, 5000, passes].filter((mark) => mark <= passes))].sort(
    (a, b) => a - b,
  );
  const checkpoints: Checkpoint[] = [];
  const record = (done: number): void => {
    const cpu = cpuTimes(pid);
    checkpoints.push({
      passes: done,
      rssMb: round(rssMb(pid)),
      cpuSelfMs: round(cpu.self - first.self, 0),
      cpuChildrenMs: round(cpu.children - first.children, 0),
      tmuxCpuMs: round(cpuTimes(tmuxPid).self - firstTmux.self, 0),
      wallMs: round(nowMs() - start, 0),
    });
  };
  record(0);
  let next = 1;
  let done = 0;
  while (done < passes) {
    const before = heartbeatCount(town);
    signal(pid, "SIGUSR1");
    // Wait for the pass to be written; a lost wake-up is re-sent after 1 s.
    for (const resend = Date.now() + 1000; heartbeatCount(town) <= before && Date.now() < resend;)
      await sleep(1);
    done = heartbeatCount(town) - base;
    while (next < marks.length && done >= (marks[next] ?? Infinity)) {
      record(done);
      next += 1;
    }
    if (done > 0 && done % 1000 === 0) process.stderr.write(`${done} of ${passes} passes\n`);
  }
  await sleep(30_000);
  const after = cpuTimes(pid);
  checkpoints.push({
    passes: -1,
    rssMb: round(rssMb(pid)),
    cpuSelfMs: round(after.self - first.self, 0),
    cpuChildrenMs: round(after.children - first.children, 0),
    tmuxCpuMs: round(cpuTimes(tmuxPid).self - firstTmux.self, 0),
    wallMs: round(nowMs() - start, 0),
  });
  return checkpoints;
}

async function townIdle(
  opts: ReturnType<typeof options>,
  run: number,
  size: number,
): Promise<{ result: IdleResult; checkpoints: Checkpoint[] }> {
  const town = await startTown("tdb-footprint-", {
    rigs: size / 2,
    runtime: { command: "sleep", args: ["1000000"], process_names: ["sleep"] },
    daemon: { spawn_budget: { count: 100_000 } },
  });
  process.stderr.write(`run ${run}: townd: waiting for ${size} agents\n`);
  const startupMs = await waitForRunning(town, size, 15 * 60_000);
  await sleep(10_000);
  process.stderr.write(`run ${run}: townd: sampling ${size} agents for ${opts.idle} s\n`);
  const sample = await sampleIdle(town.daemonPid(), opts.idle, town.tmuxPid());
  const result: IdleResult = {
    run,
    system: "townd",
    agents: size,
    startupSeconds: round(startupMs / 1000),
    idle: sample,
  };
  let checkpoints: Checkpoint[] = [];
  if (opts.passes > 0 && size === opts.passAgents) {
    process.stderr.write(`run ${run}: townd: driving ${opts.passes} passes with ${size} agents\n`);
    checkpoints = await drivePasses(town, opts.passes);
  }
  town.dispose();
  return { result, checkpoints };
}

async function pm2Idle(opts: ReturnType<typeof options>, prefix: string, run: number, size: number) {
  const pm2 = await pm2Home(prefix);
  const started = nowMs();
  pm2.run("ping");
  if (size > 0) {
    const apps = Array.from({ length: size }, (_, i) => ({
      name: `s${i}`,
      script: "sleep",
      args: ["1000000"],
      interpreter: "none",
    }));
    const file = join(pm2.home, "apps.json");
    writeFileSync(file, JSON.stringify({ apps }));
    pm2.run("start", file);
    for (;;) {
      const list = JSON.parse(pm2.run("jlist")) as { pm2_env: { status: string } }[];
      if (list.filter((app) => app.pm2_env.status === "online").length >= size) break;
      if (nowMs() - started > 15 * 60_000) throw new Error(`PM2 did not start ${size} apps`);
      await sleep(1000);
    }
  }
  const startupMs = nowMs() - started;
  await sleep(10_000);
  process.stderr.write(`run ${run}: pm2: sampling ${size} apps for ${opts.idle} s\n`);
  const sample = await sampleIdle(pm2.godPid(), opts.idle);
  pm2.kill();
  return {
    version: pm2.version,
    result: {
      run,
      system: "pm2",
      agents: size,
      startupSeconds: round(startupMs / 1000),
      idle: sample,
    } satisfies IdleResult,
  };
}

async function main(): Promise<void> {
  const opts = options();
  const info = machine();
  const idle: IdleResult[] = [];
  const passRuns: { run: number; loadAtStart: number[]; checkpoints: Checkpoint[] }[] = [];
  const loads: { run: number; start: number[]; end: number[] }[] = [];
  const prefix = opts.pm2 ? await installPm2(opts.pm2Dir) : null;
  let pm2Version: string | null = null;

  for (let run = 1; run <= opts.runs; run += 1) {
    const load = await waitForQuiet(opts.maxLoad, 10 * 60_000);
    if (load > opts.maxLoad) process.stderr.write(`load still ${load} after 10 min: running anyway\n`);
    const start = loadavg().map((value) => round(value, 2));
    for (const size of opts.sizes) {
      const loadAtStart = loadavg().map((value) => round(value, 2));
      const { result, checkpoints } = await townIdle(opts, run, size);
      idle.push(result);
      if (checkpoints.length > 0) passRuns.push({ run, loadAtStart, checkpoints });
    }
    if (prefix !== null)
      for (const size of opts.sizes) {
        const { version, result } = await pm2Idle(opts, prefix, run, size);
        pm2Version = version;
        idle.push(result);
      }
    loads.push({ run, start, end: loadavg().map((value) => round(value, 2)) });
  }

  const perPass = passRuns.map(({ run, checkpoints }) => {
    const last = checkpoints.filter((c) => c.passes > 0).at(-1);
    if (last === undefined)
      return { run, wallMs: NaN, cpuSelfMs: NaN, cpuChildrenMs: NaN, tmuxServerMs: NaN };
    return {
      run,
      wallMs: round(last.wallMs / last.passes, 2),
      cpuSelfMs: round(last.cpuSelfMs / last.passes, 2),
      cpuChildrenMs: round(last.cpuChildrenMs / last.passes, 2),
      tmuxServerMs: round(last.tmuxCpuMs / last.passes, 2),
    };
  });
  const command = `node --import tsx bench/footprint.ts --sizes ${opts.sizes.join(",")} --idle ${opts.idle} --passes ${opts.passes} --pass-agents ${opts.passAgents} --runs ${opts.runs}`;
  const file = writeResult("footprint", {
    command,
    machine: { ...info, loadAtEnd: loadavg().map((value) => round(value, 2)) },
    loads,
    pm2: pm2Version,
    pm2ReferenceFromPeers: { apps0: [58.4, 59.0], apps50After70s: [60.8, 62.9] },
    idle,
    passes: { agents: opts.passAgents, runs: passRuns, perPass },
  });

  const label = (system: "townd" | "pm2"): string =>
    system === "townd" ? "townd daemon" : `PM2 ${pm2Version ?? ""} God daemon`;
  const idleRows: (string | number)[][] = [];
  for (const system of ["townd", "pm2"] as const) {
    for (const size of opts.sizes) {
      const rows = idle.filter((r) => r.system === system && r.agents === size);
      if (rows.length === 0) continue;
      const rss = rows.map((r) => r.idle.rssMb.median);
      idleRows.push([
        label(system),
        size,
        rows.map((r) => r.idle.rssMb.median).join(" / "),
        round(median(rss)),
        `${Math.min(...rows.map((r) => r.idle.rssMb.min))}–${Math.max(...rows.map((r) => r.idle.rssMb.max))}`,
        rows.map((r) => r.idle.cpuPercent).join(" / "),
        system === "townd" ? rows.map((r) => r.idle.childrenCpuPercent).join(" / ") : "—",
        system === "townd"
          ? rows
              .map((r) => `${r.idle.tmuxServer?.rssMb ?? "?"} MB, ${r.idle.tmuxServer?.cpuPercent ?? "?"} %`)
              .join(" / ")
          : "—",
        rows.map((r) => r.startupSeconds).join(" / "),
      ]);
    }
  }
  const out = [
    `runs: ${opts.runs}; load (1/5/15 min) per run: ${loads.map((l) => `${l.start.join("/")} → ${l.end.join("/")}`).join("; ")}`,
    "",
    table(
      [
        "Process",
        "agents",
        "RSS MB per run (median of samples)",
        "RSS MB median",
        "RSS range",
        "CPU % self per run",
        "CPU % tmux clients per run",
        "tmux server RSS, CPU per run",
        "all up after s",
      ],
      ["---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:"],
      idleRows,
    ),
    "",
  ];
  for (const { run, checkpoints } of passRuns) {
    out.push(
      `run ${run}, passes with ${opts.passAgents} agents:`,
      "",
      table(
        ["passes", "RSS MB", "daemon CPU ms", "tmux clients CPU ms", "tmux server CPU ms", "wall s"],
        ["---:", "---:", "---:", "---:", "---:", "---:"],
        checkpoints.map((c) => [
          c.passes < 0 ? "+30 s idle" : c.passes,
          c.rssMb,
          c.cpuSelfMs,
          c.cpuChildrenMs,
          c.tmuxCpuMs,
          round(c.wallMs / 1000),
        ]),
      ),
      "",
    );
  }
  for (const p of perPass)
    out.push(
      `run ${p.run} per pass (${opts.passAgents} agents): wall ${p.wallMs} ms, daemon CPU ${p.cpuSelfMs} ms, tmux clients ${p.cpuChildrenMs} ms, tmux server ${p.tmuxServerMs} ms`,
    );
  out.push(`raw: ${file}`);
  process.stdout.write(`${out.join("\n")}\n`);
}

await runBenchmark(main);
