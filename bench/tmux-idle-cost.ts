/**
 * What townd's idle watching costs the tmux server: a server with N sessions (each pane running `sleep`),
 * its CPU time over a window with nothing sent to it, with a SIGCHLD every `--kick` ms (townd's
 * reap_kick_interval), and with townd's `list-panes -a` snapshot every `--poll` ms (death_poll_interval), measured
 * from /proc. Phases are interleaved over several rounds so machine noise falls on all of them alike.
 *
 *   node --import tsx bench/tmux-idle-cost.ts [--sessions 500] [--seconds 10] [--rounds 3] [--kick 100] [--poll 500]
 *
 * Prints a markdown table (median over rounds) and writes .bench/tmux-idle-cost.json.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { PANE_FORMAT } from "../src/tmux/format.js";
import {
  cpuTimes,
  machine,
  median,
  onCleanup,
  round,
  runBenchmark,
  sleep,
  table,
  tmuxServerPid,
  writeResult,
} from "./harness.js";

function options(): { sessions: number; seconds: number; rounds: number; kickMs: number; pollMs: number } {
  const { values } = parseArgs({
    options: {
      sessions: { type: "string", default: "500" },
      seconds: { type: "string", default: "10" },
      rounds: { type: "string", default: "3" },
      kick: { type: "string", default: "100" },
      poll: { type: "string", default: "500" },
    },
  });
  const parsed = {
    sessions: Number(values.sessions),
    seconds: Number(values.seconds),
    rounds: Number(values.rounds),
    kickMs: Number(values.kick),
    pollMs: Number(values.poll),
  };
  for (const [name, value] of Object.entries(parsed))
    if (!Number.isInteger(value) || value < 1) throw new Error(`Invalid --${name}: a whole number ≥ 1`);
  return parsed;
}

await runBenchmark(async () => {
  const opts = options();
  const info = machine();
  const dir = mkdtempSync(join(tmpdir(), "tdb-tmuxcost-"));
  const socket = join(dir, "tmux.sock");
  const tmux = (...args: string[]): string =>
    execFileSync("tmux", ["-S", socket, "-f", "/dev/null", ...args], { encoding: "utf8" });
  onCleanup(`remove ${dir}`, () => {
    rmSync(dir, { recursive: true, force: true });
  });
  onCleanup("kill the tmux server", () => {
    spawnSync("tmux", ["-S", socket, "kill-server"], { stdio: "ignore" });
  });
  tmux("start-server", ";", "set-option", "-g", "exit-empty", "off");
  for (let i = 0; i < opts.sessions; i++) tmux("new-session", "-d", "-s", `s${i}`, "sleep", "1000000");
  const server = tmuxServerPid(socket);
  await sleep(3000);

  const phases = {
    nothing: (): (() => void) => () => undefined,
    kick: (): (() => void) => {
      const timer = setInterval(() => process.kill(server, "SIGCHLD"), opts.kickMs);
      return () => {
        clearInterval(timer);
      };
    },
    poll: (): (() => void) => {
      const timer = setInterval(
        () =>
          spawnSync("tmux", ["-S", socket, "-f", "/dev/null", "-N", "list-panes", "-a", "-F", PANE_FORMAT]),
        opts.pollMs,
      );
      return () => {
        clearInterval(timer);
      };
    },
  } as const;
  const percent: Record<keyof typeof phases, number[]> = { nothing: [], kick: [], poll: [] };
  for (let round_ = 0; round_ < opts.rounds; round_++) {
    for (const name of Object.keys(phases) as (keyof typeof phases)[]) {
      const stop = phases[name]();
      const before = cpuTimes(server).self;
      const started = performance.now();
      await sleep(opts.seconds * 1000);
      const used = cpuTimes(server).self - before;
      stop();
      percent[name].push((100 * used) / (performance.now() - started));
      await sleep(500);
    }
    process.stderr.write(`round ${round_ + 1} of ${opts.rounds}\n`);
  }

  const rows = [
    ["nothing sent", round(median(percent.nothing), 2)],
    [`SIGCHLD every ${opts.kickMs} ms`, round(median(percent.kick), 2)],
    [`\`list-panes -a\` every ${opts.pollMs} ms`, round(median(percent.poll), 2)],
  ];
  const command = `node --import tsx bench/tmux-idle-cost.ts --sessions ${opts.sessions} --seconds ${opts.seconds} --rounds ${opts.rounds} --kick ${opts.kickMs} --poll ${opts.pollMs}`;
  const file = writeResult("tmux-idle-cost", {
    command,
    machine: { ...info, loadAtEnd: loadavg().map((value) => round(value, 2)) },
    sessions: opts.sessions,
    serverCpuPercent: Object.fromEntries(
      Object.entries(percent).map(([name, values]) => [name, values.map((v) => round(v, 2))]),
    ),
  });
  console.log(
    `tmux server with ${opts.sessions} sessions, CPU % of one core (median of ${opts.rounds} rounds)\n`,
  );
  console.log(table(["what is sent to it", "server CPU %"], ["---", "---:"], rows));
  console.log(`\n${command}\nresults: ${file}`);
});
