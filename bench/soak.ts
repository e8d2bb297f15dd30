/**
 * Soak: a town of N simulated agents under the BUILT daemon for M minutes, with random faults — kill -9 of an
 * agent's pane process, `/sim hang` (alive, silent, deaf), `/sim crash <code>` — while the daemon's RSS is
 * sampled every 10 s. At the end it checks:
 * - I1: at most one session per agent identity, every session one of the town's, one tmux server;
 * - the spawn budget: automatic restarts (spawn/respawn events after an agent's first start, not operator or
 *   lifecycle requests) within any window of the budget's length stay within its count;
 * - I6/I7: the daemon is the same process, every file it keeps parses, the store passes its integrity check;
 * and prints a summary: faults injected, restarts, alerts, waits, RSS first/median/last/max.
 *
 *   npm run build && node --import tsx bench/soak.ts [--minutes 10] [--agents 20] [--interval 10s] [--seed N]
 *
 * Not part of CI (it runs for minutes). Exits 1 when an invariant fails. Everything runs on a private tmux
 * socket inside a temp town that is removed at the end (also on Ctrl-C).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseDuration } from "../src/util/duration.js";
import {
  chaosRandom,
  checkDaemonFiles,
  daemonProcesses,
  eventRows,
  rssKiB,
  sleep,
  storeIntegrity,
  tmuxServers,
  type EventRow,
} from "../test/chaos/_helpers.js";
import { createSupervisedTown, isAlive, type SupervisedTown } from "../test/helpers/supervised-town.js";

export interface SoakOptions {
  minutes: number;
  agents: number;
  /** Mean time between two faults (each wait is uniform in [0.5, 1.5] × this). */
  intervalMs: number;
  seed: number;
  /** Progress lines (default: stdout). */
  print?: (line: string) => void;
}

export interface SoakResult {
  ok: boolean;
  problems: string[];
  faults: { kill: number; hang: number; crash: number };
  restarts: { automatic: number; manual: number; firstStarts: number; maxInWindow: number; budget: number };
  alerts: Record<string, number>;
  rssKiB: { first: number; median: number; last: number; max: number; samples: number };
  seconds: number;
}

const BUDGET = { count: 20, window: "10m" };

