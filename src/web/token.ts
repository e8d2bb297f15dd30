import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { linkSync, rmSync } from "node:fs";
import { join } from "node:path";
import { errnoCode } from "../errors.js";
import { writeFileAtomicPrivateSync } from "../util/private-file.js";
import { readTextFileSafe } from "../util/safe-read.js";

/**
 * The dashboard's access token: 32 random bytes (base64url) in daemon/dashboard.token, owner-only like
 * everything in daemon/. Whoever can read it may use the dashboard and /metrics; the listener is on
 * loopback by default, where every local user can connect, so the token is what keeps them out.
 */

export function tokenFile(daemonDir: string): string {
  return join(daemonDir, "dashboard.token");
}

const TOKEN = /^[A-Za-z0-9_-]{32,256}$/;

/** The token in the file; undefined when there is none or the file does not hold a usable one. */
export function readToken(daemonDir: string): string | undefined {
  let text: string | undefined;
  try {
    text = readTextFileSafe(tokenFile(daemonDir), { noFollow: true, maxBytes: 1024 });
  } catch {
    return undefined;
  }
  const token = text?.trim();
  return token !== undefined && TOKEN.test(token) ? token : undefined;
}

export function newToken(): string {
  return randomBytes(32).toString("base64url");
}

/** Writes a new token (atomically, mode 0600): every browser signed in with the old one is signed out. */
export function writeToken(daemonDir: string, token = newToken()): string {
  writeFileAtomicPrivateSync(tokenFile(daemonDir), `${token}\n`);
  return token;
}

/**
 * The token, made first when there is none yet. The daemon and `townd dashboard` may both get here at once:
 * the new file is linked into place only if none exists (link(2) never replaces), so both end up with the
 * one token on disk. A file that holds no usable token is replaced.
 */
export function ensureToken(daemonDir: string): string {
  const existing = readToken(daemonDir);
  if (existing !== undefined) return existing;
  const file = tokenFile(daemonDir);
  const token = newToken();
  const temp = `${file}.${randomBytes(4).readUInt32BE(0)}`;
  writeFileAtomicPrivateSync(temp, `${token}\n`);
  try {
    linkSync(temp, file);
    return token;
  } catch (error) {
    if (errnoCode(error) !== "EEXIST") throw error;
    return readToken(daemonDir) ?? writeToken(daemonDir, token);
  } finally {
    rmSync(temp, { force: true });
  }
}

/**
 * Whether `given` is the token, in time that does not depend on where they differ: both are hashed first,
 * so the comparison is of equal lengths whatever was sent.
 */
export function tokenMatches(given: string | undefined, token: string | undefined): boolean {
  if (given === undefined || token === undefined || given === "") return false;
  const digest = (text: string): Buffer => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(given), digest(token));
}
