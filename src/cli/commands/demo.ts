import type { Command } from "commander";
import { runDemo } from "../../demo/demo.js";
import type { CliContext } from "../context.js";

export function registerDemo(program: Command, ctx: CliContext): void {
  program
    .command("demo")
    .description("run townd on a built-in demo town of simulated agents: start-up, a crash recovered, status")
    .argument("[dir]", "where to create the demo town (replaced if it is an earlier demo town)", "demo-town")
    .option("--keep", "leave the daemon running until Ctrl-C, and the agents after that")
    .action(async (dir: string, opts: { keep?: boolean }) => {
      await runDemo({ dir, keep: opts.keep === true }, ctx);
    });
}
