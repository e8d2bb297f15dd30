import { readFileSync } from "node:fs";
import writeFileAtomic from "write-file-atomic";
import type { z } from "zod";
import { FileFormatError, errnoCode, errorMessage } from "../errors.js";

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
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new FileFormatError(file, describeIssues(parsed.error));
  return parsed.data;
}

/** Reads and validates a JSON file; returns undefined when it does not exist. */
export function readJsonIfExists<S extends z.ZodType>(file: string, schema: S): z.output<S> | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return undefined;
    throw new FileFormatError(file, `cannot read: ${errorMessage(error)}`, { cause: error });
  }
  return parseJson(file, text, schema);
}

export function readJson<S extends z.ZodType>(file: string, schema: S): z.output<S> {
  const value = readJsonIfExists(file, schema);
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
