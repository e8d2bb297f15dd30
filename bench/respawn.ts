/**
 * Death to respawn: an agent is killed with `kill -9`; how long until its supervisor has a NEW agent process?
 * townd beside PM2 in the same run, and the floor: a tmux server whose own `pane-died` hook runs
 * `respawn-pane -k` (what any supervisor that drives tmux from outside adds its reaction to).
 *
 *   node --import tsx bench/respawn.ts [--deaths 100] [--runs 1] [--gap-min 1000] [--gap-max 2500]
 *                                      [--pm2-dir DIR] [--max-load 4] [--no-pm2]
 *                                      [--reap-kick D] [--death-poll D]
 *
 * Method. Just before the kill the benchmark lists the supervisor's children (/proc/<pid>/task/<pid>/children:
 * the town's tmux server, PM2's God daemon, the floor's tmux server), then polls that list every millisecond.
 * The replacement is the first new child that runs the agent; its time is when it was first LISTED, i.e. at
 * the supervisor's fork, before the agent's own start-up. That is the supervisor's reaction: column one.
 * Column two is the old metric: kill → the new agent's first log line, which adds Node's start-up (paid by
 * every supervisor alike and by the floor).
 *
 * The agent is a tiny Node script (AGENT_SOURCE in harness.ts) that appends `start <epoch ms> <pid> …` when
 * Node runs it. Each round kills one agent of each system in a shuffled order, with a random 1–2.5 s pause
 * after each, so machine noise falls on all alike and townd's deaths land at random phases of its timers.
 *
 * townd runs at its defaults (3-minute heartbeat, so what is measured is event-driven recovery) with one
 * agent per death (rigs = deaths / 2): each dies once, so its restart is immediate under the default policy.
 * Only the town-wide guards a test killing 100 agents in minutes would rightly trip are raised: the spawn
 * budget and the mass-death threshold. `--death-poll D` and `--reap-kick D` set death_poll_interval and
 * reap_kick_interval (e.g. "2s", "0" for off); such variants write .bench/respawn-kick<D>-poll<D>.json.
 *
 * The townd deaths are also sorted by how the daemon heard of them: the hook's line in daemon/pane-events
 * (read at every poll) and the reasons of the pass that respawned the agent (daemon log).
 *
 * Each run starts once the 1-minute load average is at most --max-load (or after waiting 10 min). Prints
 * markdown tables and writes .bench/respawn.json.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  AGENT_SOURCE,
  AgentLog,
  LineFollower,
  childPids,
  installPm2,
  machine,
  nowMs,
  pm2Home,
  onCleanup,
  round,
  runBenchmark,
  signal,
  sleep,
  startTown,
  summarize,
  table,
  tmuxServerPid,
  waitForQuiet,
  pm2RunsAgent,
  waitForNewChild,
  waitForRunning,
  writeResult,
  type Summary,
} from "./harness.js";

const SYSTEMS = ["townd", "pm2", "floor"] as const;
type System = (typeof SYSTEMS)[number];

interface Death {
  system: System;
  identity: string;
  oldPid: number;
  newPid: number;
  /** kill → the new agent process listed as the supervisor's child (its fork). */
  processMs: number;
  /** kill → the new agent's first log line (after Node's start-up). */
  firstLineMs: number;
  generation: string;
  /** townd only: when the pane-died hook's line appeared, ms after the kill; null if not within the wait. */
  hookAfterMs?: number | null;
  /** townd only: the reasons of the pass that respawned the agent (daemon log). */
  passReasons?: string[] | null;
  /** townd only: kill → the daemon's "Started …" log line (respawn-pane done), ms resolution. */
  respawnIssuedMs?: number | null;
  /** townd only: tmux respawned it from its armed pane-died hook (no pass in between). */
  armed?: boolean;
  killedAt: number;
}

interface LogEntry {
  time: string;
  msg: string;
  reasons?: string[];
}

