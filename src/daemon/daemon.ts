import { rmSync } from "node:fs";
import type { Server } from "node:http";
import { startApiServer } from "../api/server.js";
import { Dashboard } from "../web/dashboard.js";
import { errorMessage, fsErrorMessage } from "../errors.js";
import { ConfigLoader, type TownConfig } from "../town/config.js";
import type { TownPaths } from "../town/paths.js";
import type { DaemonStateFile } from "../town/schemas.js";
import type { TownEvent } from "../store/events.js";
import type { AgentStatusView, StatusDocument } from "../web/feed.js";
import { watchConfig } from "./config-watch.js";
import { daemonOwnedFiles, ensureDaemonDir, removeUnsafeDaemonFiles } from "./daemon-dir.js";
import { startCompanions, type Companions } from "./companions.js";
import { acquireDaemonLock } from "./instance.js";
import { openDaemonLog, type Logger } from "./logger.js";
import { PassLoop } from "./loop.js";
import { daemonClock, type DaemonClock } from "../util/monotonic-clock.js";
import { removePidFile, writePidFile } from "./pid-file.js";
import { removeWriteLeftovers } from "./write-leftovers.js";
import { ZERO_TIME, isZeroTime, writeState } from "./state-file.js";

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
  /**
   * One reconcile pass. May return the time it wants the next pass at, e.g. when a backoff ends, in daemon
   * time (the daemon's clock's `now`, util/monotonic-clock.ts): a wall clock stepped meanwhile moves it not.
   */
  pass(context: WorkContext & { reasons: readonly string[] }): Promise<{ wakeAt: number | null } | undefined>;
  stop?(log: Logger): Promise<void>;
  /** Answers for the control API (status, operator requests, events). */
  readonly api?: WorkApi;
}

export interface WorkApi {
  status(): {
    tmux: { socket: string | null };
    town_stopped?: unknown;
    agents_updated_at: string | null;
    agents: AgentStatusView[];
  };
  submit(body: Record<string, unknown>): Promise<unknown>;
  events(query: URLSearchParams): TownEvent[];
  eventsAfter(query: URLSearchParams, afterId: number): TownEvent[];
  /** Calls `listener` whenever an event was recorded or the statuses changed; returns the unsubscribe. */
  onChange(listener: () => void): () => void;
}

export interface DaemonOptions {
  paths: TownPaths;
  work?: PassWork;
  /** Where one-line startup failures go before the log is open (stderr in production). */
  report?: (line: string) => void;
  /** Stops the daemon like SIGTERM does (for embedding, e.g. the demo). */
  signal?: AbortSignal;
  /** The clock `wakeAt` is read on; the process's daemon clock unless a test brings its own. */
  clock?: DaemonClock;
}

/**
 * Runs the daemon in the foreground until SIGTERM/SIGINT. Returns the exit code.
 * Order matters: the log opens first (so every failure is recorded), then the lock (I6), then the PID and
 * state files, then signals, then the first pass.
 */
