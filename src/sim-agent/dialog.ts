/**
 * The start-up dialogs Claude Code 2.1.332 shows, drawn with the same text, the same `❯` cursor and the
 * same keys (Up/Down move, Enter confirms the highlighted option, Esc cancels; digits do nothing), so the
 * fast suites exercise exactly what the real CLI makes townd answer. Recorded screens of the real CLI are
 * in test/fixtures/. A pure state machine: feed it the bytes typed; it says when the dialog is answered.
 * The menus Claude shows mid-session (prompts.ts) are the same machine with their own content.
 */

export const BYPASS_DIALOG_MARKER = "Bypass Permissions mode";

/** The dialogs the simulated agent can show, in the order the real CLI shows them. */
export const SIM_DIALOG_KINDS = ["trust", "mcp", "api-key", "bypass", "unknown"] as const;
export type SimDialogKind = (typeof SIM_DIALOG_KINDS)[number];

export interface DialogContent {
  /** The text above the options. */
  readonly body: readonly string[];
  readonly options: readonly string[];
  /** The option highlighted when the dialog appears. */
  readonly initial: number;
  /** Options that make the agent exit (as "No, exit" does). */
  readonly exits: readonly number[];
  readonly footer: string;
  /** Indentation of the cursor column. */
  readonly indent: string;
  /** Options drawn as a numbered list ("❯ 1. Yes"). */
  readonly numbered?: boolean;
  /** No blank line between the text and the options. */
  readonly tight?: boolean;
  /** The option Esc chooses (a permission prompt's "No … (esc)"); without it, Esc cancels as below. */
  readonly cancel?: number;
}

const RULE = "─".repeat(80);

const CONTENT: Readonly<Record<SimDialogKind, (cwd: string) => DialogContent>> = {
  trust: (cwd) => ({
    body: [
      RULE,
      " Accessing workspace:",
      "",
      ` ${cwd}`,
      "",
      " Quick safety check: Is this a project you created or one you trust? (Like your own code, a well-known open source",
      " project, or work from your team). If not, take a moment to review what's in this folder first.",
      "",
      " Claude Code'll be able to read, edit, and execute files here.",
      "",
      " Security guide",
    ],
    options: ["No, exit", "Yes, I trust this folder"],
    initial: 0,
    exits: [0],
    footer: " Enter to confirm · Esc to cancel",
    indent: " ",
  }),
  mcp: () => ({
    body: [
      RULE,
      "  New MCP server found in this project: sim",
      "",
      "  MCP servers may execute code or access system resources. All tool calls require approval. Learn more in the MCP",
      "  documentation.",
    ],
    options: [
      "Use this MCP server",
      "Use this and all future MCP servers in this project",
      "Continue without using this MCP server",
    ],
    initial: 2,
    exits: [],
    footer: "  Enter to confirm · Esc to reject",
    indent: "  ",
  }),
  "api-key": () => ({
    body: [
      RULE,
      "  Detected a custom API key in your environment",
      "",
      "  ANTHROPIC_API_KEY: sk-ant-...simulated0000",
      "",
      "  Do you want to use this API key?",
    ],
    options: ["Yes", "No (recommended)"],
    initial: 1,
    exits: [],
    footer: "  Enter to confirm · Esc to cancel",
    indent: "  ",
  }),
  bypass: () => ({
    body: [
      RULE,
      `  WARNING: Claude Code running in ${BYPASS_DIALOG_MARKER}`,
      "",
      `  In ${BYPASS_DIALOG_MARKER}, Claude Code will not ask for your approval before running potentially dangerous`,
      "  commands. (This is a simulation: nothing is bypassed.)",
      "",
      `  By proceeding, you accept all responsibility for actions taken while running in ${BYPASS_DIALOG_MARKER}.`,
    ],
    options: ["No, exit", "Yes, I accept"],
    initial: 0,
    exits: [0],
    footer: "  Enter to confirm · Esc to cancel",
    indent: "  ",
  }),
  // A menu no profile knows (a plugin's question, a new release's dialog): townd must leave it alone.
  unknown: () => ({
    body: [RULE, "  Pick a bead to work on next:"],
    options: ["gt-101 Fix the flaky test", "gt-102 Write the docs"],
    initial: 0,
    exits: [],
    footer: "  Enter to select · ↑/↓ to navigate · Esc to cancel",
    indent: "  ",
  }),
};

