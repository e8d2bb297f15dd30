import { findTownRoot } from "../town/root.js";
import { townPaths, type TownPaths } from "../town/paths.js";
import { safeJson } from "./safe-text.js";

/** What a command needs from the outside world; tests pass their own. */
export interface CliContext {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** The global `--town DIR` option, if given. */
  readonly townOption: () => string | undefined;
}

export function resolveTown(ctx: CliContext): TownPaths {
  return townPaths(findTownRoot({ town: ctx.townOption(), env: ctx.env, cwd: ctx.cwd }));
}

export function printJson(ctx: CliContext, value: unknown): void {
  ctx.out(safeJson(value, 2));
}
