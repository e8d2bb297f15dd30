import type { Command } from "commander";
import type { StopResult } from "../../daemon/control.js";
import { AppError, errorMessage } from "../../errors.js";
import type { TownPaths } from "../../town/paths.js";
import { parseDuration } from "../../util/duration.js";
import { resolveTown, type CliContext } from "../context.js";

// Each action imports what it needs when it runs: `townd status` is called by scripts and dashboards in a
// loop and must not pay for the daemon, the supervisor, SQLite and the schemas (about 100 ms of start-up).

async function stopDaemon(paths: TownPaths, options: { timeoutMs: number }): Promise<StopResult> {
  return (await import("../../daemon/control.js")).stopDaemon(paths, options);
}

export function parseTimeout(value: string): number {
  try {
    return parseDuration(value);
  } catch (error) {
    throw new AppError("E_BAD_ARGUMENT", `Invalid --timeout "${value}": ${(error as Error).message}`);
  }
}

export function describeStop(result: StopResult): string {
  return result.forced
    ? `⚠ Daemon did not stop within ${Math.round(result.waitedMs / 1000)}s of SIGTERM; killed with SIGKILL (was PID ${result.pid})`
    : `✓ Daemon stopped (was PID ${result.pid})`;
}

/**
 * Refuses an unsafe tmux socket directory here, in one line, rather than as a daemon that dies at start.
 * A settings file that cannot be read is left to the daemon, which starts on its last good config.
 */
async function checkSocketDir(paths: TownPaths): Promise<void> {
  const [{ townTmuxTarget }, { prepareSocketDir }] = await Promise.all([
    import("../../supervisor/tmux-socket.js"),
    import("../../tmux/socket-dir.js"),
  ]);
  let target;
  try {
    target = townTmuxTarget(paths);
  } catch {
    return;
  }
  await prepareSocketDir(target.socket, target.policy, process.getuid?.() ?? 0);
}

/** `townd start` (also for `restart` and `up`): starts the daemon unless it runs; says when the town is down. */
export async function start(
  ctx: CliContext,
  paths: TownPaths,
  options: { townStartsNext?: boolean } = {},
): Promise<void> {
  // A daemon started on a broken config would run on defaults: refuse, naming the file and the field.
  const { checkTownConfig } = await import("../config-check.js");
  for (const warning of checkTownConfig(paths)) ctx.err(`⚠ ${warning}`);
  await checkSocketDir(paths);
  const { startDaemon } = await import("../../daemon/control.js");
  const result = await startDaemon(paths);
  ctx.out(
    result.outcome === "started"
      ? `✓ Daemon started (PID ${result.pid})`
      : `● Daemon already running (PID ${result.pid ?? "unknown"})`,
  );
  const { describeTownStopped, readTownStopped } = await import("../../daemon/town-stopped.js");
  const stopped = readTownStopped(paths);
  if (stopped !== null && options.townStartsNext !== true)
    ctx.out(`■ ${describeTownStopped(stopped)}: every agent stays down until 'townd up'`);
}