/** Identities (and their sessions) of a town of `agents` agents: the Deacon, up to 5 rigs' patrols, then polecats. */
function layout(agents: number): {
  rigs: string[];
  polecats: [string, string][];
  sessions: Map<string, string>;
} {
  const rigCount = Math.max(1, Math.min(5, Math.floor((agents - 1) / 2)));
  const rigs = Array.from({ length: rigCount }, (_, i) => `r${i + 1}`);
  const sessions = new Map<string, string>([["deacon", "hq-deacon"]]);
  for (const rig of rigs) {
    sessions.set(`${rig}/witness`, `gt-${rig}-witness`);
    sessions.set(`${rig}/refinery`, `gt-${rig}-refinery`);
  }
  const polecats: [string, string][] = [];
  for (let i = 0; sessions.size < agents; i++) {
    const rig = rigs[i % rigs.length] ?? "r1";
    const name = `p${i + 1}`;
    polecats.push([rig, name]);
    sessions.set(`${rig}/polecats/${name}`, `gt-${rig}-${name}`);
  }
  return { rigs, polecats, sessions };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** Automatic restarts: spawn/respawn done events after the agent's first start, not asked for by anyone. */
function automaticRestarts(events: readonly EventRow[]): {
  times: number[];
  manual: number;
  firstStarts: number;
} {
  const seen = new Set<string>();
  const times: number[] = [];
  let manual = 0;
  let firstStarts = 0;
  for (const event of events) {
    if (event.type !== "spawn_done" && event.type !== "respawn_done") continue;
    const identity = event.identity ?? "";
    if (!seen.has(identity)) {
      seen.add(identity);
      firstStarts++;
      continue;
    }
    if (/ requested: /.test(event.reason)) {
      manual++;
      continue;
    }
    times.push(Date.parse(event.ts));
  }
  return { times, manual, firstStarts };
}

/** The most events inside any window of `windowMs` (a window starts at each event). */
function maxInWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let from = 0;
  for (let to = 0; to < sorted.length; to++) {
    while ((sorted[to] ?? 0) - (sorted[from] ?? 0) >= windowMs) from++;
    best = Math.max(best, to - from + 1);
  }
  return best;
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const { random } = chaosRandom(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const { rigs, polecats, sessions } = layout(options.agents);
  const problems: string[] = [];
  const faults = { kill: 0, hang: 0, crash: 0 };
  const rss: number[] = [];
  const started = Date.now();

  const town: SupervisedTown = await createSupervisedTown({
    rigs,
    // The Deacon (the only agent with a heartbeat file) beats every 5 s, well inside its shrunk watchdog.
    simEnv: { TOWND_SIM_HEARTBEAT_INTERVAL: "5s" },
    settings: (s) => {
      s["operational"] = {
        daemon: {
          recovery_heartbeat_interval: "5s",
          spawn_budget: BUDGET,
          // The Deacon's heartbeat watchdog shrunk from minutes to seconds, so its hangs are found in a soak.
          watchdog: { deacon: { stale: "20s", very_stale: "40s", grace: "30s" } },
        },
      };
    },
  });
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    print(`${signal}: stopping the soak and cleaning up`);
    interrupted = signal;
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  try {
    for (const [rig, name] of polecats) {
      mkdirSync(join(town.root, rig, "polecats", name), { recursive: true });
      const hooked = await town.townd(["hook", "set", `${rig}/polecats/${name}`, `gt-${name}`]);
      if (hooked.code !== 0) throw new Error(`hook set failed: ${hooked.stderr}`);
    }
    const daemon = await town.start();
    print(
      `town ${town.root}: ${sessions.size} agents (${rigs.length} rigs, ${polecats.length} polecats), daemon PID ${daemon}`,
    );
    await town.waitFor(
      (s) => s.agents.filter((a) => a.state === "running").length === sessions.size,
      120_000,
      "every agent running",
    );
    print(`all ${sessions.size} agents running after ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const soakStart = Date.now();
    const end = soakStart + options.minutes * 60_000;
    let nextSample = soakStart;
    let nextFault = soakStart + options.intervalMs * (0.5 + random());
    while (Date.now() < end && interrupted === undefined) {
      const now = Date.now();
      if (now >= nextSample) {
        const kib = rssKiB(daemon);
        if (kib === undefined) {
          problems.push(
            `the daemon (PID ${daemon}) died ${((now - soakStart) / 1000).toFixed(0)} s into the soak`,
          );
          break;
        }
        rss.push(kib);
        const status = town.snapshot();
        const states = new Map<string, number>();
        for (const a of status.agents) states.set(a.state, (states.get(a.state) ?? 0) + 1);
        print(
          `${((now - soakStart) / 1000).toFixed(0).padStart(4)} s  RSS ${(kib / 1024).toFixed(1)} MiB  ` +
            `faults ${faults.kill + faults.hang + faults.crash}  agents ${[...states.entries()].map(([k, v]) => `${k} ${v}`).join(", ")}`,
        );
        nextSample += 10_000;
      }
      if (now >= nextFault) {
        nextFault = now + options.intervalMs * (0.5 + random());
        const panes = (await town.panes()).filter((p) => !p.dead && p.pid > 1);
        if (panes.length > 0) {
          const pane = pick(panes);
          const roll = random();
          try {
            if (roll < 0.5) {
              process.kill(pane.pid, "SIGKILL");
              faults.kill++;
            } else {
              const command = roll < 0.75 ? "/sim hang" : `/sim crash ${1 + Math.floor(random() * 254)}`;
              await town.tmux(["send-keys", "-t", `=${pane.session}:`, "-l", command]);
              await town.tmux(["send-keys", "-t", `=${pane.session}:`, "Enter"]);
              if (roll < 0.75) faults.hang++;
              else faults.crash++;
            }
          } catch {
            // The pane died meanwhile: not a fault of ours.
          }
        }
      }
      await sleep(Math.min(250, Math.max(10, Math.min(nextSample, nextFault) - Date.now())));
    }

    if (interrupted !== undefined) throw new Error(`interrupted by ${interrupted}`);

    // The invariants, on the town as the soak left it.
    const panes = await town.panes();
    const bySession = new Map<string, number>();
    for (const p of panes) bySession.set(p.session, (bySession.get(p.session) ?? 0) + 1);
    const expected = new Set(sessions.values());
    for (const [session, count] of bySession) {
      if (count > 1) problems.push(`I1: session ${session} has ${count} panes`);
      if (!expected.has(session)) problems.push(`I1: unexpected session ${session}`);
    }
    const identities = new Map<string, number>();
    for (const p of panes) identities.set(p.identity, (identities.get(p.identity) ?? 0) + 1);
    for (const [identity, count] of identities)
      if (count > 1) problems.push(`I1: ${identity} has ${count} sessions`);
    const servers = tmuxServers(town.root).length;
    if (servers !== 1) problems.push(`I1: ${servers} tmux servers`);
    if (!isAlive(daemon)) problems.push("the daemon is gone");
    const daemons = daemonProcesses(town.root).length;
    if (daemons !== 1) problems.push(`I6: ${daemons} daemons`);
    const files = checkDaemonFiles(town.root);
    problems.push(...files.broken.map((b) => `I7: ${b}`));
    const integrity = storeIntegrity(town.root);
    if (integrity !== "ok") problems.push(`I7: store integrity: ${integrity}`);

    const events = eventRows(town.root);
    const restarts = automaticRestarts(events);
    const budgetWindow = parseDuration(BUDGET.window);
    const most = maxInWindow(restarts.times, budgetWindow);
    if (most > BUDGET.count)
      problems.push(`I3: ${most} automatic restarts within ${BUDGET.window} (budget ${BUDGET.count})`);
    const alerts: Record<string, number> = {};
    for (const e of events) {
      if (["mass_death", "crash_loop", "spawn_budget_exhausted", "restart_failed"].includes(e.type))
        alerts[e.type] = (alerts[e.type] ?? 0) + 1;
    }
    const waits: Record<string, number> = {};
    for (const e of events) {
      if (e.type !== "decision") continue;
      const hold = (JSON.parse(e.data) as { hold?: string }).hold;
      if (hold !== undefined) waits[hold] = (waits[hold] ?? 0) + 1;
    }

    const warm = rss.slice(Math.min(6, Math.max(0, rss.length - 1)));
    const result: SoakResult = {
      ok: problems.length === 0,
      problems,
      faults,
      restarts: {
        automatic: restarts.times.length,
        manual: restarts.manual,
        firstStarts: restarts.firstStarts,
        maxInWindow: most,
        budget: BUDGET.count,
      },
      alerts,
      rssKiB: {
        first: warm[0] ?? 0,
        median: median(warm),
        last: warm.at(-1) ?? 0,
        max: Math.max(0, ...warm),
        samples: rss.length,
      },
      seconds: Math.round((Date.now() - soakStart) / 1000),
    };
    const mib = (kib: number): string => `${(kib / 1024).toFixed(1)} MiB`;
    print("");
    print(`soak: ${sessions.size} agents, ${result.seconds} s, seed ${options.seed}`);
    print(`faults: ${faults.kill} kill -9, ${faults.hang} /sim hang, ${faults.crash} /sim crash`);
    print(
      `restarts: ${result.restarts.automatic} automatic (max ${most} within ${BUDGET.window}, budget ${BUDGET.count}), ` +
        `${result.restarts.manual} requested, ${result.restarts.firstStarts} first starts`,
    );
    print(
      `alerts: ${
        Object.entries(alerts)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ") || "none"
      }`,
    );
    print(
      `waits decided: ${
        Object.entries(waits)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ") || "none"
      }`,
    );
    print(
      `daemon RSS (after the first minute): first ${mib(result.rssKiB.first)}, median ${mib(result.rssKiB.median)}, ` +
        `last ${mib(result.rssKiB.last)}, max ${mib(result.rssKiB.max)} (${rss.length} samples)`,
    );
    print(`files: ${files.checked} checked, ${files.leftovers.length} temp leftovers; store ${integrity}`);
    print(problems.length === 0 ? "invariants: OK" : `invariants FAILED:\n  ${problems.join("\n  ")}`);
    return result;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await town.cleanup();
  }
}

function argument(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? (process.argv[at + 1] ?? fallback) : fallback;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  try {
    const result = await runSoak({
      minutes: Number(argument("minutes", "10")),
      agents: Number(argument("agents", "20")),
      intervalMs: parseDuration(argument("interval", "10s")),
      seed: Number(argument("seed", String(0x50a6))),
    });
    process.exitCode = result.ok ? 0 : 1;
  } catch (error) {
    process.stderr.write(`soak: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  }
}
