import { Command } from "commander";
import type { CliContext } from "./context.js";
import { registerInit } from "./commands/init.js";
import { registerRig } from "./commands/rig.js";
import { registerDaemonCommands } from "./commands/daemon.js";
import { registerSimAgent } from "./commands/sim-agent.js";
import { registerAttach } from "./commands/attach.js";
import { registerDemo } from "./commands/demo.js";
import { registerAgentOps } from "./commands/agent-ops.js";
import { registerMail } from "./commands/mail.js";
import { registerRequest } from "./commands/request.js";
import { registerWork } from "./commands/work.js";

export const VERSION = "0.1.0";

/** Builds the command tree. Commands only parse and delegate; the work lives in src/<area>/. */
export function buildProgram(ctx: Omit<CliContext, "townOption">): Command {
  const program = new Command("townd");
  program
    .description(
      "The town daemon: keeps a town's AI coding agents alive in tmux, replaces dead and zombie\n" +
        "sessions, watches the Deacon's heartbeat, and carries out lifecycle requests from agents.",
    )
    .version(VERSION, "-V, --version")
    .option(
      "--town <dir>",
      "town root (default: $TOWND_ROOT, $GT_TOWN_ROOT, or the nearest mayor/town.json above)",
    )
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({
      writeOut: (text) => {
        ctx.out(text.replace(/\n$/, ""));
      },
      writeErr: (text) => {
        ctx.err(text.replace(/\n$/, ""));
      },
    });
  const full: CliContext = {
    ...ctx,
    townOption: () => program.opts<{ town?: string }>().town,
  };
  registerInit(program, full);
  registerRig(program, full);
  registerDaemonCommands(program, full);
  registerAgentOps(program, full);
  registerRequest(program, full);
  registerMail(program, full);
  registerWork(program, full);
  registerAttach(program, full);
  registerDemo(program, full);
  registerSimAgent(program, full);
  return program;
}
