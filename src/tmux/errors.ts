import { AppError } from "../errors.js";

/**
 * A tmux command that failed. tmux reports every failure as exit code 1 with a one-line stderr, so the
 * subclasses below are recognised by that text (stable across tmux 2.x–3.x).
 */
export class TmuxError extends AppError {
  /** The tmux arguments after the global flags (`-u -S … -f …`), e.g. `["has-session", "-t", "=a1"]`. */
  readonly args: readonly string[];
  readonly stderr: string;

  constructor(args: readonly string[], stderr: string, options?: { code?: string; cause?: unknown }) {
    const detail = stderr.trim() === "" ? "no error message" : stderr.trim();
    super(options?.code ?? "E_TMUX", `Tmux ${args[0] ?? "command"} failed: ${detail}`, {
      ...(options?.cause === undefined ? {} : { cause: options.cause }),
    });
    this.args = args;
    this.stderr = stderr;
  }
}

/** Nothing listens on the socket: the server was never started, or it exited. */
export class TmuxNoServerError extends TmuxError {
  constructor(args: readonly string[], stderr: string) {
    super(args, stderr, { code: "E_TMUX_NO_SERVER" });
  }
}

/** The server runs but the target session (or its window or pane) does not exist. */
export class TmuxSessionNotFoundError extends TmuxError {
  constructor(args: readonly string[], stderr: string) {
    super(args, stderr, { code: "E_TMUX_SESSION_NOT_FOUND" });
  }
}

export class TmuxDuplicateSessionError extends TmuxError {
  constructor(args: readonly string[], stderr: string) {
    super(args, stderr, { code: "E_TMUX_DUPLICATE_SESSION" });
  }
}

/** The tmux binary could not be executed at all (spawn ENOENT). */
export class TmuxNotInstalledError extends TmuxError {
  constructor(tmuxBin: string, args: readonly string[], cause: unknown) {
    super(args, `cannot run "${tmuxBin}": not found on PATH`, { code: "E_TMUX_NOT_INSTALLED", cause });
  }
}

// "server exited unexpectedly": the server went away during the call (e.g. right after kill-server).
const NO_SERVER = ["no server running", "error connecting to", "server exited unexpectedly"];
const NOT_FOUND = [
  "can't find session",
  "session not found",
  "no such session",
  "can't find pane",
  "can't find window",
  "no such window",
  // What any target lookup reports while the server has no sessions at all.
  "no current target",
];

/** Maps a failed invocation to the most specific error its stderr allows. */
export function classifyTmuxFailure(args: readonly string[], stderr: string): TmuxError {
  const text = stderr.toLowerCase();
  if (NO_SERVER.some((needle) => text.includes(needle))) return new TmuxNoServerError(args, stderr);
  if (text.includes("duplicate session")) return new TmuxDuplicateSessionError(args, stderr);
  if (NOT_FOUND.some((needle) => text.includes(needle))) return new TmuxSessionNotFoundError(args, stderr);
  return new TmuxError(args, stderr);
}
