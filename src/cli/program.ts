import { Command } from "commander";
import type { CliContext } from "./context.js";
import { oneLine } from "../errors.js";

type Registrar = (program: Command, ctx: CliContext) => void;

/**
 * Command modules by the top-level names they register, in help order. Only the invoked command's module is
 * loaded: an agent calling `townd heartbeat`, or a pane running `townd sim-agent`, does not pay for SQLite,
 * the schemas and the daemon.
 */
const MODULES: readonly { names: readonly string[]; load: () => Promise<Registrar> }[] = [
  { names: ["init"], load: async () => (await import("./commands/init.js")).registerInit },
  { names: ["rig"], load: async () => (await import("./commands/rig.js")).registerRig },
  {
    names: ["start", "stop", "restart", "status", "logs", "run", "reload"],
    load: async () => (await import("./commands/daemon.js")).registerDaemonCommands,
  },
  {
    names: ["reset", "heartbeat"],
    load: async () => (await import("./commands/agent-ops.js")).registerAgentOps,
  },
  {
    names: ["stop-agent", "down", "up"],
    load: async () => (await import("./commands/operator.js")).registerOperatorCommands,
  },
  {
    names: ["request", "start-agent"],
    load: async () => (await import("./commands/request.js")).registerRequest,
  },
  { names: ["mail"], load: async () => (await import("./commands/mail.js")).registerMail },
  { names: ["hook", "agent"], load: async () => (await import("./commands/work.js")).registerWork },
  { names: ["events", "why"], load: async () => (await import("./commands/events.js")).registerEvents },
  { names: ["service"], load: async () => (await import("./commands/service.js")).registerService },
  { names: ["dashboard"], load: async () => (await import("./commands/dashboard.js")).registerDashboard },
  { names: ["attach"], load: async () => (await import("./commands/attach.js")).registerAttach },
  { names: ["demo"], load: async () => (await import("./commands/demo.js")).registerDemo },
  { names: ["simulate"], load: async () => (await import("./commands/simulate.js")).registerSimulate },
  { names: ["sim-agent"], load: async () => (await import("./commands/sim-agent.js")).registerSimAgent },
];

/**
 * The top-level command in argv, skipping global options: a name, "--version" (which needs no command
 * module), or undefined for help or nothing (which list them all).
 */
export function invokedCommand(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--town") {
      i++;
      continue;
    }
    if (arg.startsWith("-")) {
      if (arg === "-h" || arg === "--help") return undefined;
      if (arg === "-V" || arg === "--version") return "--version";
      continue;
    }
    return arg;
  }
  return undefined;
}

export const VERSION = "0.1.0";

/** Builds the command tree. Commands only parse and delegate; the work lives in src/<area>/. */
export async function buildProgram(
  ctx: Omit<CliContext, "townOption">,
  argv: readonly string[] = [],
): Promise<Command> {
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
    .configureOutput({
      writeOut: (text) => {
        ctx.out(text.replace(/\n$/, ""));
      },
      writeErr: (text) => {
        ctx.err(text.replace(/\n$/, ""));
      },
      // Usage errors quote what was typed: one line, control characters escaped, like every other error.
      outputError: (text, write) => {
        write(`townd: ${oneLine(text.trimEnd().replace(/^error: /, ""))} (see --help)\n`);
      },
    });
  const full: CliContext = {
    ...ctx,
    townOption: () => program.opts<{ town?: string }>().town,
  };
  const name = invokedCommand(argv);
  const wanted = MODULES.filter((module) => name !== undefined && module.names.includes(name));
  const load = name === "--version" ? [] : wanted.length > 0 ? wanted : MODULES;
  for (const module of load) (await module.load())(program, full);
  return program;
}
