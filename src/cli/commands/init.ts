import type { Command } from "commander";
import { initTown } from "../../town/init.js";
import type { CliContext } from "../context.js";
import { resolve } from "node:path";

export function registerInit(program: Command, ctx: CliContext): void {
  program
    .command("init")
    .description("create a town: mayor/, settings/, deacon/ and daemon/ with default files")
    .argument("[dir]", "where to create the town", ".")
    .option("--name <name>", "the town's name (default: the directory's name)")
    .option("--agent <name>", "default agent runtime for every role (claude, codex, gemini, sim, or custom)")
    .action(async (dir: string, opts: { name?: string; agent?: string }) => {
      const paths = await initTown({
        dir: resolve(ctx.cwd, dir),
        name: opts.name,
        ...(opts.agent === undefined ? {} : { defaultAgent: opts.agent }),
      });
      ctx.out(`✓ Town created at ${paths.root}`);
      ctx.out(`  Next: townd rig add <name>   then   townd start`);
    });
}
