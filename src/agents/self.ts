import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * The argv that runs this townd installation again (for `townd sim-agent` panes and the detached daemon).
 * From the built package that is `node dist/cli/main.js`; from sources under tsx, `node --import tsx src/cli/main.ts`.
 */
export function selfCommand(): string[] {
  const built = fileURLToPath(new URL("../cli/main.js", import.meta.url));
  if (existsSync(built)) return [process.execPath, built];
  const source = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
  // Resolved here, not by the child, whose working directory (a town) has no node_modules.
  return [process.execPath, "--import", import.meta.resolve("tsx"), source];
}
