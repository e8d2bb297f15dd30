/**
 * Observation-pass benchmark: townd's one `list-panes -a` per pass against the reference's two tmux calls
 * per agent (`has-session` + `list-panes -t`, gastown-daemon.md §12.2–12.3), on a private tmux server.
 *
 *   node --import tsx bench/observe.ts [--sizes 10,100,500] [--runs 15]
 *
 * Prints a markdown table and writes .bench/observe.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { run } from "../src/proc/run.js";
import { TmuxClient } from "../src/tmux/client.js";

interface Stats {
  callsPerPass: number;
  medianMs: number;
  p90Ms: number;
  samplesMs: number[];
}

interface SizeResult {
  sessions: number;
  runs: number;
  snapshot: Stats;
  perAgent: Stats;
  /** perAgent median / snapshot median. */
  ratio: number;
}

function parseOptions(): { sizes: number[]; runs: number } {
  const { values } = parseArgs({
    options: { sizes: { type: "string", default: "10,100,500" }, runs: { type: "string", default: "15" } },
  });
  const sizes = values.sizes.split(",").map((text) => Number(text.trim()));
  const runs = Number(values.runs);
  if (sizes.some((size) => !Number.isInteger(size) || size < 1) || !Number.isInteger(runs) || runs < 1) {
    throw new Error(
      `Invalid --sizes "${values.sizes}" or --runs "${values.runs}": expected positive integers`,
    );
  }
  return { sizes: [...new Set(sizes)].sort((a, b) => a - b), runs };
}

function quantile(sorted: readonly number[], q: number): number {
  // Nearest rank: the smallest sample with at least q of the samples at or below it.
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

function median(sorted: readonly number[]): number {
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return sorted[middle] ?? Number.NaN;
  return ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
}

function stats(samples: number[], callsPerPass: number): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (ms: number): number => Math.round(ms * 100) / 100;
  return {
    callsPerPass,
    medianMs: round(median(sorted)),
    p90Ms: round(quantile(sorted, 0.9)),
    samplesMs: samples.map(round),
  };
}

async function timed(action: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await action();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const sessionName = (index: number): string => `bench${String(index).padStart(4, "0")}`;

async function main(): Promise<void> {
  const { sizes, runs } = parseOptions();
  const dir = mkdtempSync(join(tmpdir(), "tdb-"));
  const socket = join(dir, "tmux.sock");
  const client = new TmuxClient({ socket, timeoutMs: 30_000 });
  const cleanup = async (): Promise<void> => {
    await client.killServer().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("SIGINT", () => {
    void cleanup().finally(() => process.exit(130));
  });

  // The reference's per-agent pane query, made exactly as TmuxClient makes its calls.
  const { TMUX: _tmux, TMUX_PANE: _pane, ...env } = process.env;
  const paneCommand = async (name: string): Promise<string> => {
    const args = ["-u", "-S", socket, "-f", "/dev/null", "-N", "list-panes", "-t", `=${name}:`];
    const result = await run("tmux", [...args, "-F", "#{pane_current_command}"], { timeoutMs: 30_000, env });
    if (result.exitCode !== 0) throw new Error(`Tmux list-panes for ${name} failed: ${result.stderr.trim()}`);
    return result.stdout.trim();
  };

  try {
    const version = await client.version();
    await client.ensureServer();
    const results: SizeResult[] = [];
    let created = 0;
    for (const size of sizes) {
      for (; created < size; created += 1) {
        await client.newSession({
          name: sessionName(created),
          cwd: dir,
          argv: ["sleep", "100000"],
          env: {},
          generation: "bench",
          identity: `bench/${created}`,
        });
      }
      const names = Array.from({ length: size }, (_, index) => sessionName(index));

      const snapshotPass = async (): Promise<void> => {
        const snapshot = await client.snapshot();
        if (snapshot.panes.length !== size)
          throw new Error(`Snapshot saw ${snapshot.panes.length} of ${size} panes`);
      };
      const perAgentPass = async (): Promise<void> => {
        for (const name of names) {
          if (!(await client.hasSession(name))) throw new Error(`Session ${name} is missing`);
          if ((await paneCommand(name)) !== "sleep") throw new Error(`Session ${name} is not running sleep`);
        }
      };

      // One untimed pass each, so panes have exec'd `sleep` and caches are warm.
      await snapshotPass();
      await perAgentPass();
      const snapshotMs: number[] = [];
      const perAgentMs: number[] = [];
      for (let index = 0; index < runs; index += 1) {
        // Interleaved, so machine noise falls on both approaches alike.
        snapshotMs.push(await timed(snapshotPass));
        perAgentMs.push(await timed(perAgentPass));
      }
      const snapshot = stats(snapshotMs, 1);
      const perAgent = stats(perAgentMs, 2 * size);
      results.push({
        sessions: size,
        runs,
        snapshot,
        perAgent,
        ratio: Math.round((perAgent.medianMs / snapshot.medianMs) * 10) / 10,
      });
      process.stderr.write(`measured ${size} sessions\n`);
    }

    const report = {
      command: `node --import tsx bench/observe.ts --sizes ${sizes.join(",")} --runs ${runs}`,
      date: new Date().toISOString(),
      machine: { cpus: availableParallelism(), node: process.version, tmux: version },
      results,
    };
    mkdirSync(".bench", { recursive: true });
    writeFileSync(join(".bench", "observe.json"), `${JSON.stringify(report, null, 2)}\n`);

    const lines = [
      "| Sessions | One `list-panes -a`: calls | median ms | p90 ms | Per agent: calls | median ms | p90 ms | Ratio (median) |",
      "|---:|---:|---:|---:|---:|---:|---:|---:|",
      ...results.map((result) => {
        const cells = [
          result.sessions,
          result.snapshot.callsPerPass,
          result.snapshot.medianMs,
          result.snapshot.p90Ms,
          result.perAgent.callsPerPass,
          result.perAgent.medianMs,
          result.perAgent.p90Ms,
          `${result.ratio}×`,
        ];
        return `| ${cells.join(" | ")} |`;
      }),
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    await cleanup();
  }
}

await main();