function options() {
  const { values } = parseArgs({
    options: {
      deaths: { type: "string", default: "100" },
      "gap-min": { type: "string", default: "1000" },
      "gap-max": { type: "string", default: "2500" },
      "pm2-dir": { type: "string" },
      "max-load": { type: "string", default: "4" },
      "no-pm2": { type: "boolean", default: false },
      runs: { type: "string", default: "1" },
      "reap-kick": { type: "string" },
      "death-poll": { type: "string" },
      /** "off" runs townd with operational.daemon.armed_respawn false: every death waits for a pass. */
      "armed-respawn": { type: "string", default: "on" },
    },
  });
  const deaths = Number(values.deaths);
  const gapMin = Number(values["gap-min"]);
  const gapMax = Number(values["gap-max"]);
  const maxLoad = Number(values["max-load"]);
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`Invalid --runs "${values.runs}"`);
  const armed = values["armed-respawn"];
  if (armed !== "on" && armed !== "off") throw new Error(`Invalid --armed-respawn "${armed}": on or off`);
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
    armedRespawn: armed === "on",
    pm2Dir: values["pm2-dir"],
    pm2: !values["no-pm2"],
  };
}

/** One supervised agent to kill: whose log shows its current process, and whose children to watch. */
interface Target {
  system: System;
  log: AgentLog;
  /** The agent's identity in its log (townd: the agent's; PM2 and the floor: a fixed name). */
  identity: string;
  supervisorPid: () => number;
  isAgent: (cmdline: string) => boolean;
  /** townd only: the pane-died hook's file and the agent's session. */
  hook?: { events: LineFollower; session: string };
  /** Done at every poll while waiting (the floor's SIGCHLD to its server). */
  onPoll?: () => void;
}

async function killOnce(target: Target, timeoutMs: number): Promise<Death> {
  const { system, log, identity } = target;
  const before = log.latestStart(identity);
  if (before === undefined) throw new Error(`${system}: no running ${identity} to kill`);
  const parent = target.supervisorPid();
  const known = new Set(childPids(parent));
  if (!known.has(before.pid))
    throw new Error(`${system}: ${identity} (pid ${before.pid}) is not a child of pid ${parent}`);
  target.hook?.events.poll();
  const hookSeenBefore = target.hook?.events.lines.length ?? 0;
  const killedAt = nowMs();
  if (!signal(before.pid, "SIGKILL"))
    throw new Error(`${system}: ${identity} (pid ${before.pid}) is already gone`);
  const child = await waitForNewChild(parent, known, target.isAgent, timeoutMs, () => {
    target.hook?.events.poll();
    target.onPoll?.();
  });
  const start = await log.waitFor(
    () => log.starts.find((line) => line.pid === child.pid),
    timeoutMs,
    `${system} ${identity}: the first line of pid ${child.pid}`,
  );
  const death: Death = {
    system,
    identity,
    oldPid: before.pid,
    newPid: child.pid,
    processMs: round(child.seenAt - killedAt, 2),
    firstLineMs: round(start.at - killedAt, 2),
    generation: start.generation,
    killedAt,
  };
  const hook = target.hook;
  if (hook === undefined) return death;
  // The hook may fire after the replacement started (a lost SIGCHLD reaped later): look a little longer.
  await sleep(50);
  hook.events.poll();
  const line = hook.events.lines.slice(hookSeenBefore)[0];
  return { ...death, hookAfterMs: line === undefined ? null : round(line.at - killedAt, 2) };
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

/**
 * Waits until the daemon has armed every agent's respawn (each generation is armed once it has run for the
 * start-failure window, 10 s by default), so every death measured is answered the way a settled town's is.
 */
async function waitForArmed(logFile: string, agents: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const armed = readDaemonLog(logFile).flatMap((entry) => {
      const match = /^Respawn armed in tmux for (\d+) agent/.exec(entry.msg);
      return match === null ? [] : [Number(match[1])];
    });
    if ((armed[armed.length - 1] ?? 0) >= agents) return;
    if (Date.now() > deadline)
      throw new Error(`Only ${armed[armed.length - 1] ?? 0} of ${agents} agents armed`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
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
      respawnIssuedMs: Date.parse(entries[index]?.time ?? "") - death.killedAt,
      armed: entries[index]?.msg.includes("by tmux from its armed pane-died hook") === true,
    };
  });
}

