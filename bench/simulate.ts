/**
 * Simulator benchmark: how fast the deterministic simulation replays days of supervision, and how many
 * spawns each scenario costs under townd's default limits, beside what the reference daemon and the peer
 * supervisors would do with the same crashing agent.
 *
 *   node --import tsx bench/simulate.ts [--runs 7]
 *
 * Prints markdown for docs/BENCHMARKS.md and writes .bench/simulate.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DAY, MINUTE, SECOND } from "../src/sim/clock.js";
import { runSimulation, type SimReport } from "../src/sim/run.js";
import { findScenario, SCENARIOS, type Scenario } from "../src/sim/scenarios.js";

const TIMED_SCENARIO = "healthy-version-title";
const TIMED_DAYS = 4;
const TIMED_AGENTS = 50;
const PEER_DAYS = 4;

function parseOptions(): { runs: number } {
  const { values } = parseArgs({ options: { runs: { type: "string", default: "7" } } });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 5)
    throw new Error(`--runs must be a whole number ≥ 5, not "${values.runs}"`);
  return { runs };
}

function scenario(name: string): Scenario {
  const found = findScenario(name);
  if (found === undefined) throw new Error(`no scenario ${name}`);
  return found;
}

function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return sorted[middle] ?? Number.NaN;
  return ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
}

function targetSpawns(report: SimReport): number {
  return report.per_agent.find((a) => a.agent === report.target)?.spawns ?? Number.NaN;
}

/**
 * Spawns in `horizonMs` of an agent that lives `lifeMs` after each start, when the n-th restart waits
 * `delay(n)` after the death (n = 1, 2, …) and `stop(n)` ends restarting after n restarts.
 */
function spawnsOver(
  horizonMs: number,
  lifeMs: number,
  delay: (restart: number) => number,
  stop: (restarts: number) => boolean = () => false,
): number {
  let t = 0;
  let spawns = 1;
  for (let restart = 1; !stop(restart - 1); restart++) {
    t += lifeMs + delay(restart);
    if (t > horizonMs) break;
    spawns += 1;
  }
  return spawns;
}

const HORIZON = PEER_DAYS * DAY;
const HEARTBEAT = 3 * MINUTE;
/** Started at a heartbeat, dead `lifeMs` later, restarted by the first heartbeat after the death. */
const nextHeartbeat = (lifeMs: number) => (): number =>
  (Math.floor(lifeMs / HEARTBEAT) + 1) * HEARTBEAT - lifeMs;

interface PeerRow {
  readonly scenario: string;
  readonly lifeMs: number;
  townd: number;
  townd1: number;
  readonly seed: string;
  readonly head: string;
  readonly pm2: string;
  readonly systemd: string;
  readonly kubelet: string;
}

function peerRow(name: string, lifeMs: number): PeerRow {
  // Reference seed: every role is (re)started by the next 3-minute heartbeat, with no backoff and no cap.
  const seed = spawnsOver(HORIZON, lifeMs, nextHeartbeat(lifeMs));
  // Reference HEAD: the Deacon's restart tracker (30 s doubling to 10 m; the 5th recorded start without a
  // 30 m stable gap sets a sticky crash loop); witnesses and refineries as at seed; polecats never restarted.
  const headDeacon = spawnsOver(
    HORIZON,
    lifeMs,
    (n) => Math.max(nextHeartbeat(lifeMs)(), Math.min(10 * MINUTE, 30 * SECOND * 2 ** (n - 1))),
    (restarts) => restarts + 1 >= 5,
  );
  // PM2 defaults: restart at once (~0.1 s measured); 16 unstable exits (< 1 s uptime) within 16 s → errored.
  const pm2 =
    lifeMs === 0
      ? "16 (measured: 16 starts in 1.6 s, then `errored`)"
      : lifeMs === 1200
        ? `≈${Math.round((46 * 60 * 24 * PEER_DAYS) / 1000)} 000 (measured: 46/min, never stops)`
        : String(spawnsOver(HORIZON, lifeMs, () => 100));
  // systemd Restart=on-failure: RestartSec=100ms; StartLimitBurst=5 within StartLimitIntervalSec=10s → failed.
  const systemdWindow = (restarts: number): boolean => restarts + 1 >= 5 && 5 * (lifeMs + 100) <= 10 * SECOND;
  const systemd = spawnsOver(HORIZON, lifeMs, () => 100, systemdWindow);
  // kubelet: first restart at once, then 10 s doubling to a 300 s cap; reset after a 10 min run.
  const kubelet = spawnsOver(HORIZON, lifeMs, (n) =>
    lifeMs >= 10 * MINUTE ? 0 : n === 1 ? 0 : Math.min(300 * SECOND, 10 * SECOND * 2 ** (n - 2)),
  );
  return {
    scenario: name,
    lifeMs,
    townd: Number.NaN,
    townd1: Number.NaN,
    seed: `${seed}`,
    head: `${seed} (witness, refinery); ${headDeacon} (Deacon, then stuck in crash loop); 1 (polecat)`,
    pm2,
    systemd: String(systemd),
    kubelet: String(kubelet),
  };
}

