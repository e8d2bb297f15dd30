/**
 * `townd status` at N agents, through the daemon's control socket: wall time of the whole CLI process
 * (what an operator waits for) and of the API round trip alone, medians over several runs.
 *
 *   node --import tsx bench/status.ts [--agents 500] [--runs 15]
 *
 * Agents are a `sleep` runtime (cheap processes), 2 per rig; the town and its tmux server are private and
 * removed at the end.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { callApi } from "../src/api/client.js";

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const index = args.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(args[index + 1]);
};
const agents = option("agents", 500);
const runs = option("runs", 15);
const main = join(import.meta.dirname, "..", "dist", "cli", "main.js");
const townd = (town: string, ...rest: string[]): string =>
  execFileSync(process.execPath, [main, "--town", town, ...rest], { encoding: "utf8" });

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};
const p90 = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.9))] ?? Number.NaN;
};

const root = mkdtempSync(join(tmpdir(), "tdb-"));
const town = join(root, "t");
const socket = join(root, "s");
try {
  townd(root, "init", town, "--agent", "sleeper");
  const settingsFile = join(town, "settings", "config.json");
  const settings = JSON.parse(readFileSync(settingsFile, "utf8")) as Record<string, unknown>;
  settings["agents"] = { sleeper: { command: "sleep", args: ["1000000"], process_names: ["sleep"] } };
  settings["tmux"] = { socket };
  settings["operational"] = {
    daemon: { watchdog: { deacon: { enabled: false } }, spawn_budget: { count: 1000 } },
  };
  writeFileSync(settingsFile, JSON.stringify(settings));
  writeFileSync(
    join(town, "mayor", "daemon.json"),
    JSON.stringify({
      patrols: { deacon: { enabled: false }, witness: { enabled: true }, refinery: { enabled: true } },
    }),
  );
  const rigs = Math.ceil(agents / 2);
  const rigsFile = {
    version: 1,
    rigs: Object.fromEntries(Array.from({ length: rigs }, (_, i) => [`r${i}`, {}])),
  };
  writeFileSync(join(town, "mayor", "rigs.json"), JSON.stringify(rigsFile));
  const startedAt = Date.now();
  townd(town, "start");
  for (;;) {
    const status = JSON.parse(townd(town, "status", "--json")) as { agents: { state: string }[] };
    const running = status.agents.filter((a) => a.state === "running" || a.state === "starting").length;
    if (running >= rigs * 2) break;
    if (Date.now() - startedAt > 300_000)
      throw new Error(`only ${running} of ${rigs * 2} agents after 5 min`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  const spawnSeconds = (Date.now() - startedAt) / 1000;
  const cli: number[] = [];
  const api: number[] = [];
  let bytes = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const result = spawnSync(process.execPath, [main, "--town", town, "status", "--json"], {
      encoding: "utf8",
    });
    cli.push(performance.now() - t0);
    bytes = result.stdout.length;
    const t1 = performance.now();
    await callApi(join(town, "daemon", "control.sock"), "GET", "/v1/status");
    api.push(performance.now() - t1);
  }
  const baseline: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    spawnSync(process.execPath, [main, "--version"], { encoding: "utf8" });
    baseline.push(performance.now() - t0);
  }
  const line = (name: string, values: number[]): string =>
    `| ${name} | ${median(values).toFixed(1)} | ${p90(values).toFixed(1)} |`;
  console.log(
    `agents: ${rigs * 2} (all running after ${spawnSeconds.toFixed(1)} s), runs: ${runs}, payload ${bytes} bytes`,
  );
  console.log("| measurement | median ms | p90 ms |\n|---|---:|---:|");
  console.log(line("`townd status --json` (CLI process, through the socket)", cli));
  console.log(line("API round trip `GET /v1/status` (in process)", api));
  console.log(line("`townd --version` (Node + CLI start-up floor)", baseline));
} finally {
  spawnSync(process.execPath, [main, "--town", town, "stop"], { encoding: "utf8" });
  spawnSync("tmux", ["-S", socket, "kill-server"]);
  rmSync(root, { recursive: true, force: true });
}