/**
 * How townd heard of a death. The hook fires within milliseconds when tmux reaps the pane; when tmux 3.3a
 * loses the SIGCHLD it fires only once something makes the server reap it, so a hook line more than
 * LATE_HOOK_MS after the kill is a lost SIGCHLD.
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

/**
 * The floor: a private tmux server (same settings townd uses: `remain-on-exit`, `exit-empty off`) whose
 * global pane-died hook respawns the dead pane itself, with no process outside tmux involved, except the
 * SIGCHLD the benchmark sends it every millisecond while waiting, so a death whose SIGCHLD tmux lost is
 * reaped at once.
 */
function startFloor(work: string, agentFile: string, log: AgentLog): { serverPid: () => number } {
  const socket = join(work, "floor.sock");
  const { TMUX: _tmux, TMUX_PANE: _pane, ...env } = process.env;
  const tmux = (...args: string[]): string =>
    execFileSync("tmux", ["-S", socket, "-f", "/dev/null", ...args], { encoding: "utf8", env });
  onCleanup(`kill floor tmux server ${socket}`, () => {
    spawnSync("tmux", ["-S", socket, "kill-server"], { stdio: "ignore", env });
  });
  tmux(
    "start-server",
    ";",
    "set-option",
    "-g",
    "exit-empty",
    "off",
    ";",
    "set-option",
    "-gw",
    "remain-on-exit",
    "on",
    ";",
    "set-hook",
    "-g",
    "pane-died",
    "respawn-pane -k",
    ";",
    "new-session",
    "-d",
    "-s",
    "floor",
    "--",
    process.execPath,
    agentFile,
    log.file,
    "floor",
  );
  return { serverPid: () => tmuxServerPid(socket) };
}

function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

