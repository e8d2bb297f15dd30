import { AppError } from "../errors.js";

/**
 * Bounds on text that agents and operators hand to townd. Every such string is stored, mailed, logged and
 * shown, so one oversized value would be copied many times over (a 20 MB reason once grew the store by
 * hundreds of megabytes and the status file to 94 MB). Sizes are UTF-8 bytes.
 */
export const MAX_REASON_BYTES = 4 * 1024;
export const MAX_SUBJECT_BYTES = 256;
export const MAX_BODY_BYTES = 64 * 1024;
/** Reasons and exit descriptions kept in daemon/agents.json: enough to read, small enough to rewrite each pass. */
export const MAX_STATUS_TEXT_BYTES = 512;

export function byteLength(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

/** Throws a one-line error naming `what` when `text` is over `max` bytes. */
export function checkLength(what: string, text: string, max: number): void {
  const size = byteLength(text);
  if (size > max) {
    throw new AppError("E_TOO_LONG", `Invalid ${what}: ${size} bytes, the limit is ${max} bytes`);
  }
}

/** `text` cut to at most `max` bytes on a character boundary, marked with "…" when cut. */
export function clipBytes(text: string, max: number): string {
  if (byteLength(text) <= max) return text;
  // Fast path for huge strings: no more characters than bytes can survive.
  const head = Buffer.from(text.slice(0, max), "utf8").subarray(0, Math.max(0, max - 3));
  return `${head.toString("utf8").replace(/\uFFFD+$/, "")}…`;
}

export function clipNullable(text: string | null, max: number): string | null {
  return text === null ? null : clipBytes(text, max);
}
