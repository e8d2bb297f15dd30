import { CommanderError, type Command } from "commander";
import { isAppError, oneLine } from "../errors.js";
import { buildProgram } from "./program.js";

export interface CliIo {
  env: NodeJS.ProcessEnv;
  cwd: string;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

/** Runs one CLI invocation and returns its exit code. The only place that turns errors into output. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = await buildProgram(io, argv);
  // Every subcommand too: commander would otherwise call process.exit on a usage error deep inside.
  const override = (command: Command): void => {
    command.exitOverride();
    command.commands.forEach(override);
  };
  override(program);
  try {
    await program.parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    // Commander has already printed its own usage errors; help and --version also arrive here.
    if (error instanceof CommanderError) return error.exitCode;
    if (isAppError(error)) {
      // Messages may quote what a user or a file supplied; a start failure appends log lines on purpose.
      io.err(`townd: ${error.code === "E_START_FAILED" ? error.message : oneLine(error.message)}`);
      return error.exitCode;
    }
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    io.err(`townd: internal error (please report): ${detail}`);
    return 70;
  }
}
