import type { Command } from "commander";
import type { CliContext } from "../context.js";

export function registerDaemonCommands(_program: Command, _ctx: CliContext): void {
  // start, stop, restart, status, logs, run
}
