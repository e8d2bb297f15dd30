import type { Command } from "commander";
import { AppError } from "../../errors.js";
import { formatReport, formatTraceEvent } from "../../sim/report.js";
import { runSimulation } from "../../sim/run.js";
import { findScenario, SCENARIOS } from "../../sim/scenarios.js";
import { printJson, type CliContext } from "../context.js";
import { formatTable } from "../table.js";

/** Exit status when the run broke an invariant. */
export const EXIT_VIOLATION = 3;
/** The text report lists at most this many violations (--json has them all). */
const SHOWN_VIOLATIONS = 20;

const HELP_AFTER = `
Runs townd's real planner (desired agents → observation → plan) against a simulated tmux server, simulated
agents and a simulated clock: days of supervision in seconds, the same result for the same seed. The town
has the Deacon plus a witness and a refinery per rig, with townd's default limits. In the scenarios of what
agents do (usage-wall, permission-wait, idle-patrol, stalled-worker) agents report their activity through
hooks, and townd's conduct (wall wakes, permission notices, patrol nudges, the stuck ladder) runs as in the
daemon. After the run, the trace is checked against invariants I1–I4, I9 and I10 (I5–I8 are out of a
simulator's reach and reported as such). The report adds wall_kills, wake_delay_p95_s and alerts_by_kind.

Exit status: 0 when every invariant held, 3 when any was violated, 1 for a usage error or an unknown
scenario.

Examples:
  townd simulate --list
  townd simulate healthy-version-title --days 4 --agents 50
  townd simulate instant-crash --json
  townd simulate usage-wall --days 4 --json
  townd simulate deacon-hang --trace`;

/** A numeric option, checked here (a one-line AppError) rather than by commander. */
function numberOption(name: string, text: string | undefined, integer: boolean): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new AppError(
      "E_USAGE",
      `${name} must be ${integer ? "a whole number" : "a number"}, not "${text}"`,
    );
  }
  return value;
}

interface SimulateOptions {
  list?: boolean;
  days?: string;
  agents?: string;
  seed?: string;
  json?: boolean;
  trace?: boolean;
  armedRespawn?: boolean;
}

export function registerSimulate(program: Command, ctx: CliContext): void {
  program
    .command("simulate")
    .summary("replay days of supervision in seconds against a simulated tmux; check the invariants")
    .description(
      "Replay a scenario (crashing agents, a hung Deacon, a mass death, a lost tmux server, usage-limit " +
        "walls, permission waits, idle patrols, stalled turns…) through " +
        "townd's real planner with a simulated clock, tmux and agents, and check the invariants.",
    )
    .argument("[scenario]", "scenario name (see --list)")
    .option("--list", "list the scenarios with one-line descriptions")
    .option("--days <n>", "simulated days, fractions allowed (default: the scenario's)")
    .option(
      "--agents <n>",
      "agents in the town: the Deacon, then a witness and a refinery per rig (default: the scenario's)",
    )
    .option("--seed <n>", "seed of the simulated randomness (default 1)")
    .option(
      "--no-armed-respawn",
      "run with operational.daemon.armed_respawn off (every death waits for a pass)",
    )
    .option("--json", "print the report as JSON")
    .option("--trace", "also print the run's events (starts, kills, exits, nudges, alerts)")
    .addHelpText("after", HELP_AFTER)
    .action((name: string | undefined, opts: SimulateOptions) => {
      const names = SCENARIOS.map((s) => s.name).join(", ");
      if (opts.list === true) {
        const rows = SCENARIOS.map((s) => [s.name, `${s.days}d`, String(s.agents), s.description]);
        for (const line of formatTable(["SCENARIO", "DAYS", "AGENTS", "DESCRIPTION"], rows)) ctx.out(line);
        return;
      }
      if (name === undefined) throw new AppError("E_USAGE", `Name a scenario: ${names}`);
      const scenario = findScenario(name);
      if (scenario === undefined)
        throw new AppError("E_USAGE", `Unknown scenario "${name}"; scenarios: ${names}`);
      const run = runSimulation(scenario, {
        days: numberOption("--days", opts.days, false),
        agents: numberOption("--agents", opts.agents, true),
        seed: numberOption("--seed", opts.seed, true),
        armedRespawn: opts.armedRespawn,
      });
      const { report } = run;
      if (opts.json === true) {
        printJson(ctx, opts.trace === true ? { ...report, trace: run.trace } : report);
      } else {
        const lines = formatReport(report);
        const cut = lines.findIndex((line) => line.startsWith("Violations ("));
        const shown = cut < 0 ? lines : lines.slice(0, cut + 1 + SHOWN_VIOLATIONS);
        for (const line of shown) ctx.out(line);
        if (report.violations.length > SHOWN_VIOLATIONS) {
          ctx.out(`  … ${report.violations.length - SHOWN_VIOLATIONS} more (--json lists them all)`);
        }
        if (opts.trace === true) {
          ctx.out("");
          ctx.out("Trace:");
          for (const event of run.trace) {
            if (event.type === "pass" || event.type === "session-open" || event.type === "session-close")
              continue;
            ctx.out(`  ${formatTraceEvent(event, run.start)}`);
          }
        }
      }
      if (report.violations.length > 0) {
        const kinds = [...new Set(report.violations.map((v) => v.invariant))].join(", ");
        throw new AppError(
          "E_INVARIANT",
          `${report.violations.length} invariant violation${report.violations.length === 1 ? "" : "s"} (${kinds}) in scenario ${report.scenario}`,
          { exitCode: EXIT_VIOLATION },
        );
      }
    });
}
