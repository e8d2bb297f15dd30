import type { ScreenLine } from "./screen.js";

/**
 * A selection menu on screen: Claude Code and its peers draw one option per line and mark the selected
 * one with `❯` in front. Only `❯` counts as the cursor (a `>` in an agent's own output does not).
 */
export interface Menu {
  /** Option labels in screen order, with list numbering ("1. ") removed. */
  readonly options: readonly string[];
  /** Index of the option the cursor is on. */
  readonly cursor: number;
}

export const MENU_CURSOR = "❯";

/**
 * A cursor line: an indent (a border or blanks), the cursor, a blank, then the option's text. Claude draws
 * its input line and the prompts of its conversation with `❯` in the first column; menus and dialogs
 * indent their cursor, so a line starting with `❯` is never a menu's.
 */
const CURSOR_LINE = /^([\s│┃|]+)❯\s+(\S.*)$/u;
const NUMBERING = /^\d{1,2}[.)]\s+/;

/**
 * Reads the menu around the last cursor line of `lines`, or null when there is none. A menu needs at
 * least two options: the cursor line plus neighbours whose text starts in the cursor label's column. An
 * input line with typed text (`❯ hello`) has no such neighbours, so it is not a menu. Lines indented
 * deeper than the labels (an option's description) are skipped; a blank line or a shallower line ends it.
 */
export function readMenu(lines: readonly ScreenLine[]): Menu | null {
  let cursorIndex = -1;
  for (let i = lines.length - 1; i >= 0; i -= 1) {
    if (CURSOR_LINE.test(lines[i]?.text ?? "")) {
      cursorIndex = i;
      break;
    }
  }
  if (cursorIndex === -1) return null;
  const cursorText = lines[cursorIndex]?.text ?? "";
  const labelColumn = cursorText.indexOf(MENU_CURSOR) + MENU_CURSOR.length + leadingBlanks(cursorText);
  const above = collect(lines, cursorIndex, -1, labelColumn);
  const below = collect(lines, cursorIndex, 1, labelColumn);
  const match = CURSOR_LINE.exec(cursorText);
  const cursorLabel = label(match?.[2] ?? "");
  const options = [...above.reverse(), cursorLabel, ...below];
  if (options.length < 2) return null;
  return { options, cursor: above.length };
}

/** Blanks between the cursor glyph and the label. */
function leadingBlanks(cursorText: string): number {
  const after = cursorText.slice(cursorText.indexOf(MENU_CURSOR) + MENU_CURSOR.length);
  return after.length - after.trimStart().length;
}

function collect(lines: readonly ScreenLine[], from: number, step: 1 | -1, labelColumn: number): string[] {
  const found: string[] = [];
  for (let i = from + step; i >= 0 && i < lines.length; i += step) {
    const text = lines[i]?.text ?? "";
    if (text.trim() === "") break;
    const indent = text.length - text.trimStart().length;
    if (indent > labelColumn) continue; // an option's description
    if (indent !== labelColumn || text.includes(MENU_CURSOR)) break;
    found.push(label(text.trim()));
  }
  return found;
}

function label(text: string): string {
  return text.replace(NUMBERING, "").trim();
}
