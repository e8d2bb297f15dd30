import { readFileSync } from "node:fs";

/** Text as the simulated agent's terminal and tmux show it. */

/** The process name tmux reads on Linux (the first string of /proc/self/cmdline); undefined elsewhere. */
export function visibleTitle(): string | undefined {
  try {
    return readFileSync("/proc/self/cmdline", "latin1").split("\0")[0];
  } catch {
    return undefined;
  }
}

/** The text without C0 control characters and DEL. */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, "");
}

export function withNewline(text: string): string {
  return text === "" || text.endsWith("\n") ? text : `${text}\n`;
}

/** Input as a terminal in canonical mode hands it over: whole lines (a trailing CR dropped). */
export class LineBuffer {
  #text = "";

  /** The lines `text` completes. */
  push(text: string): string[] {
    const parts = (this.#text + text).split("\n");
    this.#text = parts.pop() ?? "";
    return parts.map((line) => line.replace(/\r$/, ""));
  }

  /** The line typed so far without its newline, taken out of the buffer. */
  takeRest(): string {
    const rest = this.#text;
    this.#text = "";
    return rest;
  }
}