interface Run {
  loadAtStart: number[];
  loadAtEnd: number[];
  process: Partial<Record<System, Summary>>;
  firstLine: Partial<Record<System, Summary>>;
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
  // argv[0] too: a tmux server started with the agent's command line keeps it, and so do its forks.
  const runsAgent = (cmdline: string): boolean => {
    const argv = cmdline.split("\0");
    return argv[0] === process.execPath && argv[1] === agentFile;
  };

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
      ...(opts.armedRespawn ? {} : { armed_respawn: false }),
    },
  });
  process.stderr.write(`run ${index + 1}: waiting for ${rigs * 2} townd agents\n`);
  await waitForRunning(town, rigs * 2, 600_000);
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
  const floor = startFloor(work, agentFile, floorLog);
  await floorLog.waitFor(() => floorLog.latestStart("floor"), 30_000, "the floor's first start");
  if (opts.armedRespawn) await waitForArmed(town.logFile, rigs * 2, 120_000);

  const townServer = town.tmuxPid();
  const floorServer = floor.serverPid();
  const targets = (i: number): Target[] => {
    const agent = live[i % live.length];
    if (agent === undefined) throw new Error("No running townd agent");
    const all: Target[] = [
      {
        system: "townd",
        log: townLog,
        identity: agent.identity,
        supervisorPid: () => townServer,
        isAgent: runsAgent,
        hook: { events: paneEvents, session: agent.session },
      },
      {
        system: "floor",
        log: floorLog,
        identity: "floor",
        supervisorPid: () => floorServer,
        isAgent: runsAgent,
        // tmux 3.3a loses the SIGCHLD of about one pane death in four (see src/tmux/reap-kick.ts): the floor
        // is reaped as soon as possible, by a SIGCHLD at every poll, so it shows what tmux itself costs.
        onPoll: () => {
          signal(floorServer, "SIGCHLD");
        },
      },
    ];
    if (pm2 !== undefined)
      all.push({
        system: "pm2",
        log: pm2Log,
        identity: "pm2-agent",
        supervisorPid: () => pm2.godPid(),
        isAgent: pm2RunsAgent,
      });
    return all;
  };

  let deaths: Death[] = [];
  const pause = (): Promise<void> => sleep(opts.gapMin + Math.random() * (opts.gapMax - opts.gapMin));
  await sleep(2000);
  for (let i = 0; i < opts.deaths; i += 1) {
    for (const target of shuffled(targets(i))) {
      deaths.push(await killOnce(target, 60_000));
      await pause();
    }
    if ((i + 1) % 10 === 0) process.stderr.write(`run ${index + 1}: ${i + 1} of ${opts.deaths} rounds\n`);
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
  pm2?.kill();
  town.dispose();

  const processSummary: Partial<Record<System, Summary>> = {};
  const firstLine: Partial<Record<System, Summary>> = {};
  for (const system of SYSTEMS) {
    const mine = deaths.filter((death) => death.system === system);
    if (mine.length === 0) continue;
    processSummary[system] = summarize(mine.map((death) => death.processMs));
    firstLine[system] = summarize(mine.map((death) => death.firstLineMs));
  }
  return { loadAtStart, loadAtEnd, process: processSummary, firstLine, deaths };
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

  const names: Record<System, string> = {
    townd: "townd (pane-died hook, SIGCHLD kick, death poll; heartbeat 3 m)",
    pm2: `PM2 ${pm2Version ?? ""} (fork mode, defaults)`,
    floor: "floor: tmux's own pane-died hook runs `respawn-pane -k`",
  };
  const all = runs.flatMap((run) => run.deaths);
  const pooled = (system: System, key: "processMs" | "firstLineMs"): Summary | undefined => {
    const values = all.filter((death) => death.system === system).map((death) => death[key]);
    return values.length === 0 ? undefined : summarize(values);
  };
  const townDeaths = all.filter((death) => death.system === "townd");
  const notices = (["hook", "late hook", "no hook"] as const).map((kind) => {
    const values = townDeaths.filter((death) => notice(death) === kind).map((death) => death.processMs);
    return { kind, count: values.length, latency: values.length === 0 ? null : summarize(values) };
  });
  const passKinds: Record<string, number> = {};
  for (const death of townDeaths) passKinds[passKind(death)] = (passKinds[passKind(death)] ?? 0) + 1;
  const byArming = ([true, false] as const).map((armed) => {
    const values = townDeaths.filter((death) => death.armed === armed).map((death) => death.processMs);
    return { armed, count: values.length, latency: values.length === 0 ? null : summarize(values) };
  });
  const issued = townDeaths.flatMap((death) =>
    death.respawnIssuedMs == null ? [] : [death.respawnIssuedMs],
  );
  const hookAfter = townDeaths.flatMap((death) => (death.hookAfterMs == null ? [] : [death.hookAfterMs]));

  const kick =
    (opts.reapKick === undefined ? "" : ` --reap-kick ${opts.reapKick}`) +
    (opts.deathPoll === undefined ? "" : ` --death-poll ${opts.deathPoll}`) +
    (opts.armedRespawn ? "" : " --armed-respawn off");
  const command = `node --import tsx bench/respawn.ts --deaths ${opts.deaths} --runs ${opts.runs}${kick}`;
  const variant =
    (opts.reapKick === undefined ? "" : `-kick${opts.reapKick}`) +
    (opts.deathPoll === undefined ? "" : `-poll${opts.deathPoll}`) +
    (opts.armedRespawn ? "" : "-unarmed");
  const summaries = Object.fromEntries(
    SYSTEMS.map((system) => [
      system,
      { process: pooled(system, "processMs") ?? null, firstLine: pooled(system, "firstLineMs") ?? null },
    ]),
  );
  const file = writeResult(`respawn${variant}`, {
    command,
    machine: { ...info, loadAtEnd: loadavg().map((value) => round(value, 2)) },
    settings: {
      agents: Math.ceil(opts.deaths / 2) * 2,
      recoveryHeartbeatInterval: "3m (default)",
      deathPollInterval: opts.deathPoll ?? "default",
      reapKickInterval: opts.reapKick ?? "default",
      armedRespawn: opts.armedRespawn,
      raised: { spawn_budget: 100_000, mass_death_threshold: 100_000 },
      gapMs: [opts.gapMin, opts.gapMax],
      pm2: pm2Version,
    },
    pooled: summaries,
    townd: {
      notices,
      passKinds,
      byArming,
      killToRespawnIssued: issued.length === 0 ? null : summarize(issued),
      hookAfterKill: hookAfter.length === 0 ? null : summarize(hookAfter),
    },
    runs,
  });

  const cell = (s: Summary | undefined): string =>
    s === undefined ? "—" : `${s.p50.toFixed(1)} / ${s.p95.toFixed(1)}`;
  const ratio = (a: Summary | undefined, b: Summary | undefined): string =>
    a === undefined || b === undefined
      ? "—"
      : `${round(a.p50 / b.p50, 2).toFixed(2)} / ${round(a.p95 / b.p95, 2).toFixed(2)}`;
  const rows = SYSTEMS.filter((system) => pooled(system, "processMs") !== undefined).map((system) => {
    const proc = pooled(system, "processMs");
    return [
      names[system],
      ...runs.map((run) => cell(run.process[system])),
      cell(proc),
      proc?.max.toFixed(1) ?? "—",
      ratio(proc, pooled("pm2", "processMs")),
      ratio(proc, pooled("floor", "processMs")),
      cell(pooled(system, "firstLineMs")),
    ];
  });
  const out = [
    `agents: ${Math.ceil(opts.deaths / 2) * 2}, deaths per system per run: ${opts.deaths}, runs: ${opts.runs}${kick}`,
    `load (1/5/15 min) per run: ${runs.map((run) => `${run.loadAtStart.join("/")} → ${run.loadAtEnd.join("/")}`).join("; ")}`,
    "",
    table(
      [
        "System",
        ...runs.map((_, i) => `run ${i + 1}: kill -9 → new agent process, p50 / p95 ms`),
        "all runs p50 / p95 ms",
        "max ms",
        "÷ PM2 (p50 / p95)",
        "÷ floor (p50 / p95)",
        "kill -9 → first log line, p50 / p95 ms",
      ],
      ["---", ...runs.map(() => "---:"), "---:", "---:", "---:", "---:", "---:"],
      rows,
    ),
    "",
    table(
      ["townd deaths, hook line seen", "count", "kill → new process p50 ms", "p95 ms", "max ms"],
      ["---", "---:", "---:", "---:", "---:"],
      notices.map((n) => [
        n.kind === "hook"
          ? `≤ ${LATE_HOOK_MS} ms after the kill (hook)`
          : n.kind === "late hook"
            ? `> ${LATE_HOOK_MS} ms after (SIGCHLD lost, reaped later)`
            : "never",
        n.count,
        n.latency?.p50 ?? "—",
        n.latency?.p95 ?? "—",
        n.latency?.max ?? "—",
      ]),
    ),
    "",
    table(
      ["townd respawns made by", "count", "kill → new process p50 ms", "p95 ms", "max ms"],
      ["---", "---:", "---:", "---:", "---:"],
      byArming.map((b) => [
        b.armed ? "tmux, from the armed pane-died hook" : "the daemon's pass",
        b.count,
        b.latency?.p50 ?? "—",
        b.latency?.p95 ?? "—",
        b.latency?.max ?? "—",
      ]),
    ),
    "",
    `respawning pass woken by: ${Object.entries(passKinds)
      .map(([kind, n]) => `${kind} ${n}`)
      .join(", ")}`,
    `townd kill → respawn-pane done (daemon log, ms resolution): p50 ${issued.length === 0 ? "?" : summarize(issued).p50} ms, p95 ${issued.length === 0 ? "?" : summarize(issued).p95} ms`,
    `hook line after the kill: p50 ${hookAfter.length === 0 ? "?" : summarize(hookAfter).p50} ms, p95 ${hookAfter.length === 0 ? "?" : summarize(hookAfter).p95} ms`,
    `raw: ${file}`,
  ];
  process.stdout.write(`${out.join("\n")}\n`);
}

await runBenchmark(main);
