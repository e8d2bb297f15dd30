import { existsSync, mkdirSync } from "node:fs";
import { basename, resolve } from "node:path";
import { AppError } from "../errors.js";
import { ensureDaemonDir } from "../daemon/daemon-dir.js";
import { writeJsonAtomic } from "../util/json-file.js";
import { townPaths, type TownPaths } from "./paths.js";

export const DEFAULT_PATROL_CONFIG = {
  type: "daemon-patrol-config",
  version: 1,
  heartbeat: { enabled: true, interval: "3m" },
  patrols: {
    deacon: { enabled: true, interval: "5m", agent: "deacon" },
    witness: { enabled: true, interval: "5m", agent: "witness" },
    refinery: { enabled: true, interval: "5m", agent: "refinery" },
    mayor: { enabled: false },
  },
};

export function defaultSettings(defaultAgent = "claude"): Record<string, unknown> {
  return {
    type: "town-settings",
    version: 1,
    default_agent: defaultAgent,
    agents: {},
    role_agents: {},
    operational: { daemon: {} },
  };
}

export interface InitOptions {
  dir: string;
  name?: string | undefined;
  defaultAgent?: string;
}

/**
 * Creates a town. Refuses when `mayor/town.json` exists; keeps any other file it finds, and writes
 * `town.json` last so that a failed init never leaves something that looks like a town.
 */
export async function initTown(options: InitOptions): Promise<TownPaths> {
  const root = resolve(options.dir);
  const paths = townPaths(root);
  if (existsSync(paths.townJson)) {
    throw new AppError("E_TOWN_EXISTS", `Cannot create a town in ${root}: ${paths.townJson} already exists`);
  }
  const name = options.name ?? basename(root);
  if (name.trim() === "" || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new AppError(
      "E_BAD_ARGUMENT",
      `Invalid --name ${JSON.stringify(name)}: must be non-empty printable text`,
    );
  }
  for (const dir of [paths.mayorDir, paths.settingsDir, paths.deaconDir]) {
    mkdirSync(dir, { recursive: true });
  }
  // daemon/ holds the store, the logs and the control socket: owner-only.
  ensureDaemonDir(paths);
  const files: [string, unknown][] = [
    [paths.rigsJson, { version: 1, rigs: {} }],
    [paths.patrolConfig, DEFAULT_PATROL_CONFIG],
    [paths.settingsJson, defaultSettings(options.defaultAgent)],
  ];
  for (const [file, content] of files) {
    if (!existsSync(file)) await writeJsonAtomic(file, content);
  }
  await writeJsonAtomic(paths.townJson, {
    type: "town",
    version: 1,
    name,
    created_at: new Date().toISOString(),
  });
  return paths;
}
