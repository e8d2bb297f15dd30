import { readdirSync } from "node:fs";
import type { PolecatWork } from "../policy/desired.js";
import { getAgentWork } from "../store/agents.js";
import type { Db } from "../store/db.js";
import type { TownConfig } from "../town/config.js";
import { AGENT_NAME, formatIdentity } from "../town/identity.js";
import type { TownPaths } from "../town/paths.js";
import type { Logger } from "../daemon/logger.js";
import type { StoreHandle } from "./store-handle.js";

/** Polecats are the non-hidden directories under `<rig>/polecats/` (B105), joined with their work in the store. */
export function listPolecats(paths: TownPaths, config: TownConfig, db: Db | undefined): PolecatWork[] {
  const result: PolecatWork[] = [];
  for (const rig of Object.keys(config.rigs.rigs).sort()) {
    let names: string[];
    try {
      names = readdirSync(paths.polecatsDir(rig), { withFileTypes: true })
        .filter((entry) => entry.isDirectory() && !entry.name.startsWith(".") && AGENT_NAME.test(entry.name))
        .map((entry) => entry.name)
        .sort();
    } catch {
      continue;
    }
    for (const name of names) {
      let identity: string;
      try {
        identity = formatIdentity({ role: "polecat", rig, name });
      } catch {
        continue; // A directory whose name cannot be an agent (it would collide with a patrol session).
      }
      const work = db === undefined ? undefined : getAgentWork(db, identity);
      result.push({
        rig,
        name,
        hookedWork: work?.hookedWork ?? null,
        state: work?.state ?? null,
        updatedAt: work?.updatedAt ?? null,
      });
    }
  }
  return result;
}

/** The polecats' work as the store has it; from their directories alone when the store cannot be read. */
export function townPolecats(
  paths: TownPaths,
  config: TownConfig,
  store: StoreHandle,
  log: Logger,
): PolecatWork[] {
  return (
    store.use(log, "reading polecats' work", (db) => listPolecats(paths, config, db)) ??
    listPolecats(paths, config, undefined)
  );
}
