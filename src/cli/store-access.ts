import { existsSync } from "node:fs";
import { openDb, openDbReadOnly, type Db } from "../store/db.js";
import { probeDaemon } from "../daemon/instance.js";
import { assertReadableDir } from "../daemon/dir-access.js";
import { AppError } from "../errors.js";
import { formatIdentity, parseIdentity } from "../town/identity.js";
import type { TownPaths } from "../town/paths.js";

/** How long a command waits for the daemon to reopen a store whose files were removed under it. */
const TORN_STORE_WAIT_MS = 3000;

/** town.db is gone while its -wal and -shm are still in use by the daemon: a new one must wait for it. */
class StoreGone extends Error {}

/**
 * The store's files no longer match what the daemon has open: SQLite fails with a short read, or town.db
 * is missing under a daemon still holding the old one (a new file made now would share its -wal and -shm,
 * and what was written to it would be lost).
 */
function tornStore(error: unknown): boolean {
  if (error instanceof StoreGone) return true;
  const code = (error as { code?: unknown; cause?: { code?: unknown } }).code;
  const cause = (error as { cause?: { code?: unknown } }).cause?.code;
  return code === "SQLITE_IOERR_SHORT_READ" || cause === "SQLITE_IOERR_SHORT_READ";
}

/**
 * Runs `fn` with the town store open, and closes it. A store whose header is fine but whose pages are
 * damaged fails only when read: that is reported as a damaged store, not as a bug in townd.
 *
 * A store file removed while the daemon has the store open (`town.db-wal`, or `town.db` itself) makes SQLite
 * fail with a short read until the daemon notices, which it does within a second and reopens the store:
 * such a failure is retried for a few seconds, then reported in one line that says so.
 */
export function withStore<T>(paths: TownPaths, fn: (db: Db) => T, options: { readOnly?: boolean } = {}): T {
  const deadline = Date.now() + TORN_STORE_WAIT_MS;
  for (;;) {
    try {
      return withStoreOnce(paths, fn, options);
    } catch (error) {
      if (!tornStore(error)) throw error;
      if (Date.now() >= deadline)
        throw new AppError(
          "E_STORE",
          `Cannot read the town store ${paths.storeFile}: a file of it (town.db, town.db-wal or town.db-shm) ` +
            `was removed while the daemon had it open; a running daemon reopens it within seconds, try again`,
          { cause: error },
        );
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
}

function withStoreOnce<T>(paths: TownPaths, fn: (db: Db) => T, options: { readOnly?: boolean }): T {
  assertReadableDir(paths.storeFile);
  if (options.readOnly === true && !existsSync(paths.storeFile)) {
    throw new AppError(
      "E_STORE",
      `No town store at ${paths.storeFile} yet (nothing has been sent or recorded)`,
    );
  }
  const file = paths.storeFile;
  if (
    options.readOnly !== true &&
    !existsSync(file) &&
    (existsSync(`${file}-wal`) || existsSync(`${file}-shm`)) &&
    probeDaemon(paths).running
  )
    throw new StoreGone(`${file} is missing while the daemon has the store open`);
  const db = options.readOnly === true ? openDbReadOnly(file) : openDb(file, { check: false });
  try {
    return fn(db);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (
      typeof code === "string" &&
      !tornStore(error) &&
      /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN)/.test(code)
    ) {
      throw new AppError(
        "E_STORE",
        `Cannot write the town store ${paths.storeFile}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    if (typeof code === "string" && (code.startsWith("SQLITE_CORRUPT") || code === "SQLITE_NOTADB")) {
      throw new AppError(
        "E_STORE",
        `The town store ${paths.storeFile} is damaged (corrupt): ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    throw error;
  } finally {
    db.close();
  }
}

const PLAIN_ADDRESS = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * A mail address: an agent identity in any of its forms (stored canonical, so `deacon/` and `deacon` are
 * one mailbox), or a plain name such as `operator`.
 */
export function mailAddress(text: string, what: string): string {
  try {
    return formatIdentity(parseIdentity(text));
  } catch {
    if (PLAIN_ADDRESS.test(text)) return text;
    throw new AppError(
      "E_BAD_ADDRESS",
      `Invalid ${what} ${JSON.stringify(text)}: expected an agent identity or a plain name`,
    );
  }
}

/**
 * Who the caller is by its environment: $TOWND_IDENTITY and $BD_ACTOR, which townd sets in every agent's
 * session, else Gas Town's $GT_ROLE with $GT_RIG and $GT_POLECAT/$GT_CREW (a session `gt` started).
 */
export function identityFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  for (const key of ["TOWND_IDENTITY", "BD_ACTOR"]) {
    const value = env[key];
    if (value !== undefined && value !== "") return value;
  }
  const role = env["GT_ROLE"];
  if (role === undefined || role === "") return undefined;
  if (role.includes("/")) return role;
  const rig = env["GT_RIG"] ?? "";
  const name = env["GT_POLECAT"] ?? env["GT_CREW"] ?? "";
  if (role === "polecat") return `${rig}/polecats/${name}`;
  if (role === "crew") return `${rig}/crew/${name}`;
  return rig === "" ? role : `${rig}/${role}`;
}

/** The calling agent's identity: `given` (an option), else its environment (identityFromEnv). */
export function callerIdentity(
  given: string | undefined,
  env: NodeJS.ProcessEnv,
  option = "--as AGENT",
  what = "which agent this is",
): string {
  const text = given ?? identityFromEnv(env);
  if (text === undefined || text === "") {
    throw new AppError(
      "E_NO_IDENTITY",
      `Cannot tell ${what}: pass ${option} (or run inside an agent's session, where $TOWND_IDENTITY or $BD_ACTOR is set)`,
    );
  }
  return formatIdentity(parseIdentity(text));
}
