import writeFileAtomic from "write-file-atomic";
import type { z } from "zod";
import { FileFormatError, errorMessage } from "../errors.js";
import { readTextFileSafe, type SafeReadOptions } from "./safe-read.js";

/**
 * No town file nests anywhere near this deep. A deeper value (an unknown field townd keeps and writes back)
 * would overflow the stack of JSON.stringify when a file is rewritten, so it is refused when read.
 */
export const MAX_JSON_DEPTH = 64;

/** The nesting depth of a parsed JSON value, counted without recursion (the value may be very deep). */
function depthExceeds(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [current, depth] = item;
    if (typeof current !== "object" || current === null) continue;
    if (depth >= limit) return true;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Describes a zod failure as `field "a.b": problem` (up to three problems). */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => {
      const field = issue.path.map(String).join(".");
      return field === "" ? issue.message : `field "${field}": ${issue.message}`;
    })
    .join("; ");
}

/** Parses and validates JSON text; errors name the file, the field and the problem. */
export function parseJson<S extends z.ZodType>(file: string, text: string, schema: S): z.output<S> {
  if (text.trim() === "") throw new FileFormatError(file, "file is empty");
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new FileFormatError(file, `not valid JSON: ${errorMessage(error).replace(/\s*\n\s*/g, " ")}`);
  }
  if (depthExceeds(raw, MAX_JSON_DEPTH)) {
    throw new FileFormatError(file, `nested more than ${MAX_JSON_DEPTH} levels deep`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new FileFormatError(file, describeIssues(parsed.error));
  return parsed.data;
}

/**
 * Reads and validates a JSON file; returns undefined when it does not exist. The file is read with
 * readTextFileSafe: a FIFO, a device, a directory, an oversized file or bytes that are not UTF-8 are a
 * FileFormatError naming the file, never a hang or a silent replacement.
 */
export function readJsonIfExists<S extends z.ZodType>(
  file: string,
  schema: S,
  options: SafeReadOptions = {},
): z.output<S> | undefined {
  const text = readTextFileSafe(file, options);
  if (text === undefined) return undefined;
  return parseJson(file, text, schema);
}

export function readJson<S extends z.ZodType>(
  file: string,
  schema: S,
  options: SafeReadOptions = {},
): z.output<S> {
  const value = readJsonIfExists(file, schema, options);
  if (value === undefined) throw new FileFormatError(file, "file is missing");
  return value;
}

/**
 * Writes `value` as 2-space JSON with a trailing newline, atomically (temp file, fsync, rename):
 * a reader sees the old file or the new one, never half of either.
 */
export async function writeJsonAtomic(file: string, value: unknown, mode = 0o644): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`, { mode });
}

export function writeJsonAtomicSync(file: string, value: unknown, mode = 0o644): void {
  writeFileAtomic.sync(file, `${JSON.stringify(value, null, 2)}\n`, { mode });
}