export type DialogKey = "up" | "down" | "enter" | "escape" | "interrupt";

export type DialogOutcome = "pending" | "chosen" | "exit" | "interrupted";

export interface FeedResult {
  readonly outcome: DialogOutcome;
  /** True when the highlighted option changed (the options need redrawing). */
  readonly moved: boolean;
  /** Text after the key that answered the dialog: ordinary input, for the next screen. */
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
    if (ch === "\x03") keys.push({ key: "interrupt", end: i + 1 });
    i += 1;
  }
  return { keys, pending: "" };
}

/** The start-up dialog `kind` as Claude draws it in `cwd`. */
export function startupDialog(kind: SimDialogKind, cwd: string): SimDialog {
  return new SimDialog(kind, CONTENT[kind](cwd));
}

export class SimDialog {
  /** What the log calls it: a start-up dialog's kind, or a mid-session menu's name. */
  readonly kind: string;
  readonly #content: DialogContent;
  #selected: number;
  #pending = "";

  constructor(kind: string, content: DialogContent) {
    this.kind = kind;
    this.#content = content;
    this.#selected = content.initial;
  }

  get selected(): number {
    return this.#selected;
  }

  get selectedOption(): string {
    return this.#content.options[this.#selected] ?? "";
  }

  get optionCount(): number {
    return this.#content.options.length;
  }

  /** The whole dialog, ending with a newline. */
  render(): string {
    const { body, tight, footer } = this.#content;
    return [...body, ...(tight === true ? [] : [""]), this.renderOptions(), "", footer, ""].join("\n");
  }

  /** How many lines render() draws (the cursor then stands on the line after the last). */
  get lineCount(): number {
    return this.render().split("\n").length - 1;
  }

  /** The option lines (no trailing newline), the highlighted one marked with `❯`. */
  renderOptions(): string {
    const { options, indent, numbered } = this.#content;
    return options
      .map(
        (option, index) =>
          `${indent}${index === this.#selected ? "❯ " : "  "}${numbered === true ? `${index + 1}. ` : ""}${option}`,
      )
      .join("\n");
  }

  /** An Escape still waiting to be told from an arrow key's first byte. */
  get escapePending(): boolean {
    return this.#pending === "\x1b";
  }

  /**
   * Nothing followed a lone Escape: it was the Escape key (a terminal program waits a moment to tell it
   * from the start of an arrow key's sequence, as this one does).
   */
  flushEscape(): FeedResult {
    if (!this.escapePending) return { outcome: "pending", moved: false, rest: "" };
    this.#pending = "";
    return this.#escape("");
  }

  feed(chunk: string): FeedResult {
    const text = this.#pending + chunk;
    const { keys, pending } = parseKeys(text);
    this.#pending = pending;
    let moved = false;
    const last = this.#content.options.length - 1;
    for (const { key, end } of keys) {
      const before = this.#selected;
      switch (key) {
        case "up":
          this.#selected = Math.max(0, this.#selected - 1);
          break;
        case "down":
          this.#selected = Math.min(last, this.#selected + 1);
          break;
        case "enter":
          this.#pending = "";
          return {
            outcome: this.#content.exits.includes(this.#selected) ? "exit" : "chosen",
            moved,
            rest: text.slice(end),
          };
        case "escape":
          this.#pending = "";
          return { ...this.#escape(text.slice(end)), moved: moved || this.#selected !== before };
        case "interrupt":
          this.#pending = "";
          return { outcome: "interrupted", moved, rest: text.slice(end) };
      }
      if (this.#selected !== before) moved = true;
    }
    return { outcome: "pending", moved, rest: "" };
  }

  /**
   * Esc chooses the dialog's cancel option when it has one; else it cancels: for a dialog with a way out
   * ("No, exit") that means leaving, else its default.
   */
  #escape(rest: string): FeedResult {
    const { cancel, exits } = this.#content;
    if (cancel !== undefined) {
      const moved = this.#selected !== cancel;
      this.#selected = cancel;
      return { outcome: exits.includes(cancel) ? "exit" : "chosen", moved, rest };
    }
    return { outcome: exits.length > 0 ? "exit" : "chosen", moved: false, rest };
  }
}
