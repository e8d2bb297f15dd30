import { errorMessage } from "../errors.js";
import { run } from "../proc/run.js";
import { withNewline } from "./text.js";

/** `/sim run` children are killed after this long (the agent never waits forever). */
const RUN_TIMEOUT_MS = 10 * 60_000;

export interface ChildRun {
  /** What the terminal shows: the child's output, then `[exit N]` (or why it could not run). */
  readonly shown: string;
  /** The log entry's fields. */
  readonly logged: Record<string, unknown>;
}

/** `/sim run`: a program run without a shell, with the agent's environment; never throws. */
export async function runChild(
  argv: readonly [string, ...string[]],
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
): Promise<ChildRun> {
  const [file, ...args] = argv;
  try {
    const result = await run(file, args, { timeoutMs: RUN_TIMEOUT_MS, signal, env, input: "" });
    return {
      shown: `${withNewline(result.stdout)}${withNewline(result.stderr)}[exit ${result.exitCode}]\n`,
      logged: { argv, code: result.exitCode },
    };
  } catch (error) {
    return { shown: `sim run: ${errorMessage(error)}\n`, logged: { argv, error: errorMessage(error) } };
  }
}
