import { existsSync, realpathSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { AppError } from "../errors.js";

export interface RootSearch {
  /** `--town DIR` from the command line. */
  town?: string | undefined;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

function isTown(dir: string): boolean {
  return existsSync(join(dir, "mayor", "town.json"));
}

/**
 * Finds the town root: `--town DIR`, else TOWND_ROOT or GT_TOWN_ROOT, else the nearest directory at or above
 * the working directory that holds `mayor/town.json`. The root is returned with every symlink resolved: the
 * tmux socket's name and everything else derived from the root must be the same whichever path reached the
 * town, or `--town t stop` then `--town t-link start` would start a second server and a second set of agents.
 */
export function findTownRoot(search: RootSearch = {}): string {
  const env = search.env ?? process.env;
  const cwd = search.cwd ?? process.cwd();
  const explicit: [string, string | undefined][] = [
    ["--town", search.town],
    ["TOWND_ROOT", env["TOWND_ROOT"]],
    ["GT_TOWN_ROOT", env["GT_TOWN_ROOT"]],
  ];
  for (const [source, value] of explicit) {
    if (value === undefined || value === "") continue;
    const dir = resolve(cwd, value);
    if (!isTown(dir)) {
      const what =
        existsSync(dir) && statSync(dir).isDirectory() ? "has no mayor/town.json" : "does not exist";
      throw new AppError(
        "E_NOT_A_TOWN",
        `Not a town: ${dir} (from ${source}) ${what}; create one with 'townd init'`,
      );
    }
    return realpathSync(dir);
  }
  let dir = resolve(cwd);
  for (;;) {
    if (isTown(dir)) return realpathSync(dir);
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new AppError(
    "E_NOT_IN_TOWN",
    `Not in a town: no mayor/town.json in ${resolve(cwd)} or above (use --town DIR, set TOWND_ROOT, or run 'townd init')`,
  );
}
