import { existsSync } from "node:fs";
import { openDb, openDbReadOnly, type Db } from "../store/db.js";
import { AppError } from "../errors.js";
import { formatIdentity, parseIdentity } from "../town/identity.js";
import type { TownPaths } from "../town/paths.js";

/**
 * Runs `fn` with the town store open, and closes it. A store whose header is fine but whose pages are
 * damaged fails only when read: that is reported as a damaged store, not as a bug in townd.
 */
export function withStore<T>(paths: TownPaths, fn: (db: Db) => T, options: { readOnly?: boolean } = {}): T {
  if (options.readOnly === true && !existsSync(paths.storeFile)) {
    throw new AppError(
      "E_STORE",
      `No town store at ${paths.storeFile} yet (nothing has been sent or recorded)`,
    );
  }
  const db =
    options.readOnly === true ? openDbReadOnly(paths.storeFile) : openDb(paths.storeFile, { check: false });
  try {
    return fn(db);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN)/.test(code)) {
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

/** The calling agent's identity: --as, else the variables townd puts in every agent's environment. */
export function callerIdentity(given: string | undefined, env: NodeJS.ProcessEnv): string {
  const text = given ?? env["TOWND_IDENTITY"] ?? env["BD_ACTOR"];
  if (text === undefined || text === "") {
    throw new AppError(
      "E_NO_IDENTITY",
      "Cannot tell which agent this is: pass --as AGENT (or run inside an agent's session)",
    );
  }
  return formatIdentity(parseIdentity(text));
}
