import { execFile } from "node:child_process";

export interface RunOptions {
  /** Kill the child after this many milliseconds (SIGKILL). Required: nothing waits forever. */
  timeoutMs: number;
  signal?: AbortSignal;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string;
  maxBuffer?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** A command that could not run, timed out, or was aborted (not one that merely exited non-zero). */
export class CommandError extends Error {
  override readonly name = "CommandError";
  readonly command: string;
  readonly timedOut: boolean;
  constructor(command: string, message: string, options: { timedOut: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.command = command;
    this.timedOut = options.timedOut;
  }
}

/**
 * Runs `file` with `args` (no shell: arguments are never interpreted) and resolves with its output and
 * exit code. A non-zero exit is a result, not an exception; failure to run, a timeout or an abort rejects.
 */
export function run(file: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        timeout: options.timeoutMs,
        killSignal: "SIGKILL",
        maxBuffer: options.maxBuffer ?? 16 * 1024 * 1024,
        encoding: "utf8",
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
        ...(options.env === undefined ? {} : { env: options.env }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve({ stdout, stderr, exitCode: 0 });
          return;
        }
        const described = `${file} ${args[0] ?? ""}`.trim();
        const code: unknown = (error as { code?: unknown }).code;
        if (typeof code === "number") {
          resolve({ stdout, stderr, exitCode: code });
          return;
        }
        const killed = (error as { killed?: boolean }).killed === true;
        if (options.signal?.aborted === true) {
          reject(new CommandError(described, `${described}: aborted`, { timedOut: false, cause: error }));
        } else if (killed) {
          reject(
            new CommandError(described, `${described}: timed out after ${options.timeoutMs} ms`, {
              timedOut: true,
              cause: error,
            }),
          );
        } else {
          reject(
            new CommandError(described, `${described}: ${error.message}`, { timedOut: false, cause: error }),
          );
        }
      },
    );
    // A child that exits without reading its input closes the pipe first: that EPIPE is no error of the
    // caller's, and unhandled it would end this whole process.
    child.stdin?.on("error", () => undefined);
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}