export function registerDaemonCommands(program: Command, ctx: CliContext): void {
  program
    .command("start")
    .description(
      "start the daemon in the background; returns once it is up (does nothing if it already runs)",
    )
    .action(async () => {
      await start(ctx, resolveTown(ctx));
    });

  program
    .command("stop")
    .description("stop the daemon: SIGTERM, a bounded wait, then SIGKILL (agents keep running)")
    .option("--timeout <duration>", "how long to wait after SIGTERM before SIGKILL", "10s")
    .action(async (opts: { timeout: string }) => {
      ctx.out(describeStop(await stopDaemon(resolveTown(ctx), { timeoutMs: parseTimeout(opts.timeout) })));
    });

  program
    .command("restart")
    .description("restart an agent now (not held back by its backoff), or without AGENT the daemon itself")
    .argument("[agent]", "identity of the agent to restart, e.g. deacon or gastown/witness")
    .option("--timeout <duration>", "daemon restart: how long to wait after SIGTERM before SIGKILL", "10s")
    .action(async (agent: string | undefined, opts: { timeout: string }) => {
      const paths = resolveTown(ctx);
      if (agent !== undefined) {
        const { sendRequest, supervisedIdentity } = await import("./agent-ops.js");
        const identity = supervisedIdentity(paths, agent);
        await sendRequest(ctx, paths, { identity, kind: "restart", reason: "townd restart" });
        return;
      }
      try {
        ctx.out(describeStop(await stopDaemon(paths, { timeoutMs: parseTimeout(opts.timeout) })));
      } catch (error) {
        if (!(error instanceof AppError && error.code === "E_NOT_RUNNING")) throw error;
        ctx.out("○ Daemon was not running");
      }
      await start(ctx, paths);
    });

  program
    .command("status")
    .description("is the daemon running, and how are the town's agents")
    .option("--json", "machine-readable output (documented in the README)")
    .action(async (opts: { json?: boolean }) => {
      const [{ collectStatus, renderStatus }, { safeJson }] = await Promise.all([
        import("../status.js"),
        import("../safe-text.js"),
      ]);
      const status = await collectStatus(resolveTown(ctx));
      if (opts.json === true) ctx.out(safeJson(status, 2));
      else renderStatus(status, ctx);
    });

  program
    .command("reload")
    .description("make the running daemon re-read its config files now (they are also watched)")
    .action(async () => {
      const paths = resolveTown(ctx);
      const { nudgeDaemon } = await import("../../daemon/wake.js");
      const asked = await nudgeDaemon(paths, "/v1/reload", "SIGHUP");
      if (asked.outcome === "not-running") throw new AppError("E_NOT_RUNNING", "Daemon is not running");
      if (asked.outcome === "unverified")
        throw new AppError("E_PID_UNVERIFIED", `Cannot reach the daemon: ${asked.why}`);
      // The daemon keeps its last good config through a broken file: say so, and fail, instead of ✓.
      const { checkTownConfig } = await import("../config-check.js");
      let warnings: string[];
      try {
        warnings = checkTownConfig(paths);
      } catch (error) {
        throw new AppError(
          "E_BAD_CONFIG",
          `${errorMessage(error)} (the daemon keeps its last good config until the file is fixed)`,
        );
      }
      for (const warning of warnings) ctx.err(`⚠ ${warning}`);
      ctx.out(`✓ Asked the daemon (PID ${asked.pid ?? "unknown"}) to reload its config`);
    });

  program
    .command("logs")
    .description("show the daemon's log")
    .option("-n, --lines <n>", "how many lines", "50")
    .option("-f, --follow", "keep printing new lines (Ctrl-C to stop)")
    .option("--json", "print the raw JSON lines")
    .action(async (opts: { lines: string; follow?: boolean; json?: boolean }) => {
      const lines = Number(opts.lines);
      if (!Number.isInteger(lines) || lines < 0) {
        throw new AppError("E_BAD_ARGUMENT", `Invalid --lines "${opts.lines}": expected a whole number`);
      }
      const paths = resolveTown(ctx);
      const { followLog, printLogTail } = await import("../../daemon/logs.js");
      printLogTail(paths.logFile, lines, opts.json === true, ctx.out);
      if (opts.follow === true) await followLog(paths.logFile, opts.json === true, ctx.out);
    });

  program
    .command("run")
    .description("run the daemon in the foreground (for systemd and debugging)")
    .action(async () => {
      const paths = resolveTown(ctx);
      const [{ runDaemon }, { createSupervisorWork }] = await Promise.all([
        import("../../daemon/daemon.js"),
        import("../../supervisor/work.js"),
      ]);
      process.exitCode = await runDaemon({ paths, work: createSupervisorWork(paths) });
    });
}
