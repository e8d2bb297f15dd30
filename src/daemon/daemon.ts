import { mkdirSync } from "node:fs";
import { errorMessage } from "../errors.js";
import { ConfigLoader, type TownConfig } from "../town/config.js";
import type { TownPaths } from "../town/paths.js";
import type { DaemonStateFile } from "../town/schemas.js";
import { watchConfig } from "./config-watch.js";
import { acquireDaemonLock } from "./instance.js";
import { openDaemonLog, type Logger } from "./logger.js";
import { PassLoop } from "./loop.js";
import { ZERO_TIME, removePidFile, writePidFile, writeState } from "./state-file.js";

export const EXIT_ALREADY_RUNNING = 3;

export interface WorkContext {
  readonly config: TownConfig;
  readonly log: Logger;
  readonly signal: AbortSignal;
}

/** What a pass does besides the bookkeeping: supervising agents plugs in here. */
export interface PassWork {
  /** Called once the lock is held, before the first pass; `trigger` asks for a pass at any time later. */
  start?(context: WorkContext & { readonly trigger: (reason: string) => void }): Promise<void>;
  /** One reconcile pass. May return the time (epoch ms) it wants the next pass at, e.g. when a backoff ends. */
  pass(context: WorkContext & { reasons: readonly string[] }): Promise<{ wakeAt: number | null } | undefined>;
  stop?(log: Logger): Promise<void>;
}

export interface DaemonOptions {
  paths: TownPaths;
  work?: PassWork;
  /** Where one-line startup failures go before the log is open (stderr in production). */
  report?: (line: string) => void;
  /** Stops the daemon like SIGTERM does (for embedding, e.g. the demo). */
  signal?: AbortSignal;
}

/**
 * Runs the daemon in the foreground until SIGTERM/SIGINT. Returns the exit code.
 * Order matters: the log opens first (so every failure is recorded), then the lock (I6), then the PID and
 * state files, then signals, then the first pass.
 */
export async function runDaemon(options: DaemonOptions): Promise<number> {
  const { paths } = options;
  const report = options.report ?? ((line: string) => process.stderr.write(`${line}\n`));
  mkdirSync(paths.daemonDir, { recursive: true });

  const loader = new ConfigLoader(paths, (problem) => {
    if (problem.recovered)
      log.logger.info({ file: problem.file }, `Config file is valid again: ${problem.file}`);
    else
      log.logger.error(
        { file: problem.file },
        `Config error, keeping the last good config: ${problem.message}`,
      );
  });
  // The log limits come from settings, so the settings are read before the log exists; problems found
  // in that first read are logged just below.
  let config: TownConfig = new ConfigLoader(paths, () => undefined).load();
  const log = openDaemonLog(paths.logFile, config.daemon.logMaxBytes, config.daemon.logMaxFiles);
  const { logger } = log;
  config = loader.load();
  logger.info(`Daemon starting (PID ${process.pid})`);

  const lock = await acquireDaemonLock(paths);
  if (lock === undefined) {
    logger.warn("daemon already running (lock held by another process)");
    report("townd: daemon already running (lock held by another process)");
    log.file.close();
    return EXIT_ALREADY_RUNNING;
  }

  const controller = new AbortController();
  options.signal?.addEventListener("abort", () => {
    controller.abort(options.signal?.reason);
  });
  const state: DaemonStateFile = {
    running: true,
    pid: process.pid,
    started_at: new Date().toISOString(),
    last_heartbeat: ZERO_TIME,
    heartbeat_count: 0,
  };
  let loop: PassLoop | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signal === "SIGUSR1") {
      logger.info("Received lifecycle signal, processing lifecycle requests now");
      loop?.trigger("lifecycle signal");
    } else if (signal === "SIGHUP") {
      logger.info("Received SIGHUP, reloading config");
      loop?.trigger("config reload");
    } else if (!controller.signal.aborted) {
      logger.info(`Received signal ${signal}, shutting down`);
      controller.abort(new Error(`received ${signal}`));
    }
  };
  const signals: NodeJS.Signals[] = ["SIGTERM", "SIGINT", "SIGUSR1", "SIGHUP"];
  let stopWatching = (): void => undefined;
  try {
    writePidFile(paths, process.pid);
    writeState(paths, state);
    for (const signal of signals) process.on(signal, onSignal);
    logger.info(
      `Daemon running, recovery heartbeat interval ${config.daemon.recoveryHeartbeatIntervalMs / 1000}s`,
    );

    let wakeAt: number | null = null;
    await options.work?.start?.({
      config,
      log: logger,
      signal: controller.signal,
      trigger: (reason) => loop?.trigger(reason),
    });
    loop = new PassLoop({
      signal: controller.signal,
      intervalMs: () => {
        const interval = config.daemon.recoveryHeartbeatIntervalMs;
        return wakeAt === null ? interval : Math.max(0, Math.min(interval, wakeAt - Date.now()));
      },
      onPassError: (error) => {
        logger.error({ err: error }, `Pass failed: ${errorMessage(error)}`);
      },
      pass: async (reasons, signal) => {
        config = loader.load();
        log.file.setLimits(config.daemon.logMaxBytes, config.daemon.logMaxFiles);
        logger.debug({ reasons }, "Pass starting");
        const result = await options.work?.pass({ config, reasons, signal, log: logger });
        wakeAt = result?.wakeAt ?? null;
        if (signal.aborted) return;
        state.last_heartbeat = new Date().toISOString();
        state.heartbeat_count += 1;
        try {
          writeState(paths, state);
        } catch (error) {
          logger.error(`Cannot write ${paths.stateFile}: ${errorMessage(error)}`);
        }
        logger.info({ reasons }, `Heartbeat complete (#${state.heartbeat_count})`);
      },
    });
    const activeLoop = loop;
    stopWatching = watchConfig(paths, () => {
      activeLoop.trigger("config changed");
    });
    await loop.run();
    return 0;
  } finally {
    stopWatching();
    logger.info("Daemon shutting down");
    try {
      await options.work?.stop?.(logger);
    } catch (error) {
      logger.error(`Shutdown step failed: ${errorMessage(error)}`);
    }
    state.running = false;
    try {
      writeState(paths, state);
    } catch (error) {
      logger.error(`Cannot write ${paths.stateFile}: ${errorMessage(error)}`);
    }
    removePidFile(paths);
    for (const signal of signals) process.off(signal, onSignal);
    logger.info("Daemon stopped");
    lock.release();
    log.file.close();
  }
}