export async function runDaemon(options: DaemonOptions): Promise<number> {
  const { paths } = options;
  const clock = options.clock ?? daemonClock;
  const report = options.report ?? ((line: string) => process.stderr.write(`${line}\n`));
  const widerMode = ensureDaemonDir(paths);

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
  // Before the log is opened: the log itself may be one of them.
  const removed = removeUnsafeDaemonFiles(daemonOwnedFiles(paths, config.daemon.logMaxFiles));
  const log = openDaemonLog(paths.logFile, config.daemon.logMaxBytes, config.daemon.logMaxFiles);
  const { logger } = log;
  config = loader.load();
  logger.info(`Daemon starting (PID ${process.pid})`);
  if (widerMode !== undefined)
    logger.warn(`Made ${paths.daemonDir} owner-only (mode 0700; it was 0${widerMode.toString(8)})`);
  for (const line of removed) logger.warn(line);

  const lock = await acquireDaemonLock(paths);
  if (lock === undefined) {
    logger.warn("daemon already running (lock held by another process)");
    report("townd: daemon already running (lock held by another process)");
    log.file.close();
    return EXIT_ALREADY_RUNNING;
  }

  try {
    const removed = removeWriteLeftovers([paths.stateFile, paths.agentsFile, paths.pidFile]);
    if (removed.length > 0)
      logger.info(
        `Removed ${removed.length} temp file(s) left by an interrupted write: ${removed.join(", ")}`,
      );
  } catch (error) {
    logger.warn(`Cannot clean up temp files in ${paths.daemonDir}: ${fsErrorMessage(error)}`);
  }

  /** A failed write (full or read-only disk) is logged once per distinct error, not once per pass. */
  let lastWriteError = "";
  const writeSoft = (write: () => void, file: string): void => {
    try {
      write();
      lastWriteError = "";
    } catch (error) {
      const message = `Cannot write ${file}: ${fsErrorMessage(error)}`;
      if (message !== lastWriteError) logger.error(`${message}; supervision goes on`);
      lastWriteError = message;
    }
  };
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
  let api: Server | undefined;
  let companions: Companions | undefined;
  let dashboard: Dashboard | undefined;
  try {
    writePidFile(paths, process.pid);
    for (const signal of signals) process.on(signal, onSignal);
    logger.info(
      `Daemon running, recovery heartbeat interval ${config.daemon.recoveryHeartbeatIntervalMs / 1000}s`,
    );

    let wakeAt: number | null = null;
    try {
      await options.work?.start?.({
        config,
        log: logger,
        signal: controller.signal,
        trigger: (reason) => loop?.trigger(reason),
      });
    } catch (error) {
      // Told to stop while starting (e.g. tmux hung): a clean stop, not a failure.
      if (controller.signal.aborted) return 0;
      logger.error(`Cannot start: ${errorMessage(error)}`);
      throw error;
    }
    // Only now is the daemon up: `townd start` waits for this state, so it never reports a daemon that is
    // about to die (no tmux, an unusable socket) as started.
    writeState(paths, state);
    loop = new PassLoop({
      signal: controller.signal,
      intervalMs: () => {
        const interval = config.daemon.recoveryHeartbeatIntervalMs;
        return wakeAt === null ? interval : Math.max(0, Math.min(interval, wakeAt - clock.now()));
      },
      onPassError: (error) => {
        logger.error({ err: error }, `Pass failed: ${errorMessage(error)}`);
      },
      pass: async (reasons, signal) => {
        config = loader.load();
        log.file.setLimits(config.daemon.logMaxBytes, config.daemon.logMaxFiles);
        logger.debug({ reasons }, "Pass starting");
        await dashboard?.configure(config.settings.http?.listen);
        const began = performance.now();
        const result = await options.work?.pass({ config, reasons, signal, log: logger });
        dashboard?.observePass((performance.now() - began) / 1000);
        wakeAt = result?.wakeAt ?? null;
        if (signal.aborted) return;
        state.last_heartbeat = new Date().toISOString();
        state.heartbeat_count += 1;
        writeSoft(() => {
          writeState(paths, state);
        }, paths.stateFile);
        logger.info({ reasons }, `Heartbeat complete (#${state.heartbeat_count})`);
      },
    });
    const activeLoop = loop;
    stopWatching = watchConfig(paths, () => {
      activeLoop.trigger("config changed");
    });
    const workApi = options.work?.api;
    if (workApi !== undefined) {
      const statusDocument = (): StatusDocument => ({
        daemon: {
          running: true,
          pid: state.pid,
          started_at: state.started_at,
          last_heartbeat: isZeroTime(state.last_heartbeat) ? null : state.last_heartbeat,
          heartbeat_count: state.heartbeat_count,
        },
        ...workApi.status(),
        // Config files with an error: the daemon keeps their last good version meanwhile.
        problems: loader.problems().map((problem) => `config: ${problem}; keeping the last good config`),
      });
      api = await startApiServer(
        paths.controlSocket,
        {
          status: statusDocument,
          submit: (body) => workApi.submit(body),
          events: (query) => workApi.events(query),
          eventsAfter: (query, afterId) => workApi.eventsAfter(query, afterId),
          reload: () => {
            activeLoop.trigger("config reload");
          },
          wake: () => {
            activeLoop.trigger("lifecycle request");
          },
        },
        (message) => {
          logger.error(message);
        },
      ).catch((error: unknown) => {
        logger.error(
          `Control API unavailable on ${paths.controlSocket}: ${errorMessage(error)}; the CLI falls back to files`,
        );
        return undefined;
      });
      // The dashboard serves the same answers, over HTTP with a token, while `http.listen` is set.
      dashboard = new Dashboard({
        paths,
        source: { ...workApi, status: statusDocument },
        submit: (body) => workApi.submit(body),
        wake: () => {
          activeLoop.trigger("lifecycle request");
        },
        log: logger,
      });
      await dashboard.configure(config.settings.http?.listen);
    }
    // Beside the passes, as the reference runs them: the feed curator and the convoy watcher.
    companions = startCompanions(paths, logger);
    await loop.run();
    return 0;
  } finally {
    stopWatching();
    await dashboard?.close();
    api?.close();
    // An open `events?follow=1` stream must not keep the daemon from stopping.
    api?.closeAllConnections();
    rmSync(paths.controlSocket, { force: true });
    logger.info("Daemon shutting down");
    await companions?.stop();
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
