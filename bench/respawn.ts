/**
 * Death to respawn: an agent exits, how long until a NEW agent process runs (its first line written)?
 * townd with its default 3-minute recovery heartbeat (so what is measured is event-driven recovery: tmux's
 * pane-died hook, with the 2 s snapshot poll as the safety net), beside PM2 restarting the same script on
 * the same machine in the same run, and a bare Node respawn loop (the floor: Node's own start-up).
 *
 *   node --import tsx bench/respawn.ts [--deaths 50] [--gap-min 1000] [--gap-max 2500] [--pm2-dir DIR]
 *                                      [--max-load 4] [--no-pm2]
 *
 * The agent is a tiny Node script (see AGENT_SOURCE in harness.ts): it appends `start <epoch ms>` when Node
 * runs it and, on SIGTERM, `exit <epoch ms>` before exiting 1. A death is SIGTERM sent by PID; its latency
 * is exit line → the replacement's start line (so both include Node's start-up, as peers.md §4.1 does).
 * Deaths are interleaved townd → PM2 → floor, with a random 1–2.5 s pause after each, so machine noise
 * falls on all three alike and townd's deaths land at random phases of its 2 s poll.
 *
 * Each townd agent dies once (rigs = deaths / 2), so townd's restart policy runs with its defaults (a
 * first restart is immediate); only the town-wide guards that would rightly stop a test that kills 50
 * agents in two minutes are raised: the spawn budget and the mass-death threshold.
 *
 * The reference (gastown-daemon.md §4–5) only notices a dead agent at its next 3-minute heartbeat; its
 * figure is computed, not measured: a death at a uniformly random time waits U(0, 180 s).
 *
 * Prints a markdown table and writes .bench/respawn.json.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  AGENT_SOURCE,
  AgentLog,
  LineFollower,
  machine,
  onCleanup,
  round,
  runBenchmark,
  setupPm2,
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
    },
  });
  const deaths = Number(values.deaths);
  const gapMin = Number(values["gap-min"]);
  const gapMax = Number(values["gap-max"]);
  const maxLoad = Number(values["max-load"]);
  if (!Number.isInteger(deaths) || deaths < 2 || !(gapMin >= 0) || !(gapMax >= gapMin) || !(maxLoad > 0))
    throw new Error("Invalid options: --deaths ≥ 2, 0 ≤ --gap-min ≤ --gap-max, --max-load > 0");
  return { deaths, gapMin, gapMax, maxLoad, pm2Dir: values["pm2-dir"], pm2: !values["no-pm2"] };
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

type Trigger = "hook" | "poll" | "hook+poll" | "other";

/**
 * What woke the pass that respawned each agent: the pane-died hook ("pane died"), the 2 s poll ("pane died
 * in <session>"), both (folded into one pass), or another pass that happened to see the dead pane.
 */
function passTriggers(
  entries: LogEntry[],
  deaths: Death[],
): { trigger: Trigger; startedAt: number | null }[] {
  return deaths.map((death) => {
    const index = entries.findIndex(
      (entry) =>
        entry.msg.startsWith(`Started ${death.identity} in session`) &&
        entry.msg.includes(`(generation ${death.generation}`),
    );
    if (index === -1) return { trigger: "other", startedAt: null };
    const startedAt = Date.parse(entries[index]?.time ?? "");
    const complete = entries.slice(index).find((entry) => entry.msg.startsWith("Heartbeat complete"));
    const reasons = complete?.reasons ?? [];
    const hook = reasons.includes("pane died");
    const poll = reasons.some((reason) => reason.startsWith("pane died in "));
    const trigger: Trigger = hook && poll ? "hook+poll" : hook ? "hook" : poll ? "poll" : "other";
    return { trigger, startedAt };
  });
}

