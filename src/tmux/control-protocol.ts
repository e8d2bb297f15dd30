import { tmuxQuote } from "./format.js";

// tmux's control mode (`tmux -C`), the parts townd uses: commands go in as lines of the tmux command
// language; each command that runs answers with a block, `%begin <time> <number> <flags>`, its output lines,
// then `%end` or `%error` with the same three fields. Anything else outside a block is a notification.

/**
 * A line longer than this goes through a one-shot tmux process instead. tmux documents no limit (a 98 KB
 * line worked here); this is room for the screens of about 3 000 sessions in one call.
 */
export const CONTROL_LINE_MAX = 256 * 1024;

const CONTROL_RUNS = /([\u0000-\u001f\u007f]+)/;

/**
 * One word of the tmux command language that tmux reads back as exactly `text`. Printable runs are
 * single-quoted, where tmux expands nothing (`#{…}`, `$VAR`, `~`, `;`, `{`, `\` stay literal); control
 * characters (a tab in a format, a newline, which would end the line) are octal escapes inside double quotes,
 * which hold nothing else. tmux joins adjacent quoted parts into one word.
 */
export function controlWord(text: string): string {
  if (text === "") return "''";
  return text
    .split(CONTROL_RUNS)
    .filter((part) => part !== "")
    .map((part) =>
      CONTROL_RUNS.test(part)
        ? `"${part.replace(/[\s\S]/g, (char) => `\\${char.charCodeAt(0).toString(8).padStart(3, "0")}`)}"`
        : tmuxQuote(part),
    )
    .join("");
}

/**
 * One line of the tmux command language running `commands` in sequence (as one group: tmux stops at the
 * first that fails, as it does for a one-shot `tmux a ; b`). Every word goes through controlWord; the
 * separators are bare `;` words, the only ones tmux splits at. Undefined for a line too long to send
 * (the caller runs a one-shot process instead).
 */
export function controlLine(commands: readonly (readonly string[])[]): string | undefined {
  if (commands.length === 0 || commands.some((command) => command.length === 0)) return undefined;
  const line = commands.map((command) => command.map(controlWord).join(" ")).join(" ; ");
  return line.length > CONTROL_LINE_MAX ? undefined : line;
}

export type ControlEvent =
  /** A complete answer block. `ours`: the command came from this client's input (flags 1). */
  | { readonly kind: "block"; readonly ours: boolean; readonly ok: boolean; readonly lines: string[] }
  /** `%exit [reason]`: the client is leaving (its session was destroyed, the server exited, …). */
  | { readonly kind: "exit"; readonly reason: string }
  /** Any other line outside a block: `%session-changed`, `%window-add`, … */
  | { readonly kind: "notification"; readonly line: string };

const BEGIN = /^%begin (\d+ \d+ (\d+))$/;

/**
 * Turns control-mode output, line by line, into events. Inside a block only the exact `%end`/`%error` line
 * with the block's own time, number and flags ends it: a captured screen showing "%end …" is output, like
 * any other line.
 */
export class ControlParser {
  private block: { guard: string; ours: boolean; lines: string[] } | undefined;

  push(line: string): ControlEvent | undefined {
    const block = this.block;
    if (block !== undefined) {
      if (line === `%end ${block.guard}` || line === `%error ${block.guard}`) {
        this.block = undefined;
        return { kind: "block", ours: block.ours, ok: line.startsWith("%end"), lines: block.lines };
      }
      block.lines.push(line);
      return undefined;
    }
    const begin = BEGIN.exec(line);
    if (begin !== null) {
      this.block = { guard: begin[1] ?? "", ours: begin[2] === "1", lines: [] };
      return undefined;
    }
    if (line === "%exit" || line.startsWith("%exit ")) return { kind: "exit", reason: line.slice(6) };
    return { kind: "notification", line };
  }
}

/** The output of a command as a one-shot tmux process prints it: each line followed by a newline. */
export function blockOutput(lines: readonly string[]): string {
  return lines.map((line) => `${line}\n`).join("");
}
