/**
 * `bd activity --follow --town --json` (reference §11): one JSON object per line,
 * `{"timestamp","type","issue_id","symbol","message","old_status","new_status"}`. Only a status change to
 * `closed` matters to the convoy watcher (B124); anything else, malformed lines included, is skipped.
 */

/** Issue ids are short; anything longer, empty, or with control characters is no issue id. */
const ISSUE_ID = /^[^\p{Cc}\s]{1,200}$/u;

/** The issue a line says was closed, or null. */
export function closedIssue(line: string): string | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const event = value as Record<string, unknown>;
  if (event["type"] !== "status" || event["new_status"] !== "closed") return null;
  const id = event["issue_id"];
  return typeof id === "string" && ISSUE_ID.test(id) ? id : null;
}

/**
 * Splits a byte stream into lines. A line longer than `maxBytes` is dropped whole (reported once through
 * `onOverlong`), so a child that never prints a newline cannot grow the daemon's memory.
 */
export class LineSplitter {
  private buffered = "";
  private dropping = false;
  private readonly maxBytes: number;
  private readonly onLine: (line: string) => void;
  private readonly onOverlong: () => void;

  constructor(maxBytes: number, onLine: (line: string) => void, onOverlong: () => void = () => undefined) {
    this.maxBytes = maxBytes;
    this.onLine = onLine;
    this.onOverlong = onOverlong;
  }

  push(chunk: string): void {
    let rest = chunk;
    for (;;) {
      const newline = rest.indexOf("\n");
      if (newline < 0) break;
      const line = this.buffered + rest.slice(0, newline);
      rest = rest.slice(newline + 1);
      this.buffered = "";
      if (this.dropping) this.dropping = false;
      else this.onLine(line.replace(/\r$/, ""));
    }
    if (this.dropping) return;
    this.buffered += rest;
    if (this.buffered.length > this.maxBytes) {
      this.buffered = "";
      this.dropping = true;
      this.onOverlong();
    }
  }
}
