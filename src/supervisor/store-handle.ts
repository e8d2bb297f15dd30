import { statSync } from "node:fs";
import { openDb, type Db } from "../store/db.js";
import { errorMessage } from "../errors.js";
import type { Logger } from "../daemon/logger.js";

/** dev:ino of each of the store's files when it was opened ("" for one that did not exist). */
type FileIds = readonly [db: string, wal: string, shm: string];

const SUFFIXES = ["", "-wal", "-shm"] as const;

function fileId(path: string): string {
  try {
    const stats = statSync(path, { bigint: true });
    return `${stats.dev}:${stats.ino}`;
  } catch {
    return "";
  }
}

/**
 * The daemon's connection to the town store. A store that cannot be opened (corrupt, locked, disk full)
 * must not stop supervision: the daemon logs it once, works without mail and lifecycle requests, and tries
 * again each pass.
 *
 * A store file removed or replaced under the open handle (`rm town.db`, a backup moved into place, a deleted
 * `town.db-wal`) would split the store: the daemon writing to a file no one else sees, the CLI to another.
 * Each use therefore first checks that the paths still name the files it opened, and if not, reopens.
 */
export class StoreHandle {
  private db: Db | undefined;
  private ids: FileIds = ["", "", ""];
  private lastError: string | undefined;
  private lastUseError = "";
  private readonly file: string;

  constructor(file: string) {
    this.file = file;
  }

  get(log: Logger): Db | undefined {
    this.checkFiles(log);
    if (this.db !== undefined) return this.db;
    try {
      this.db = openDb(this.file);
      this.ids = this.currentIds();
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

  /**
   * Closes the handle when a store file it opened was removed or replaced; returns whether it did. The next
   * use opens the store by its name again. What the open handle still held in its write-ahead log is first
   * written back (into the main file when only the log went, else into the file that was replaced), and the
   * log emptied, so it is not replayed onto the store now at that name.
   */
  checkFiles(log: Logger): boolean {
    if (this.db === undefined) return false;
    const now = this.currentIds();
    const changed = SUFFIXES.filter((_, i) => this.ids[i] !== "" && this.ids[i] !== now[i]);
    if (changed.length === 0) return false;
    const names = changed.map((suffix) => `${this.file}${suffix}`).join(", ");
    const lost = changed.includes("")
      ? "; what the old file held (mail, requests, events) is not in the new one"
      : "";
    log.warn(`Town store file ${names} was removed or replaced while open; reopening the store${lost}`);
    try {
      this.db.pragma("wal_checkpoint(TRUNCATE)");
    } catch {
      // The handle may be past saving; it is closed either way.
    }
    this.close();
    return true;
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
    this.ids = ["", "", ""];
  }

  private currentIds(): FileIds {
    const [db = "", wal = "", shm = ""] = SUFFIXES.map((suffix) => fileId(`${this.file}${suffix}`));
    return [db, wal, shm];
  }
}
