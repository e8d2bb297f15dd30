import {
  chmodSync,
  closeSync,
  constants,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  openSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { AppError, errnoCode, errorMessage } from "../errors.js";
import { MIGRATIONS } from "./migrations.js";

export type Db = Database.Database;

/**
 * Opens the town's store (daemon/town.db): WAL, so readers never block the daemon and a crash never leaves a
 * half-written transaction (I7); a busy timeout, so concurrent CLI writers wait instead of failing.
 */
export function openDb(file: string, options: { check?: boolean } = {}): Db {
  let db: Db | undefined;
  try {
    makePrivate(file);
    db = new Database(file, { timeout: 5000 });
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    // A damaged page behind a good header would only fail later, query by query: find it now. Short-lived
    // CLI calls skip the scan and report damage when they meet it (see cli/store-access.ts).
    if (options.check !== false) {
      const result = db.pragma("quick_check", { simple: true });
      if (result !== "ok") throw Object.assign(new Error(String(result)), { code: "SQLITE_CORRUPT" });
    }
    migrate(db);
    return db;
  } catch (error) {
    db?.close();
    throw new AppError("E_STORE", `Cannot open the town store ${file}: ${describeSqliteError(error)}`, {
      cause: error,
    });
  }
}

/**
 * The store holds every agent's mail: readable by its owner only. SQLite creates the -wal and -shm files
 * with the main file's permissions, so creating that one 0600 covers them; a store made wider by an older
 * townd is narrowed, file by file. A symbolic link is refused: opening, chmod and writes would all follow it.
 */
function makePrivate(file: string): void {
  try {
    const fd = openSync(
      file,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    );
    closeSync(fd);
  } catch (error) {
    if (errnoCode(error) !== "EEXIST") throw error;
  }
  for (const path of [file, `${file}-wal`, `${file}-shm`]) {
    let mode: number;
    try {
      const stats = lstatSync(path);
      if (stats.isSymbolicLink()) throw new Error(`${path} is a symbolic link, which townd does not follow`);
      if (!stats.isFile()) throw new Error(`${path} is not a regular file`);
      mode = stats.mode & 0o777;
    } catch (error) {
      if (errnoCode(error) === "ENOENT") continue;
      throw error;
    }
    if ((mode & 0o077) !== 0) chmodSync(path, mode & 0o700);
  }
}

/**
 * Opens the store for reading only (`mail inbox`, `events`, `why`): works for a user who may read the town but
 * not write it, and never creates or migrates anything. With no write access to daemon/ SQLite cannot make
 * the WAL's index; when no WAL is left (the daemon checkpointed and closed), the main file is complete and a
 * private copy of it is read instead.
 */
export function openDbReadOnly(file: string): Db {
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true, timeout: 5000 });
    try {
      db.pragma("user_version", { simple: true });
      return db;
    } catch (error) {
      db.close();
      throw error;
    }
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if ((code === "SQLITE_READONLY_DIRECTORY" || code === "SQLITE_CANTOPEN") && !existsSync(`${file}-wal`))
      return openCopy(file);
    throw new AppError("E_STORE", `Cannot open the town store ${file}: ${describeSqliteError(error)}`, {
      cause: error,
    });
  }
}

function openCopy(file: string): Db {
  const dir = mkdtempSync(join(tmpdir(), "townd-store-"));
  try {
    copyFileSync(file, join(dir, "town.db"));
    const db = new Database(join(dir, "town.db"), { readonly: true, fileMustExist: true });
    return db;
  } catch (error) {
    throw new AppError("E_STORE", `Cannot open the town store ${file}: ${describeSqliteError(error)}`, {
      cause: error,
    });
  } finally {
    // The open handle keeps the copy readable after its name is gone (a read-only open makes no WAL).
    rmSync(dir, { recursive: true, force: true });
  }
}

function migrate(db: Db): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `its schema version ${current} is newer than this townd knows (${MIGRATIONS.length}); upgrade townd`,
    );
  }
  MIGRATIONS.slice(current).forEach((sql, index) => {
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${current + index + 1}`);
    })();
  });
}

function describeSqliteError(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (code === "SQLITE_NOTADB" || code === "SQLITE_CORRUPT")
    return "the file is not a valid SQLite database (corrupt?)";
  if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED") return "the database is locked by another process";
  if (code === "SQLITE_CANTOPEN" || code === "ENOENT" || code === "EACCES")
    return "the file cannot be opened (missing directory or no permission)";
  return errorMessage(error);
}
