import { lstatSync, rmSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { AppError, errnoCode, fsErrorMessage } from "../errors.js";
import type { TownPaths } from "../town/paths.js";
import { readJsonIfExists } from "../util/json-file.js";
import { writeJsonPrivateSync } from "../util/private-file.js";
import { ensureDaemonDir } from "./daemon-dir.js";

/**
 * The "town stopped" intent: `townd down` leaves daemon/town-stopped.json, and while it is there every
 * daemon, however started (`townd start`, systemd, `townd restart`), keeps every agent down. Only
 * `townd up` removes it. The file's presence is the intent; its content only says since when and by what.
 */
export interface TownStopped {
  /** ISO time of the `townd down`; null when the file does not say (written by hand, damaged). */
  readonly since: string | null;
  readonly by: string;
}

const fileSchema = z.looseObject({
  version: z.literal(1).optional(),
  since: z.string().max(64).optional(),
  by: z.string().max(256).optional(),
});

export function townStoppedFile(paths: TownPaths): string {
  return join(paths.daemonDir, "town-stopped.json");
}

/** The intent, or null when the town is not stopped. Whatever stands at the name counts: fail safe, stay down. */
export function readTownStopped(paths: TownPaths): TownStopped | null {
  const file = townStoppedFile(paths);
  try {
    lstatSync(file);
  } catch (error) {
    const code = errnoCode(error);
    // A user who may not look into daemon/ cannot tell: the daemon, which owns it, is the one that decides.
    if (code === "ENOENT" || code === "EACCES" || code === "EPERM") return null;
    return { since: null, by: "townd down" };
  }
  try {
    const value = readJsonIfExists(file, fileSchema, { noFollow: true });
    if (value === undefined) return null;
    const since = value.since !== undefined && !Number.isNaN(Date.parse(value.since)) ? value.since : null;
    return { since, by: value.by ?? "townd down" };
  } catch {
    return { since: null, by: "townd down" };
  }
}

/** Leaves the intent (kept when already there, so its time stays that of the first `down`). */
export function writeTownStopped(paths: TownPaths, now: Date, by = "townd down"): TownStopped {
  const existing = readTownStopped(paths);
  if (existing !== null) return existing;
  const intent = { since: now.toISOString(), by };
  try {
    ensureDaemonDir(paths);
    writeJsonPrivateSync(townStoppedFile(paths), { version: 1, ...intent });
  } catch (error) {
    throw new AppError("E_TOWN_STOPPED", `Cannot write ${townStoppedFile(paths)}: ${fsErrorMessage(error)}`, {
      cause: error,
    });
  }
  return intent;
}

/** Removes the intent; true when there was one. */
export function clearTownStopped(paths: TownPaths): boolean {
  const file = townStoppedFile(paths);
  try {
    lstatSync(file);
  } catch {
    return false;
  }
  try {
    rmSync(file, { force: true, recursive: true });
  } catch (error) {
    throw new AppError("E_TOWN_STOPPED", `Cannot remove ${file}: ${fsErrorMessage(error)}`, { cause: error });
  }
  return true;
}

/** "the town was stopped by 'townd down' at <time>", for decisions, status and the CLI. */
export function describeTownStopped(intent: TownStopped): string {
  return `the town was stopped by '${intent.by}'${intent.since === null ? "" : ` at ${intent.since}`}`;
}
