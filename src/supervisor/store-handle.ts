import { openDb, type Db } from "../store/db.js";
import { errorMessage } from "../errors.js";
import type { Logger } from "../daemon/logger.js";

/**
 * The daemon's connection to the town store. A store that cannot be opened (corrupt, locked, disk full)
 * must not stop supervision: the daemon logs it once, works without mail and lifecycle requests, and tries
 * again each pass.
 */
export class StoreHandle {
  private db: Db | undefined;
  private lastError: string | undefined;
  private lastUseError = "";
  private readonly file: string;

  constructor(file: string) {
    this.file = file;
  }

  get(log: Logger): Db | undefined {
    if (this.db !== undefined) return this.db;
    try {
      this.db = openDb(this.file);
      if (this.lastError !== undefined) log.info(`Town store is available again: ${this.file}`);
      this.lastError = undefined;
      return this.db;
    } catch (error) {
      const message = errorMessage(error);
      if (message !== this.lastError) {
        log.error(`${message}; supervising without mail and lifecycle requests until it can be opened`);
        this.lastError = message;
      }
      return undefined;
    }
  }

  /** Runs `fn` with the store; a failure is logged, closes the handle (it reopens next time), and returns undefined. */
  use<T>(log: Logger, what: string, fn: (db: Db) => T): T | undefined {
    const db = this.get(log);
    if (db === undefined) return undefined;
    try {
      return fn(db);
    } catch (error) {
      const message = `Town store ${this.file} failed while ${what}: ${errorMessage(error)}`;
      if (message !== this.lastUseError) log.error(message);
      this.lastUseError = message;
      this.close();
      return undefined;
    }
  }

  close(): void {
    try {
      this.db?.close();
    } catch {
      // Closing a broken handle can fail too; it is dropped either way.
    }
    this.db = undefined;
  }
}
