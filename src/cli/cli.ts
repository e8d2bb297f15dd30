import { CommanderError } from "commander";
import { isAppError } from "../errors.js";
import { buildProgram } from "./program.js";

export interface CliIo {
  env: NodeJS.ProcessEnv;
  cwd: string;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

/** Runs one CLI invocation and returns its exit code. The only place that turns errors into output. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  program.exitOverride();
  try {
    await program.parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    // Commander has already printed its own usage errors; help and --version also arrive here.
    if (error instanceof CommanderError) return error.exitCode;
    if (isAppError(error)) {
      io.err(`townd: ${error.message}`);
      return error.exitCode;
    }
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    io.err(`townd: internal error (please report): ${detail}`);
    return 70;
  }
}
