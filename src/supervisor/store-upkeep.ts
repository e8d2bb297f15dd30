import type { Logger } from "../daemon/logger.js";
import { errorMessage } from "../errors.js";
import { checkpointWal, pruneStore, type Retention } from "../store/retention.js";
import { trimPaneEvents } from "./pane-events.js";
import type { StoreHandle } from "./store-handle.js";

/** How often the store is pruned and its write-ahead log truncated (and once at start). */
export const UPKEEP_INTERVAL_MS = 60 * 60_000;
/** How often the store's files are checked for removal or replacement between passes. */
export const FILE_CHECK_INTERVAL_MS = 1000;

/**
 * Keeps what the daemon writes bounded: the store (retention, then a checkpoint that truncates the WAL) at
 * start and hourly, and daemon/pane-events after every pass. Between passes, checks every second that the
 * store's files are still the ones open, so a removed `town.db` or `town.db-wal` is reopened within a second,
 * not at the next heartbeat, and a pass runs at once for what the new store holds.
 */
export class StoreUpkeep {
  private readonly store: StoreHandle;
  private readonly paneEventsFile: string;
  private readonly now: () => number;
  private lastRun = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private lastProblem = "";

  constructor(options: { store: StoreHandle; paneEventsFile: string; now: () => number }) {
    this.store = options.store;
    this.paneEventsFile = options.paneEventsFile;
    this.now = options.now;
  }

  start(log: Logger, retention: Retention, onReplaced: () => void): void {
    this.run(log, retention);
    this.timer = setInterval(() => {
      if (this.store.checkFiles(log)) onReplaced();
    }, FILE_CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  afterPass(log: Logger, retention: Retention): void {
    try {
      if (trimPaneEvents(this.paneEventsFile))
        log.info(`Emptied ${this.paneEventsFile} (it only wakes the daemon)`);
      this.lastProblem = "";
    } catch (error) {
      const message = `Cannot trim ${this.paneEventsFile}: ${errorMessage(error)}`;
      if (message !== this.lastProblem) log.warn(message);
      this.lastProblem = message;
    }
    if (this.now() - this.lastRun >= UPKEEP_INTERVAL_MS) this.run(log, retention);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private run(log: Logger, retention: Retention): void {
    this.lastRun = this.now();
    const pruned = this.store.use(log, "pruning old mail, requests, notices and events", (db) =>
      pruneStore(db, retention, new Date(this.now())),
    );
    if (pruned !== undefined && pruned.mail + pruned.requests + pruned.notices + pruned.events > 0)
      log.info(
        { pruned },
        `Pruned the town store (operational.daemon.retention): ${pruned.mail} mail, ${pruned.requests} lifecycle requests, ` +
          `${pruned.notices} notices, ${pruned.events} events`,
      );
    this.store.use(log, "truncating the write-ahead log", (db) => checkpointWal(db));
  }
}
