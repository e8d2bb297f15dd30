/**
 * Claude Code's input box while a turn runs (its terminal in raw mode): typed text is a draft that Enter
 * queues for after the turn, Backspace and Ctrl-U edit it, and Escape interrupts the turn — but only with
 * an empty box: with a draft in it, Escape leaves the turn running (Claude Code 2.1.69 and later). Arrow
 * keys and other escape sequences do nothing here. A pure state machine, like the dialogs': feed it the
 * bytes typed; it says what happened and what to echo (raw mode echoes nothing by itself).
 */

export type TurnEvent =
  | { readonly kind: "line"; readonly text: string }
  | { readonly kind: "interrupt" }
  | { readonly kind: "ctrl-c" };

export interface TurnFeed {
  readonly events: TurnEvent[];
  /** What the terminal shows for the keys: the typed text, erasures, a new line for Enter. */
  readonly echo: string;
}

export class TurnInput {
  /** Prompts entered during the turn, for after it (Claude's queued messages). */
  readonly queued: string[] = [];
  #draft = "";
  #pending = "";

  get draft(): string {
    return this.#draft;
  }

  /** A lone Escape still waiting to be told from the first byte of an arrow key's sequence. */
  get escapePending(): boolean {
    return this.#pending === "\x1b";
  }

  feed(chunk: string): TurnFeed {
    const text = this.#pending + chunk;
    this.#pending = "";
    const events: TurnEvent[] = [];
    let echo = "";
    let i = 0;
    while (i < text.length) {
      const ch = text.charAt(i);
      if (ch === "\x1b") {
        const end = sequenceEnd(text, i);
        if (end === "incomplete") {
          this.#pending = text.slice(i);
          break;
        }
        if (end === null) {
          // Escape followed by something that starts no sequence: the Escape key, then that key.
          if (this.#draft === "") events.push({ kind: "interrupt" });
          i += 1;
        } else {
          i = end;
        }
        continue;
      }
      if (ch === "\r" || ch === "\n") {
        events.push({ kind: "line", text: this.#draft });
        this.#draft = "";
        echo += "\r\n";
        i += ch === "\r" && text.charAt(i + 1) === "\n" ? 2 : 1;
        continue;
      }
      if (ch === "\x7f" || ch === "\b") {
        const chars = Array.from(this.#draft);
        if (chars.length > 0) {
          this.#draft = chars.slice(0, -1).join("");
          echo += "\b \b";
        }
      } else if (ch === "\x15") {
        echo += "\b \b".repeat(Array.from(this.#draft).length);
        this.#draft = "";
      } else if (ch === "\x03") {
        events.push({ kind: "ctrl-c" });
      } else if (ch >= " ") {
        this.#draft += ch;
        echo += ch;
      }
      i += 1;
    }
    return { events, echo };
  }

  /** Nothing followed a lone Escape: it was the Escape key. */
  flushEscape(): TurnFeed {
    if (!this.escapePending) return { events: [], echo: "" };
    this.#pending = "";
    return { events: this.#draft === "" ? [{ kind: "interrupt" }] : [], echo: "" };
  }
}

/**
 * Where the escape sequence starting at `at` ends: CSI (`ESC [ … final`) and SS3 (`ESC O x`) are keys
 * (arrows, function keys); "incomplete" when the text ends inside one; null when the Escape starts none.
 */
function sequenceEnd(text: string, at: number): number | "incomplete" | null {
  const next = text.charAt(at + 1);
  if (next === "") return "incomplete";
  if (next === "O") return at + 2 < text.length ? at + 3 : "incomplete";
  if (next !== "[") return null;
  for (let j = at + 2; j < text.length; j += 1) {
    const code = text.charCodeAt(j);
    if (code >= 0x40 && code <= 0x7e) return j + 1;
    if (code < 0x20 || code > 0x3f) return j;
  }
  return "incomplete";
}
