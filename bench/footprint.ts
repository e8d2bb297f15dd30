/**
 * The daemon's footprint: RSS and CPU of the townd daemon process idle with 0, 100 and 500 agents, then
 * RSS and CPU per pass over 10 000 passes driven back to back; PM2's God daemon idle with as many `sleep`
 * apps beside it, measured in the same run.
 *
 *   node --import tsx bench/footprint.ts [--sizes 0,100,500] [--idle 60] [--passes 10000]
 *                                        [--pass-agents 100] [--pm2-dir DIR] [--no-pm2] [--max-load 4]
 *
 * Agents are `sleep 1000000` (cheap processes), 2 per rig, in a private town per size with default
 * settings (3-minute heartbeat, 2 s death poll; the Deacon is off). Once every agent is running and its
 * start-up sequence is done, the run waits 10 s and then samples /proc every second for `--idle` seconds:
 * VmRSS of /proc/<pid>/status, utime+stime (the daemon itself) and cutime+cstime (the tmux client
 * processes it ran and waited for) of /proc/<pid>/stat, and the same for the town's tmux server.
 *
 * Passes: on the `--pass-agents` town the daemon is sent SIGUSR1 as soon as its state file shows the
 * previous pass done (recovery_heartbeat_interval cannot go below 100 ms, so a timer would need 17 min for
 * 10 000 passes); RSS and CPU are recorded at passes 0, 1000, 2000, 5000 and 10 000, and 30 s after.
 *
 * Prints markdown tables and writes .bench/footprint.json.
 */
import { readFileSync } from "node:fs";
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
    },
  });
  const sizes = values.sizes.split(",").map((text) => Number(text.trim()));
  const idle = Number(values.idle);
  const passes = Number(values.passes);
  const passAgents = Number(values["pass-agents"]);
  const maxLoad = Number(values["max-load"]);
  if (sizes.some((size) => !Number.isInteger(size) || size < 0 || size % 2 !== 0))
    throw new Error(`Invalid --sizes "${values.sizes}": even agent counts (2 per rig)`);
  if (!(idle > 0) || !Number.isInteger(passes) || passes < 0 || !(maxLoad > 0))
    throw new Error("Invalid --idle, --passes or --max-load");
  if (passes > 0 && !sizes.includes(passAgents))
    throw new Error(`--pass-agents ${passAgents} must be one of --sizes`);
  return { sizes, idle, passes, passAgents, maxLoad, pm2Dir: values["pm2-dir"], pm2: !values["no-pm2"] };
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
      record(marks[next] ?? done);
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

async function main(): Promise<void> {
  const opts = options();
  const loadBefore = await waitForQuiet(opts.maxLoad, 10 * 60_000);
  const info = machine();
  const idle: IdleResult[] = [];
  let checkpoints: Checkpoint[] = [];

  for (const size of opts.sizes) {
    const town = await startTown("tdb-footprint-", {
      rigs: size / 2,
      runtime: { command: "sleep", args: ["1000000"], process_names: ["sleep"] },
      daemon: { spawn_budget: { count: 100_000 } },
    });
    process.stderr.write(`townd: waiting for ${size} agents\n`);
    const startupMs = await waitForRunning(town, size, 15 * 60_000);
    await sleep(10_000);
    process.stderr.write(`townd: sampling ${size} agents for ${opts.idle} s\n`);
    const sample = await sampleIdle(town.daemonPid(), opts.idle, town.tmuxPid());
    idle.push({ system: "townd", agents: size, startupSeconds: round(startupMs / 1000), idle: sample });
    if (opts.passes > 0 && size === opts.passAgents) {
      process.stderr.write(`townd: driving ${opts.passes} passes with ${size} agents\n`);
      checkpoints = await drivePasses(town, opts.passes);
    }
    town.dispose();
  }

  let pm2Version: string | null = null;
  if (opts.pm2) {
    const prefix = await installPm2(opts.pm2Dir);
    for (const size of opts.sizes) {
      const pm2 = await pm2Home(prefix);
      pm2Version = pm2.version;
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
        const { writeFileSync } = await import("node:fs");
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
      process.stderr.write(`pm2: sampling ${size} apps for ${opts.idle} s\n`);
      const sample = await sampleIdle(pm2.godPid(), opts.idle);
      idle.push({ system: "pm2", agents: size, startupSeconds: round(startupMs / 1000), idle: sample });
      pm2.kill();
    }
  }
  const loadAfter = loadavg().map((value) => round(value, 2));

  const passRows = checkpoints.filter((c) => c.passes >= 0);
  const last = passRows.at(-1);
  const perPass =
    last === undefined || last.passes === 0
      ? null
      : {
          wallMs: round(last.wallMs / last.passes, 2),
          cpuSelfMs: round(last.cpuSelfMs / last.passes, 2),
          cpuChildrenMs: round(last.cpuChildrenMs / last.passes, 2),
          tmuxServerMs: round(last.tmuxCpuMs / last.passes, 2),
        };
  const command = `node --import tsx bench/footprint.ts --sizes ${opts.sizes.join(",")} --idle ${opts.idle} --passes ${opts.passes} --pass-agents ${opts.passAgents}`;
  const file = writeResult("footprint", {
    command,
    machine: { ...info, loadAtEnd: loadAfter, loadBeforeWait: loadBefore },
    pm2: pm2Version,
    idle,
    passes: { agents: opts.passAgents, checkpoints, perPass },
  });

  const idleRows = idle.map((r) => [
    r.system === "townd" ? "townd daemon" : `PM2 ${pm2Version ?? ""} God daemon`,
    r.agents,
    r.idle.rssMb.median,
    `${r.idle.rssMb.min}–${r.idle.rssMb.max}`,
    r.idle.cpuPercent,
    r.system === "townd" ? r.idle.childrenCpuPercent : "—",
    r.idle.tmuxServer === undefined
      ? "—"
      : `${r.idle.tmuxServer.rssMb} MB / ${r.idle.tmuxServer.cpuPercent} %`,
    r.startupSeconds,
  ]);
  const out = [
    `load ${info.loadAtStart.join(" / ")} → ${loadAfter.join(" / ")}`,
    "",
    table(
      [
        "Process",
        "agents",
        "RSS MB (median)",
        "RSS range",
        "CPU % (self)",
        "CPU % (tmux clients)",
        "tmux server RSS / CPU",
        "all up after s",
      ],
      ["---", "---:", "---:", "---:", "---:", "---:", "---:", "---:"],
      idleRows,
    ),
    "",
  ];
  if (passRows.length > 0) {
    out.push(
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
      `per pass (${opts.passAgents} agents): wall ${perPass?.wallMs ?? "?"} ms, daemon CPU ${perPass?.cpuSelfMs ?? "?"} ms, tmux clients ${perPass?.cpuChildrenMs ?? "?"} ms, tmux server ${perPass?.tmuxServerMs ?? "?"} ms`,
    );
  }
  out.push(`raw: ${file}`);
  process.stdout.write(`${out.join("\n")}\n`);
}

await runBenchmark(main);
