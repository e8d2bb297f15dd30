import { accessSync, constants } from "node:fs";
import { dirname } from "node:path";
import { AppError, errnoCode } from "../errors.js";

/**
 * Why `file`'s directory (the town's daemon/, owner-only) cannot be read by this user, or null when it
 * can. Without this, a missing permission reads as "nothing there yet" or "not running", which is false.
 */
export function unreadableDir(file: string): string | null {
  const dir = dirname(file);
  try {
    accessSync(dir, constants.R_OK | constants.X_OK);
    return null;
  } catch (error) {
    if (errnoCode(error) !== "EACCES" && errnoCode(error) !== "EPERM") return null;
    return `No permission to read ${dir}: it is owner-only; run townd as the user who owns the town`;
  }
}

/** Throws the permission problem with `file`'s directory, if there is one. */
export function assertReadableDir(file: string): void {
  const problem = unreadableDir(file);
  if (problem !== null) throw new AppError("E_PERMISSION", problem);
}
