import type { Command } from "commander";
import type { CliContext } from "../context.js";

/** Placeholder until the simulated agent lands. */
export function registerSimAgent(_program: Command, _ctx: CliContext): void {
  // registered by src/sim-agent
}
