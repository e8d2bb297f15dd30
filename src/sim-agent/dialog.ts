/**
 * The Bypass Permissions warning Claude Code shows when started with --dangerously-skip-permissions
 * (reference §12.5: the daemon looks for `Bypass Permissions mode`, sends Down, then Enter).
 * A pure state machine: feed it the bytes typed; it says when the dialog is answered.
 */

export const BYPASS_DIALOG_MARKER = "Bypass Permissions mode";

const OPTIONS = ["1. No, exit", "2. Yes, I accept"] as const;

export type DialogKey = "up" | "down" | "enter" | "one" | "two" | "escape" | "interrupt";

export type DialogOutcome = "pending" | "accepted" | "declined" | "interrupted";

export interface FeedResult {
  readonly outcome: DialogOutcome;
  /** True when the highlighted option changed (the options need redrawing). */
  readonly moved: boolean;
  /** Text after the key that answered the dialog: ordinary input, for the prompt. */
  readonly rest: string;
}

/**
 * Splits typed text into keys. Arrow keys arrive as `ESC [ B` (or `ESC O B` in application cursor
 * mode); Enter as CR in raw mode or LF through a pipe. An incomplete escape sequence at the end is
 * returned as `pending` so that the next chunk can finish it. Other characters are ignored.
 */
export function parseKeys(text: string): { keys: { key: DialogKey; end: number }[]; pending: string } {
  const keys: { key: DialogKey; end: number }[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === "\x1b") {
      const next = text[i + 1];
      if (next === undefined) return { keys, pending: text.slice(i) };
      if (next === "[" || next === "O") {
        const final = text[i + 2];
        if (final === undefined) return { keys, pending: text.slice(i) };
        if (final === "A") keys.push({ key: "up", end: i + 3 });
        if (final === "B") keys.push({ key: "down", end: i + 3 });
        i += 3;
        continue;
      }
      keys.push({ key: "escape", end: i + 1 });
      i += 1;
      continue;
    }
    if (ch === "\r" || ch === "\n") {
      // A CR LF pair is one Enter.
      const end = ch === "\r" && text[i + 1] === "\n" ? i + 2 : i + 1;
      keys.push({ key: "enter", end });
      i = end;
      continue;
    }
    if (ch === "1") keys.push({ key: "one", end: i + 1 });
    if (ch === "2") keys.push({ key: "two", end: i + 1 });
    if (ch === "\x03") keys.push({ key: "interrupt", end: i + 1 });
    i += 1;
  }
  return { keys, pending: "" };
}

export class BypassDialog {
  /** 0: "No, exit" (the default, as in Claude Code); 1: "Yes, I accept". */
  #selected: 0 | 1 = 0;
  #pending = "";

  get selected(): 0 | 1 {
    return this.#selected;
  }

  /** The whole dialog, ending with a newline. */
  render(): string {
    return [
      "",
      ` WARNING: sim-agent running in ${BYPASS_DIALOG_MARKER}`,
      "",
      ` In ${BYPASS_DIALOG_MARKER}, the agent will not ask for your approval before running`,
      " potentially dangerous commands. (This is a simulation: nothing is bypassed.)",
      "",
      this.renderOptions(),
      "",
      " Enter to confirm · Esc to exit",
      "",
    ].join("\n");
  }

  /** The two option lines (no trailing newline), the highlighted one marked with `❯`. */
  renderOptions(): string {
    return OPTIONS.map((option, index) => `${index === this.#selected ? " ❯ " : "   "}${option}`).join("\n");
  }

  feed(chunk: string): FeedResult {
    const text = this.#pending + chunk;
    const { keys, pending } = parseKeys(text);
    this.#pending = pending;
    let moved = false;
    for (const { key, end } of keys) {
      const before = this.#selected;
      switch (key) {
        case "up":
        case "one":
          this.#selected = 0;
          break;
        case "down":
        case "two":
          this.#selected = 1;
          break;
        case "enter":
          this.#pending = "";
          return { outcome: this.#selected === 1 ? "accepted" : "declined", moved, rest: text.slice(end) };
        case "escape":
          this.#pending = "";
          return { outcome: "declined", moved, rest: text.slice(end) };
        case "interrupt":
          this.#pending = "";
          return { outcome: "interrupted", moved, rest: text.slice(end) };
      }
      if (this.#selected !== before) moved = true;
    }
    return { outcome: "pending", moved, rest: "" };
  }
}