async function main(): Promise<void> {
  const opts = options();
  const loadBefore = await waitForQuiet(opts.maxLoad, 10 * 60_000);
  const info = machine();
  const work = mkdtempSync(join(tmpdir(), "tdb-respawn-"));
  onCleanup(`remove ${work}`, () => {
    rmSync(work, { recursive: true, force: true });
  });
  const agentFile = join(work, "agent.cjs");
  writeFileSync(agentFile, AGENT_SOURCE);
  writeFileSync(join(work, "floor.cjs"), FLOOR_SOURCE);

  const rigs = Math.ceil(opts.deaths / 2);
  const agents = rigs * 2;
  const townLog = new AgentLog(join(work, "townd.log"));
  const town = await startTown("tdb-respawn-town-", {
    rigs,
    runtime: { command: process.execPath, args: [agentFile, townLog.file], process_names: ["node"] },
    daemon: { spawn_budget: { count: 100_000 }, mass_death_threshold: 100_000 },
  });
  process.stderr.write(`townd: waiting for ${agents} agents\n`);
  await waitForRunning(town, agents, 300_000);
  const status = await town.status();
  const live = status.agents.filter((agent) => agent.state === "running");
  const identities = live.map((agent) => agent.identity);
  const sessions = new Map(live.map((agent) => [agent.identity, agent.session]));
  const paneEvents = new LineFollower(join(town.town, "daemon", "pane-events"));
  const running = readDaemonLog(town.logFile).find((entry) =>
    entry.msg.includes("recovery heartbeat interval"),
  );
  if (running?.msg.includes("interval 180s") !== true)
    throw new Error(`Expected the default 3-minute heartbeat, the daemon says: ${running?.msg ?? "nothing"}`);

  let pm2Version: string | null = null;
  const pm2Log = new AgentLog(join(work, "pm2.log"));
  if (opts.pm2) {
    const pm2 = await setupPm2(opts.pm2Dir);
    pm2Version = pm2.version;
    pm2.run("start", agentFile, "--name", "bench-agent", "--", pm2Log.file, "pm2-agent");
    await pm2Log.waitFor(() => pm2Log.latestStart("pm2-agent"), 30_000, "PM2's first start");
  }
  const floorLog = new AgentLog(join(work, "floor.log"));
  spawnOwned(process.execPath, [join(work, "floor.cjs"), agentFile, floorLog.file], "floor respawn loop");
  await floorLog.waitFor(() => floorLog.latestStart("floor"), 30_000, "the floor loop's first start");

  const deaths: Death[] = [];
  const pause = (): Promise<void> => sleep(opts.gapMin + Math.random() * (opts.gapMax - opts.gapMin));
  await sleep(2000);
  for (let i = 0; i < opts.deaths; i += 1) {
    const identity = identities[i % identities.length] ?? "";
    const session = sessions.get(identity) ?? "";
    deaths.push(await killAndWait(townLog, "townd", identity, 60_000, { events: paneEvents, session }));
    await pause();
    if (opts.pm2) {
      deaths.push(await killAndWait(pm2Log, "pm2", "pm2-agent", 30_000));
      await pause();
    }
    deaths.push(await killAndWait(floorLog, "floor", "floor", 30_000));
    await pause();
    if ((i + 1) % 10 === 0) process.stderr.write(`${i + 1} of ${opts.deaths} deaths\n`);
  }
  const loadAfter = loadavg().map((value) => round(value, 2));

  const townDeaths = deaths.filter((death) => death.system === "townd");
  const triggers = passTriggers(readDaemonLog(town.logFile), townDeaths);
  const count = (trigger: Trigger): number => triggers.filter((t) => t.trigger === trigger).length;
  const decided = townDeaths.flatMap((death, index) => {
    const startedAt = triggers[index]?.startedAt;
    return startedAt == null ? [] : [startedAt - death.exitAt];
  });
  const hookAfter = townDeaths.flatMap((death) => (death.hookAfterMs == null ? [] : [death.hookAfterMs]));
  const byTrigger = (trigger: Trigger): Summary | null => {
    const values = townDeaths
      .filter((_, index) => triggers[index]?.trigger === trigger)
      .map((d) => d.latencyMs);
    return values.length === 0 ? null : summarize(values);
  };
  const stats = (system: string): Summary =>
    summarize(deaths.filter((death) => death.system === system).map((death) => death.latencyMs));
  const townd = stats("townd");
  const pm2 = opts.pm2 ? stats("pm2") : null;
  const floor = stats("floor");
  // A death at a uniformly random time waits U(0, T) for the next heartbeat.
  const reference: Summary = {
    n: 0,
    p50: REFERENCE_HEARTBEAT_MS / 2,
    p95: REFERENCE_HEARTBEAT_MS * 0.95,
    min: 0,
    max: REFERENCE_HEARTBEAT_MS,
    mean: REFERENCE_HEARTBEAT_MS / 2,
  };

  const command = `node --import tsx bench/respawn.ts --deaths ${opts.deaths}`;
  const result = {
    command,
    machine: { ...info, loadAtEnd: loadAfter, loadBeforeWait: loadBefore },
    settings: {
      agents,
      recoveryHeartbeatInterval: "3m (default)",
      deathPollInterval: "2s (default)",
      raised: { spawn_budget: 100_000, mass_death_threshold: 100_000 },
      gapMs: [opts.gapMin, opts.gapMax],
      pm2: pm2Version,
    },
    summary: { townd, pm2, floor, reference },
    townd: {
      triggers: {
        hook: count("hook"),
        poll: count("poll"),
        "hook+poll": count("hook+poll"),
        other: count("other"),
      },
      latencyByTrigger: {
        hook: byTrigger("hook"),
        poll: byTrigger("poll"),
        "hook+poll": byTrigger("hook+poll"),
      },
      exitToRespawnIssued: decided.length === 0 ? null : summarize(decided),
      hookAfterExit: hookAfter.length === 0 ? null : summarize(hookAfter),
      hookNotSeen: townDeaths.length - hookAfter.length,
      hookLaterThan250ms: hookAfter.filter((ms) => ms > 250).length,
    },
    ratios: {
      pm2OverTownd: pm2 === null ? null : round(pm2.p50 / townd.p50, 2),
      referenceMeanOverTownd: round(reference.mean / townd.p50, 0),
      referenceWorstOverToundP95: round(reference.max / townd.p95, 0),
    },
    deaths,
  };
  const file = writeResult("respawn", result);

  const ms = (value: number): string => value.toFixed(0);
  const rows: (string | number)[][] = [
    [
      "townd (pane-died hook + 2 s poll; heartbeat 3 m)",
      townd.n,
      ms(townd.p50),
      ms(townd.p95),
      ms(townd.max),
      "1×",
    ],
  ];
  if (pm2 !== null)
    rows.push([
      `PM2 ${pm2Version ?? ""} (fork mode, defaults)`,
      pm2.n,
      ms(pm2.p50),
      ms(pm2.p95),
      ms(pm2.max),
      `${round(pm2.p50 / townd.p50, 2)}×`,
    ]);
  rows.push([
    "bare Node respawn loop (floor: Node start-up)",
    floor.n,
    ms(floor.p50),
    ms(floor.p95),
    ms(floor.max),
    `${round(floor.p50 / townd.p50, 2)}×`,
  ]);
  rows.push([
    "reference: 3-minute heartbeat (computed, U(0, 180 s))",
    "—",
    ms(reference.p50),
    ms(reference.p95),
    ms(reference.max),
    `${round(reference.p50 / townd.p50, 0)}×`,
  ]);
  const out = [
    `agents: ${agents}, deaths per system: ${opts.deaths}, load ${info.loadAtStart.join(" / ")} → ${loadAfter.join(" / ")}`,
    "",
    table(
      ["System", "deaths", "p50 ms", "p95 ms", "max ms", "p50 vs townd"],
      ["---", "---:", "---:", "---:", "---:", "---:"],
      rows,
    ),
    "",
    table(
      ["townd deaths noticed by", "count", "p50 ms", "p95 ms", "max ms"],
      ["---", "---:", "---:", "---:", "---:"],
      (["hook", "poll", "hook+poll", "other"] as const).map((trigger) => {
        const s = byTrigger(trigger);
        return [trigger, count(trigger), s?.p50 ?? "—", s?.p95 ?? "—", s?.max ?? "—"];
      }),
    ),
    "",
    `townd exit → respawn-pane done (daemon log, ms resolution): p50 ${result.townd.exitToRespawnIssued?.p50 ?? "?"} ms, p95 ${result.townd.exitToRespawnIssued?.p95 ?? "?"} ms`,
    `pane-died hook line seen after the exit: p50 ${result.townd.hookAfterExit?.p50 ?? "?"} ms, p95 ${result.townd.hookAfterExit?.p95 ?? "?"} ms, max ${result.townd.hookAfterExit?.max ?? "?"} ms; later than 250 ms: ${result.townd.hookLaterThan250ms}; never seen: ${result.townd.hookNotSeen}`,
    `raw: ${file}`,
  ];
  process.stdout.write(`${out.join("\n")}\n`);
}

await runBenchmark(main);
