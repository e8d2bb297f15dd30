/**
 * Expected failures: bad input, a missing town, a daemon that is not running.
 * The CLI prints `message` as one line (no stack) and exits with `exitCode`.
 * Anything that is not an AppError is a bug and is printed with its stack.
 */
export class AppError extends Error {
  override readonly name = "AppError";
  readonly code: string;
  readonly exitCode: number;

  constructor(code: string, message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.exitCode = options?.exitCode ?? 1;
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}

/** A config or state file that cannot be used; the message names the file, the field and the problem. */
export class FileFormatError extends AppError {
  readonly file: string;
  constructor(file: string, detail: string, options?: { cause?: unknown }) {
    super("E_FILE_FORMAT", oneLine(`${file}: ${detail}`), options);
    this.file = file;
  }
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Node's errno-style errors carry a string `code`. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null && "code" in error) {
    const code = error.code;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}

/**
 * Makes text from files or arguments safe for a one-line error: control characters (newlines, ESC, NUL…)
 * become visible escapes, so a message can neither span lines nor drive the terminal.
 */
export function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) =>
    c === "\n" ? "\\n" : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * A file-system error without the path of the temporary file an atomic write used ("EROFS: read-only file
 * system, open '…/state.json.123'" → "EROFS: read-only file system"), so one failure reads the same each time.
 */
export function fsErrorMessage(error: unknown): string {
  return errorMessage(error).replace(/, (?:open|write|rename|close|fsync|unlink|mkdir) '[^']*'.*$/, "");
}
