import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { AppError, errorMessage } from "../errors.js";
import { withLock } from "../util/flock.js";
import { readJson, readJsonIfExists, writeJsonAtomic } from "../util/json-file.js";
import type { TownPaths } from "./paths.js";
import { rigGate, type RigGate } from "./rig-state.js";
import { RIG_NAME } from "./names.js";
import { rigsFileSchema, wispConfigSchema, type RigsFile, type WispConfig } from "./schemas.js";

/** Names a rig cannot take because the town's own directories use them. */
const RESERVED = new Set(["mayor", "deacon", "daemon", "settings", "hq", "boot"]);

/** Session names (`gt-<rig>-refinery`) and paths must stay well inside tmux's and the file system's limits. */
const MAX_RIG_NAME = 64;

export function validateRigName(name: string): string {
  if (name.length > MAX_RIG_NAME) {
    throw new AppError(
      "E_BAD_RIG_NAME",
      `Invalid rig name: ${name.length} characters, at most ${MAX_RIG_NAME}`,
    );
  }
  if (!RIG_NAME.test(name)) {
    throw new AppError(
      "E_BAD_RIG_NAME",
      `Invalid rig name ${JSON.stringify(name)}: use letters, digits, '-' or '_', starting with a letter or digit`,
    );
  }
  if (RESERVED.has(name.toLowerCase())) {
    throw new AppError(
      "E_BAD_RIG_NAME",
      `Invalid rig name "${name}": reserved for the town's own directories`,
    );
  }
  return name;
}

export function readRigs(paths: TownPaths): RigsFile {
  return readJsonIfExists(paths.rigsJson, rigsFileSchema) ?? { version: 1, rigs: {} };
}

export function readWisp(paths: TownPaths, rig: string): WispConfig | undefined {
  return readJsonIfExists(paths.wispConfig(rig), wispConfigSchema);
}

export interface RigInfo {
  name: string;
  git_url: string | null;
  added_at: string | null;
  state: RigGate["status"] | "unknown";
  operational: boolean;
  reason: string;
}

export function listRigs(paths: TownPaths): RigInfo[] {
  const file = readRigs(paths);
  return Object.keys(file.rigs)
    .sort()
    .map((name) => {
      const entry = file.rigs[name];
      let wisp;
      try {
        wisp = readWisp(paths, name);
      } catch (error) {
        return {
          name,
          git_url: entry?.git_url ?? null,
          added_at: entry?.added_at ?? null,
          state: "unknown" as const,
          operational: false,
          reason: errorMessage(error),
        };
      }
      const gate = rigGate(wisp);
      return {
        name,
        git_url: entry?.git_url ?? null,
        added_at: entry?.added_at ?? null,
        state: gate.status,
        operational: gate.operational,
        reason: gate.reason,
      };
    });
}

/**
 * One lock for every read-modify-write of the town's config files, so concurrent `rig` commands never lose
 * each other's changes. It lives in mayor/ so shared directories such as .beads-wisp/ get no lock files.
 */
function configLock(paths: TownPaths): string {
  return join(paths.mayorDir, ".config.lock");
}

async function updateRigs(paths: TownPaths, change: (file: RigsFile) => void): Promise<void> {
  await withLock(configLock(paths), 5000, async () => {
    const file = existsSync(paths.rigsJson)
      ? readJson(paths.rigsJson, rigsFileSchema)
      : { version: 1, rigs: {} };
    change(file);
    await writeJsonAtomic(paths.rigsJson, file);
  });
}

export async function addRig(paths: TownPaths, name: string, gitUrl?: string): Promise<void> {
  validateRigName(name);
  await updateRigs(paths, (file) => {
    if (name in file.rigs) throw new AppError("E_RIG_EXISTS", `Cannot add rig "${name}": it already exists`);
    // The directory before the entry: if it cannot be made, rigs.json is left as it was.
    mkdirSync(join(paths.root, name), { recursive: true });
    file.rigs[name] = {
      ...(gitUrl === undefined ? {} : { git_url: gitUrl }),
      added_at: new Date().toISOString(),
    };
  });
}

export async function removeRig(paths: TownPaths, name: string): Promise<void> {
  await updateRigs(paths, (file) => {
    if (!(name in file.rigs)) throw new AppError("E_NO_RIG", `Cannot remove rig "${name}": no such rig`);
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- rigs is a record keyed by rig name
    delete file.rigs[name];
  });
}

export type RigStatusChange = "park" | "unpark" | "dock" | "undock";

/**
 * Parks or docks a rig by writing `values.status` in its wisp config (reference §6.2), keeping every other
 * field. Returns false when the rig was already in the requested state.
 */
export async function setRigStatus(
  paths: TownPaths,
  name: string,
  change: RigStatusChange,
): Promise<boolean> {
  if (!(name in readRigs(paths).rigs))
    throw new AppError("E_NO_RIG", `Cannot ${change} rig "${name}": no such rig`);
  const file = paths.wispConfig(name);
  return withLock(configLock(paths), 5000, async () => {
    mkdirSync(paths.wispConfigDir, { recursive: true });
    const wisp: WispConfig = readJsonIfExists(file, wispConfigSchema) ?? {
      rig: name,
      values: {},
      blocked: [],
    };
    const values = { ...(wisp.values ?? {}) };
    const target = change === "park" || change === "dock" ? `${change}ed` : undefined;
    const current = values["status"];
    if (target !== undefined) {
      if (current === target) return false;
      values["status"] = target;
    } else {
      const undoing = change === "unpark" ? "parked" : "docked";
      if (current !== undoing) return false;
      delete values["status"];
    }
    await writeJsonAtomic(file, { ...wisp, rig: wisp.rig ?? name, values });
    return true;
  });
}
