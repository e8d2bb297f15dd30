/**
 * Death to respawn: an agent exits, how long until a NEW agent process runs (its first line written)?
 * townd with its default 3-minute recovery heartbeat (so what is measured is event-driven recovery: tmux's
 * pane-died hook, the SIGCHLD kick every reap_kick_interval for exits tmux 3.3a fails to reap, and the death
 * poll as the last resort), beside PM2 restarting the same script on the same machine in the same run, and
 * a bare Node respawn loop (the floor: Node's own start-up).
 *
 *   node --import tsx bench/respawn.ts [--deaths 50] [--runs 3] [--gap-min 1000] [--gap-max 2500]
 *                                      [--pm2-dir DIR] [--max-load 4] [--no-pm2]
 *
 * The agent is a tiny Node script (see AGENT_SOURCE in harness.ts): it appends `start <epoch ms>` when Node
 * runs it and, on SIGTERM, `exit <epoch ms>` before exiting 1. A death is SIGTERM sent by PID; its latency
 * is exit line → the replacement's start line (so both include Node's start-up, as peers.md §4.1 does).
 * Deaths are interleaved townd → PM2 → floor, with a random 1–2.5 s pause after each, so machine noise
 * falls on all three alike and townd's deaths land at random phases of its kick and poll timers.
 *
 * Each run has its own town, PM2 home and floor loop; a run starts once the 1-minute load average is at
 * most --max-load (or after waiting 10 min). Each townd agent dies once per run (rigs = deaths / 2), so
 * townd's restart policy runs with its defaults (a first restart is immediate); only the town-wide guards
 * that would rightly stop a test that kills 50 agents in two minutes are raised: the spawn budget and the
 * mass-death threshold.
 *
 * The reference (gastown-daemon.md §4–5) only notices a dead agent at its next 3-minute heartbeat; its
 * figure is computed, not measured: a death at a uniformly random time waits U(0, 180 s).
 *
 * The townd deaths are also sorted by how the daemon heard of them: the hook's line in daemon/pane-events
 * (read every 2 ms) and the reasons of the pass that respawned the agent (daemon log).
 *
 * --death-poll D and --reap-kick D set death_poll_interval and reap_kick_interval (e.g. "2s", or "0" for
 * off; default: townd's own defaults). `--reap-kick 0` shows what the kick is for. Such variants write
 * .bench/respawn-kick<D>-poll<D>.json and leave the plain run's results alone.
 *
 * Prints markdown tables (per run and the median over runs) and writes .bench/respawn.json.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  AGENT_SOURCE,
  AgentLog,
  LineFollower,
  installPm2,
  machine,
  median,
  pm2Home,
  onCleanup,
  round,
  runBenchmark,
  signal,
  sleep,
  spawnOwned,
  startTown,
  summarize,
  table,
  waitForQuiet,
  waitForRunning,
  writeResult,
  type Summary,
} from "./harness.js";

const REFERENCE_HEARTBEAT_MS = 180_000;

/** A respawn loop with nothing else in it: the floor any supervisor of a Node agent pays. */
const FLOOR_SOURCE = `"use strict";
const { spawn } = require("node:child_process");
const [agent, log] = process.argv.slice(2);
let child;
let stopping = false;
const start = () => {
  child = spawn(process.execPath, [agent, log, "floor"], { stdio: "ignore" });
  child.on("exit", () => { if (!stopping) start(); });
};
process.on("SIGTERM", () => { stopping = true; child.kill("SIGKILL"); process.exit(0); });
start();
`;

interface Death {
  system: string;
  identity: string;
  oldPid: number;
  exitAt: number;
  startAt: number;
  generation: string;
  latencyMs: number;
  /** townd only: when the pane-died hook's line for this session appeared, ms after the exit. */
  hookAfterMs?: number | null;
  /** townd only: the reasons of the pass that respawned the agent (from the daemon log). */
  passReasons?: string[] | null;
  /** townd only: exit → the daemon's "Started …" log line (respawn-pane done), ms resolution. */
  respawnIssuedMs?: number | null;
}

interface LogEntry {
  time: string;
  msg: string;
  reasons?: string[];
}

