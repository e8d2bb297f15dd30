import { stat } from "node:fs/promises";
import { AppError } from "../errors.js";

// Checks and shapes of the arguments townd passes to tmux, whichever way a command reaches the server.

/** Names townd gives sessions; tmux rewrites `.` and `:` and expands `#{…}` in others. */
const SESSION_NAME = /^[A-Za-z0-9_-]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * tmux's client splits its argv into commands at any argument that ENDS in ";" (and turns a trailing
 * "\;" into ";"), so an agent argument, an env value or nudge text ending in ";" would silently cut the
 * command short. Replacing the final ";" by "\;" makes tmux hand the original string back.
 */
export function escapeArgument(arg: string): string {
  return arg.endsWith(";") ? `${arg.slice(0, -1)}\\;` : arg;
}

/**
 * tmux runs a command given as ONE argument through `default-shell -c` (the user's $SHELL), and one given
 * as several arguments with execvp. A one-element argv therefore goes through `/bin/sh -c 'exec "$0"'`
 * with the command as a separate, never-parsed argument: `exec` replaces the shell, so the agent is still
 * the pane's first process.
 */
export function paneArgv(argv: readonly string[]): readonly string[] {
  return argv.length === 1 ? ["/bin/sh", "-c", 'exec "$0"', ...argv] : argv;
}

export function envArgs(env: Readonly<Record<string, string>>): string[] {
  return Object.entries(env).flatMap(([key, value]) => {
    if (!ENV_NAME.test(key)) {
      throw new AppError("E_TMUX_ENV", `Environment variable name "${key}" is not a valid name`);
    }
    return ["-e", `${key}=${value}`];
  });
}

export function checkSessionName(name: string): void {
  if (!SESSION_NAME.test(name)) {
    throw new AppError(
      "E_TMUX_SESSION_NAME",
      `Tmux session name "${name}" must match ${String(SESSION_NAME)}`,
    );
  }
}

/**
 * Exact targets. `=` stops prefix matching; the validated name cannot smuggle in a window or pane part
 * (`:`, `.`). Window- and pane-scoped commands need the trailing `:` (`=name` alone fails there).
 */
export function sessionTarget(name: string): string {
  checkSessionName(name);
  return `=${name}`;
}

export function paneTarget(name: string): string {
  checkSessionName(name);
  return `=${name}:`;
}

export function checkArgv(session: string, argv: readonly string[]): void {
  const first = argv[0];
  if (first === undefined || first === "" || first.startsWith("-")) {
    throw new AppError(
      "E_TMUX_COMMAND",
      `Command for session "${session}" must start with a program name, got ${JSON.stringify(argv)}`,
    );
  }
}

/** Values are read back through a tab- and newline-separated format, so they must stay on one line. */
export function checkOptionValue(name: string, value: string): void {
  if (value === "" || CONTROL.test(value)) {
    throw new AppError(
      "E_TMUX_OPTION",
      `Value ${JSON.stringify(value)} for ${name} must be non-empty without control characters`,
    );
  }
}

/** tmux silently starts a pane in its own cwd when `-c` does not exist: refuse before that can happen. */
export async function checkDirectory(session: string, cwd: string): Promise<void> {
  const isDirectory = await stat(cwd).then(
    (stats) => stats.isDirectory(),
    () => false,
  );
  if (!isDirectory) {
    throw new AppError("E_TMUX_CWD", `Working directory for session "${session}" is not a directory: ${cwd}`);
  }
}

/** The environment tmux runs with: TMUX/TMUX_PANE from an enclosing session would redirect commands. */
export function tmuxEnv(): NodeJS.ProcessEnv {
  const { TMUX: _tmux, TMUX_PANE: _pane, ...rest } = process.env;
  return rest;
}