function main(): void {
  const { runs } = parseOptions();
  const timed = scenario(TIMED_SCENARIO);
  // One untimed warm-up run (module loading, JIT), then the timed runs.
  runSimulation(timed, { days: TIMED_DAYS, agents: TIMED_AGENTS });
  const samples: number[] = [];
  // CPU time of this process too: on a shared machine it moves much less with other people's load.
  const cpuSamples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const cpuBefore = process.cpuUsage();
    const { report } = runSimulation(timed, { days: TIMED_DAYS, agents: TIMED_AGENTS });
    const cpu = process.cpuUsage(cpuBefore);
    if (report.spawns !== TIMED_AGENTS || report.violations.length > 0) throw new Error("unexpected result");
    samples.push(report.wall_ms);
    cpuSamples.push(Math.round((cpu.user + cpu.system) / 100) / 10);
  }
  const medianMs = median(samples);
  const medianCpuMs = median(cpuSamples);
  const agentDaysPerSecond = (TIMED_AGENTS * TIMED_DAYS) / (medianMs / 1000);

  const scenarios = SCENARIOS.map((s) => {
    const { report } = runSimulation(s);
    return {
      scenario: s.name,
      days: report.days,
      agents: report.agents,
      spawns: report.spawns,
      restarts: report.restarts,
      kills: report.kills,
      nudges: report.nudges,
      target: report.target,
      target_spawns: targetSpawns(report),
      alerts: report.alerts.map((a) => a.kind),
      violations: report.violations.length,
      wall_ms: report.wall_ms,
    };
  });

  const peers = [
    peerRow("instant-crash", 0),
    peerRow("crash-after-1.2s", 1200),
    peerRow("crash-after-10m", 10 * MINUTE),
  ];
  for (const row of peers) {
    // The crashing agent's spawns: alone in a town of one (the Deacon), and as rig01/witness in the default town.
    row.townd1 = targetSpawns(runSimulation(scenario(row.scenario), { days: PEER_DAYS, agents: 1 }).report);
    row.townd = scenarios.find((s) => s.scenario === row.scenario)?.target_spawns ?? Number.NaN;
  }

  const model = cpus()[0]?.model.trim() ?? "unknown CPU";
  const report = {
    date: new Date().toISOString(),
    machine: `${availableParallelism()} vCPU (${model}), Node ${process.version}`,
    load_average: loadavg().map((l) => Math.round(l * 100) / 100),
    timed: {
      scenario: TIMED_SCENARIO,
      days: TIMED_DAYS,
      agents: TIMED_AGENTS,
      runs,
      samples_ms: samples,
      median_ms: medianMs,
      cpu_samples_ms: cpuSamples,
      median_cpu_ms: medianCpuMs,
      agent_days_per_second: agentDaysPerSecond,
    },
    scenarios,
    peers,
  };
  mkdirSync(".bench", { recursive: true });
  writeFileSync(join(".bench", "simulate.json"), `${JSON.stringify(report, null, 2)}\n`);

  const out = (line = ""): void => {
    process.stdout.write(`${line}\n`);
  };
  out(`Date: ${report.date}; machine: ${report.machine}; load average ${report.load_average.join(", ")}`);
  out(
    `${TIMED_SCENARIO}, ${TIMED_DAYS} days × ${TIMED_AGENTS} agents, ${runs} runs: median ${medianMs.toFixed(1)} ms ` +
      `(min ${Math.min(...samples).toFixed(1)}, max ${Math.max(...samples).toFixed(1)}); ` +
      `${Math.round(agentDaysPerSecond).toLocaleString("en-US")} simulated agent-days per wall second; ` +
      `median CPU ${medianCpuMs.toFixed(1)} ms (${Math.round((TIMED_AGENTS * TIMED_DAYS) / (medianCpuMs / 1000)).toLocaleString("en-US")} agent-days per CPU second)`,
  );
  out();
  out(
    "| Scenario | Days | Agents | Spawns | Restarts | Kills | Nudges | Target's spawns | Alerts | Violations | Wall ms |",
  );
  out("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|");
  for (const s of scenarios) {
    out(
      `| ${s.scenario} | ${s.days} | ${s.agents} | ${s.spawns} | ${s.restarts} | ${s.kills} | ${s.nudges} | ` +
        `${s.target_spawns} (${s.target}) | ${s.alerts.join(", ") || "none"} | ${s.violations} | ${s.wall_ms} |`,
    );
  }
  out();
  out(
    "| Death pattern | townd (simulated) | reference seed | reference HEAD | PM2 default | systemd on-failure | kubelet |",
  );
  out("|---|---:|---:|---|---|---:|---:|");
  for (const p of peers) {
    out(`| ${p.scenario} | ${p.townd1} | ${p.seed} | ${p.head} | ${p.pm2} | ${p.systemd} | ${p.kubelet} |`);
  }
}

main();