function options() {
  const { values } = parseArgs({
    options: {
      deaths: { type: "string", default: "50" },
      "gap-min": { type: "string", default: "1000" },
      "gap-max": { type: "string", default: "2500" },
      "pm2-dir": { type: "string" },
      "max-load": { type: "string", default: "4" },
      "no-pm2": { type: "boolean", default: false },
      runs: { type: "string", default: "3" },
      "reap-kick": { type: "string" },
      "death-poll": { type: "string" },
    },
  });
  const deaths = Number(values.deaths);
  const gapMin = Number(values["gap-min"]);
  const gapMax = Number(values["gap-max"]);
  const maxLoad = Number(values["max-load"]);
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`Invalid --runs "${values.runs}"`);
  if (!Number.isInteger(deaths) || deaths < 2 || !(gapMin >= 0) || !(gapMax >= gapMin) || !(maxLoad > 0))
    throw new Error("Invalid options: --deaths ≥ 2, 0 ≤ --gap-min ≤ --gap-max, --max-load > 0");
  return {
    deaths,
    gapMin,
    gapMax,
    maxLoad,
    runs,
    reapKick: values["reap-kick"],
    deathPoll: values["death-poll"],
    pm2Dir: values["pm2-dir"],
    pm2: !values["no-pm2"],
  };
}

/**
 * Kills the current process of `identity` and waits for its replacement's first line. For townd, the
 * pane-died hook's file is read every 2 ms meanwhile, to see when (and whether) the hook fired.
 */
async function killAndWait(
  log: AgentLog,
  system: string,
  identity: string,
  timeoutMs: number,
  hook?: { events: LineFollower; session: string },
): Promise<Death> {
  hook?.events.poll();
  const seenBefore = hook?.events.lines.length ?? 0;
  const timer =
    hook === undefined
      ? undefined
      : setInterval(() => {
          hook.events.poll();
        }, 2);
  try {
    const death = await killAndWaitInner(log, system, identity, timeoutMs);
    if (hook === undefined) return death;
    // The hook may fire after the replacement started (a lost SIGCHLD reaped later): look a little longer.
    await sleep(50);
    hook.events.poll();
    const line = hook.events.lines.slice(seenBefore).find((entry) => entry.text === hook.session);
    return { ...death, hookAfterMs: line === undefined ? null : line.at - death.exitAt };
  } finally {
    clearInterval(timer);
  }
}

async function killAndWaitInner(
  log: AgentLog,
  system: string,
  identity: string,
  timeoutMs: number,
): Promise<Death> {
  const before = log.latestStart(identity);
  if (before === undefined) throw new Error(`${system}: no running ${identity} to kill`);
  if (!signal(before.pid, "SIGTERM"))
    throw new Error(`${system}: ${identity} (pid ${before.pid}) is already gone`);
  const exit = await log.waitFor(
    () => log.exits.find((line) => line.pid === before.pid),
    10_000,
    `${system} ${identity} pid ${before.pid} to exit`,
  );
  const next = await log.waitFor(
    () =>
      log.starts.find(
        (line) => line.identity === identity && line.at > before.at && line.generation !== before.generation,
      ),
    timeoutMs,
    `${system} to respawn ${identity}`,
  );
  return {
    system,
    identity,
    oldPid: before.pid,
    exitAt: exit.at,
    startAt: next.at,
    generation: next.generation,
    latencyMs: next.at - exit.at,
  };
}

/** Every JSON line of the daemon's log and its rotated files, oldest first. */
function readDaemonLog(logFile: string): LogEntry[] {
  const dir = join(logFile, "..");
  const base = logFile.slice(dir.length + 1);
  const rotated = readdirSync(dir)
    .filter((name) => name.startsWith(`${base}.`))
    .sort()
    .reverse();
  const entries: LogEntry[] = [];
  for (const name of [...rotated, base]) {
    for (const line of readFileSync(join(dir, name), "utf8").split("\n")) {
      if (line.trim() === "") continue;
      try {
        entries.push(JSON.parse(line) as LogEntry);
      } catch {
        // A line cut by rotation.
      }
    }
  }
  return entries;
}

/** The reasons of the pass that started each townd replacement, and when it logged the start. */
function annotate(entries: LogEntry[], deaths: Death[]): Death[] {
  return deaths.map((death) => {
    const index = entries.findIndex(
      (entry) =>
        entry.msg.startsWith(`Started ${death.identity} in session`) &&
        entry.msg.includes(`(generation ${death.generation}`),
    );
    if (index === -1) return { ...death, passReasons: null, respawnIssuedMs: null };
    const complete = entries.slice(index).find((entry) => entry.msg.startsWith("Heartbeat complete"));
    return {
      ...death,
      passReasons: complete?.reasons ?? null,
      respawnIssuedMs: Date.parse(entries[index]?.time ?? "") - death.exitAt,
    };
  });
}

/**
 * How townd heard of a death. The hook fires within milliseconds when tmux reaps the pane; when tmux
 * 3.3a loses the SIGCHLD it fires only once something makes the server reap: townd's SIGCHLD kick (every
 * reap_kick_interval, or at the death poll's snapshot), so a hook line more than LATE_HOOK_MS after the exit
 * is a lost SIGCHLD that waited for more than one kick.
 */
const LATE_HOOK_MS = 250;
type Notice = "hook" | "late hook" | "no hook";
const notice = (death: Death): Notice =>
  death.hookAfterMs == null ? "no hook" : death.hookAfterMs > LATE_HOOK_MS ? "late hook" : "hook";

/** Which wake-ups the respawning pass had: the hook ("pane died"), the poll ("pane died in <s>"), other. */
function passKind(death: Death): string {
  const reasons = death.passReasons ?? [];
  const hook = reasons.includes("pane died");
  const poll = reasons.some((reason) => reason.startsWith("pane died in "));
  if (hook && poll) return "hook+poll";
  if (hook) return "hook";
  if (poll) return "poll";
  return `other (${reasons.join(", ") || "not found"})`;
}

interface Run {
  loadAtStart: number[];
  loadAtEnd: number[];
  summary: Record<string, Summary>;
  deaths: Death[];
}

async function runOnce(
  opts: ReturnType<typeof options>,
  pm2Prefix: string | null,
  index: number,
): Promise<Run> {
  const loadAtStart = loadavg().map((value) => round(value, 2));
  const work = mkdtempSync(join(tmpdir(), "tdb-respawn-"));
  onCleanup(`remove ${work}`, () => {
    rmSync(work, { recursive: true, force: true });
  });
  const agentFile = join(work, "agent.cjs");
  writeFileSync(agentFile, AGENT_SOURCE);
  writeFileSync(join(work, "floor.cjs"), FLOOR_SOURCE);

  const rigs = Math.ceil(opts.deaths / 2);
  const townLog = new AgentLog(join(work, "townd.log"));
  const town = await startTown("tdb-respawn-town-", {
    rigs,
    runtime: { command: process.execPath, args: [agentFile, townLog.file], process_names: ["node"] },
    daemon: {
      spawn_budget: { count: 100_000 },
      mass_death_threshold: 100_000,
      ...(opts.deathPoll === undefined ? {} : { death_poll_interval: opts.deathPoll }),
      ...(opts.reapKick === undefined ? {} : { reap_kick_interval: opts.reapKick }),
    },
  });
  process.stderr.write(`run ${index + 1}: waiting for ${rigs * 2} townd agents\n`);
  await waitForRunning(town, rigs * 2, 300_000);
  const live = (await town.status()).agents.filter((agent) => agent.state === "running");
  const running = readDaemonLog(town.logFile).find((entry) =>
    entry.msg.includes("recovery heartbeat interval"),
  );
  if (running?.msg.includes("interval 180s") !== true)
    throw new Error(`Expected the default 3-minute heartbeat, the daemon says: ${running?.msg ?? "nothing"}`);
  const paneEvents = new LineFollower(join(town.town, "daemon", "pane-events"));

  const pm2Log = new AgentLog(join(work, "pm2.log"));
  const pm2 = pm2Prefix === null ? undefined : await pm2Home(pm2Prefix);
  if (pm2 !== undefined) {
    pm2.run("start", agentFile, "--name", "bench-agent", "--", pm2Log.file, "pm2-agent");
    await pm2Log.waitFor(() => pm2Log.latestStart("pm2-agent"), 30_000, "PM2's first start");
  }
  const floorLog = new AgentLog(join(work, "floor.log"));
  const floorLoop = spawnOwned(
    process.execPath,
    [join(work, "floor.cjs"), agentFile, floorLog.file],
    "floor respawn loop",
  );
  await floorLog.waitFor(() => floorLog.latestStart("floor"), 30_000, "the floor loop's first start");

  let deaths: Death[] = [];
  const pause = (): Promise<void> => sleep(opts.gapMin + Math.random() * (opts.gapMax - opts.gapMin));
  await sleep(2000);
  for (let i = 0; i < opts.deaths; i += 1) {
    const agent = live[i % live.length];
    if (agent === undefined) throw new Error("No running townd agent");
    const hook = { events: paneEvents, session: agent.session };
    deaths.push(await killAndWait(townLog, "townd", agent.identity, 60_000, hook));
    await pause();
    if (pm2 !== undefined) {
      deaths.push(await killAndWait(pm2Log, "pm2", "pm2-agent", 30_000));
      await pause();
    }
    deaths.push(await killAndWait(floorLog, "floor", "floor", 30_000));
    await pause();
    if ((i + 1) % 10 === 0) process.stderr.write(`run ${index + 1}: ${i + 1} of ${opts.deaths} deaths\n`);
  }
  const loadAtEnd = loadavg().map((value) => round(value, 2));
  const entries = readDaemonLog(town.logFile);
  deaths = [
    ...annotate(
      entries,
      deaths.filter((death) => death.system === "townd"),
    ),
    ...deaths.filter((death) => death.system !== "townd"),
  ];
  await floorLoop.stop();
  pm2?.kill();
  town.dispose();

  const summary: Record<string, Summary> = {};
  for (const system of ["townd", "pm2", "floor"]) {
    const values = deaths.filter((death) => death.system === system).map((death) => death.latencyMs);
    if (values.length > 0) summary[system] = summarize(values);
  }
  return { loadAtStart, loadAtEnd, summary, deaths };
}

async function main(): Promise<void> {
  const opts = options();
  const info = machine();
  const pm2Prefix = opts.pm2 ? await installPm2(opts.pm2Dir) : null;
  let pm2Version: string | null = null;
  if (pm2Prefix !== null) {
    const pkg = JSON.parse(readFileSync(join(pm2Prefix, "node_modules", "pm2", "package.json"), "utf8")) as {
      version: string;
    };
    pm2Version = pkg.version;
  }
  const runs: Run[] = [];
  for (let index = 0; index < opts.runs; index += 1) {
    const load = await waitForQuiet(opts.maxLoad, 10 * 60_000);
    if (load > opts.maxLoad) process.stderr.write(`load still ${load} after 10 min: running anyway\n`);
    runs.push(await runOnce(opts, pm2Prefix, index));
  }

  const systems = [
    ["townd", "townd (pane-died hook + SIGCHLD kick + death poll; heartbeat 3 m)"],
    ["pm2", `PM2 ${pm2Version ?? ""} (fork mode, defaults)`],
    ["floor", "bare Node respawn loop (floor: Node start-up)"],
  ] as const;
  const medianOf = (system: string, key: "p50" | "p95"): number =>
    round(median(runs.map((run) => run.summary[system]?.[key] ?? Number.NaN)), 0);
  const all = runs.flatMap((run) => run.deaths);
  const townDeaths = all.filter((death) => death.system === "townd");
  const pooled = (system: string): Summary =>
    summarize(all.filter((death) => death.system === system).map((death) => death.latencyMs));
  const townP50 = medianOf("townd", "p50");
  const reference = {
    p50: REFERENCE_HEARTBEAT_MS / 2,
    p95: REFERENCE_HEARTBEAT_MS * 0.95,
    mean: REFERENCE_HEARTBEAT_MS / 2,
    max: REFERENCE_HEARTBEAT_MS,
  };
  const notices = (["hook", "late hook", "no hook"] as const).map((kind) => {
    const values = townDeaths.filter((death) => notice(death) === kind).map((death) => death.latencyMs);
    return { kind, count: values.length, latency: values.length === 0 ? null : summarize(values) };
  });
  const passKinds: Record<string, number> = {};
  for (const death of townDeaths) passKinds[passKind(death)] = (passKinds[passKind(death)] ?? 0) + 1;
  const issued = townDeaths.flatMap((death) =>
    death.respawnIssuedMs == null ? [] : [death.respawnIssuedMs],
  );
  const hookAfter = townDeaths.flatMap((death) => (death.hookAfterMs == null ? [] : [death.hookAfterMs]));
  const prompt = hookAfter.filter((ms) => ms <= LATE_HOOK_MS);

  const kick =
    (opts.reapKick === undefined ? "" : ` --reap-kick ${opts.reapKick}`) +
    (opts.deathPoll === undefined ? "" : ` --death-poll ${opts.deathPoll}`);
  const command = `node --import tsx bench/respawn.ts --deaths ${opts.deaths} --runs ${opts.runs}${kick}`;
  // A variant does not overwrite the plain run's results.
  const variant =
    (opts.reapKick === undefined ? "" : `-kick${opts.reapKick}`) +
    (opts.deathPoll === undefined ? "" : `-poll${opts.deathPoll}`);
  const file = writeResult(`respawn${variant}`, {
    command,
    machine: { ...info, loadAtEnd: loadavg().map((value) => round(value, 2)) },
    settings: {
      agents: Math.ceil(opts.deaths / 2) * 2,
      recoveryHeartbeatInterval: "3m (default)",
      deathPollInterval: opts.deathPoll ?? "default",
      reapKickInterval: opts.reapKick ?? "default",
      raised: { spawn_budget: 100_000, mass_death_threshold: 100_000 },
      gapMs: [opts.gapMin, opts.gapMax],
      pm2: pm2Version,
    },
    medians: Object.fromEntries(
      systems.map(([system]) => [system, { p50: medianOf(system, "p50"), p95: medianOf(system, "p95") }]),
    ),
    pooled: Object.fromEntries(systems.map(([system]) => [system, pooled(system)])),
    reference: { ...reference, computed: "U(0, 180 s): wait for the next 3-minute heartbeat" },
    townd: {
      notices,
      passKinds,
      exitToRespawnIssued: issued.length === 0 ? null : summarize(issued),
      promptHookAfterExit: prompt.length === 0 ? null : summarize(prompt),
    },
    runs,
  });

  const cell = (run: Run, system: string): string => {
    const s = run.summary[system];
    return s === undefined ? "—" : `${s.p50.toFixed(0)} / ${s.p95.toFixed(0)}`;
  };
  const rows = systems
    .filter(([system]) => runs.some((run) => run.summary[system] !== undefined))
    .map(([system, name]) => [
      name,
      ...runs.map((run) => cell(run, system)),
      medianOf(system, "p50"),
      medianOf(system, "p95"),
      pooled(system).max.toFixed(0),
      `${round(medianOf(system, "p50") / townP50, 2)}×`,
    ]);
  rows.push([
    "reference: 3-minute heartbeat (computed: U(0, 180 s))",
    ...runs.map(() => "—"),
    reference.p50,
    reference.p95,
    reference.max,
    `${round(reference.p50 / townP50, 0)}×`,
  ]);
  const out = [
    `agents: ${Math.ceil(opts.deaths / 2) * 2}, deaths per system per run: ${opts.deaths}, runs: ${opts.runs}${opts.reapKick === undefined ? "" : `, reap_kick_interval ${opts.reapKick}`}${opts.deathPoll === undefined ? "" : `, death_poll_interval ${opts.deathPoll}`}`,
    `load (1/5/15 min) per run: ${runs.map((run) => `${run.loadAtStart.join("/")} → ${run.loadAtEnd.join("/")}`).join("; ")}`,
    "",
    table(
      [
        "System",
        ...runs.map((_, i) => `run ${i + 1} p50 / p95 ms`),
        "median p50 ms",
        "median p95 ms",
        "max ms (all runs)",
        "p50 vs townd",
      ],
      ["---", ...runs.map(() => "---:"), "---:", "---:", "---:", "---:"],
      rows,
    ),
    "",
    table(
      [`townd deaths (all runs), hook line seen`, "count", "p50 ms", "p95 ms", "max ms"],
      ["---", "---:", "---:", "---:", "---:"],
      notices.map((n) => [
        n.kind === "hook"
          ? `≤ ${LATE_HOOK_MS} ms after the exit (hook)`
          : n.kind === "late hook"
            ? `> ${LATE_HOOK_MS} ms after (SIGCHLD lost, reaped by a later kick)`
            : "never",
        n.count,
        n.latency?.p50 ?? "—",
        n.latency?.p95 ?? "—",
        n.latency?.max ?? "—",
      ]),
    ),
    "",
    `respawning pass woken by: ${Object.entries(passKinds)
      .map(([kind, n]) => `${kind} ${n}`)
      .join(", ")}`,
    `townd exit → respawn-pane done (daemon log, ms resolution): p50 ${issued.length === 0 ? "?" : summarize(issued).p50} ms, p95 ${issued.length === 0 ? "?" : summarize(issued).p95} ms`,
    `prompt hook line after the exit: p50 ${prompt.length === 0 ? "?" : summarize(prompt).p50} ms, p95 ${prompt.length === 0 ? "?" : summarize(prompt).p95} ms`,
    `raw: ${file}`,
  ];
  process.stdout.write(`${out.join("\n")}\n`);
}

await runBenchmark(main);
