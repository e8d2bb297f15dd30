/**
 * A terminal screen as `tmux capture-pane -p -e` prints it, reduced to what a classifier may rely on:
 * each line's text (escape sequences removed, non-breaking spaces and typographic quotes normalised)
 * and its "solid" text — the characters drawn neither dim nor in reverse video. Claude Code draws input
 * placeholders dim ("Once fixed, resend your message") and its cursor in reverse video, so an empty input
 * line has no solid text after its prompt even when the plain text shows a hint.
 */

export interface ScreenLine {
  /** The line as a person reads it, trailing blanks removed. */
  readonly text: string;
  /** Only the characters drawn at normal intensity and not reversed, trailing blanks removed. */
  readonly solid: string;
}

export interface Screen {
  readonly lines: readonly ScreenLine[];
}

/** Screens larger than this are cut to their last part: a classifier never needs more. */
const MAX_SCREEN_CHARS = 256 * 1024;

/** Parses captured pane text (with or without escape sequences) into lines. */
export function parseScreen(captured: string): Screen {
  const source = captured.length > MAX_SCREEN_CHARS ? captured.slice(-MAX_SCREEN_CHARS) : captured;
  const lines: ScreenLine[] = [];
  let dim = false;
  let reverse = false;
  let text = "";
  let solid = "";
  const endLine = (): void => {
    lines.push({ text: text.trimEnd(), solid: solid.trimEnd() });
    text = "";
    solid = "";
  };
  for (let i = 0; i < source.length; i += 1) {
    const ch = source[i] as string;
    if (ch === "\n") {
      endLine();
      continue;
    }
    if (ch === "\x1b") {
      const end = escapeEnd(source, i);
      const sequence = source.slice(i, end);
      if (sequence.startsWith("\x1b[") && sequence.endsWith("m")) {
        ({ dim, reverse } = applySgr(sequence.slice(2, -1), { dim, reverse }));
      }
      i = end - 1;
      continue;
    }
    const code = ch.charCodeAt(0);
    // Other control characters (C0, DEL, C1) draw nothing.
    if (code < 0x20 || (code >= 0x7f && code < 0xa0)) continue;
    const shown = normalise(ch);
    text += shown;
    // Blanks keep the solid text's columns roughly aligned; dim or reversed glyphs do not count.
    solid += dim || reverse ? " " : shown;
  }
  if (text !== "" || solid !== "" || !source.endsWith("\n")) endLine();
  // capture-pane pads the screen with blank lines below the last drawn one.
  while (lines.length > 0 && lines.at(-1)?.text === "") lines.pop();
  return { lines };
}

/** The last `count` lines that are not blank, in screen order. */
export function lastLines(screen: Screen, count: number): ScreenLine[] {
  const kept: ScreenLine[] = [];
  for (let i = screen.lines.length - 1; i >= 0 && kept.length < count; i -= 1) {
    const line = screen.lines[i];
    if (line !== undefined && line.text.trim() !== "") kept.unshift(line);
  }
  return kept;
}

/** The screen's text as plain lines (for `why` and events); ANSI removed. */
export function plainText(screen: Screen): string {
  return screen.lines.map((line) => line.text).join("\n");
}

function normalise(ch: string): string {
  switch (ch) {
    case "\u00a0":
      return " ";
    case "\u2018":
    case "\u2019":
      return "'";
    case "\u201c":
    case "\u201d":
      return '"';
    default:
      return ch;
  }
}

/** Where the escape sequence starting at `start` ends (exclusive): CSI, OSC/DCS strings, or two bytes. */
function escapeEnd(text: string, start: number): number {
  const kind = text[start + 1];
  if (kind === "[") {
    // CSI: parameters and intermediates, then one final byte in @..~.
    let i = start + 2;
    while (i < text.length) {
      const code = text.charCodeAt(i);
      if (code >= 0x40 && code <= 0x7e) return i + 1;
      i += 1;
    }
    return text.length;
  }
  if (kind === "]" || kind === "P" || kind === "_" || kind === "^" || kind === "X") {
    // A string: ends at BEL or ST (ESC \), or at the end of the line, whichever comes first.
    let i = start + 2;
    while (i < text.length) {
      const ch = text[i];
      if (ch === "\x07") return i + 1;
      if (ch === "\x1b" && text[i + 1] === "\\") return i + 2;
      if (ch === "\n") return i;
      i += 1;
    }
    return text.length;
  }
  return Math.min(text.length, start + 2);
}

/** The dim and reverse attributes after one SGR sequence's parameters (`0;2`, `7`, `22`…). */
function applySgr(
  parameters: string,
  state: { dim: boolean; reverse: boolean },
): { dim: boolean; reverse: boolean } {
  let { dim, reverse } = state;
  const codes = parameters === "" ? ["0"] : parameters.split(/[;:]/);
  for (let i = 0; i < codes.length; i += 1) {
    const code = Number(codes[i] === "" ? "0" : codes[i]);
    if (code === 38 || code === 48 || code === 58) {
      // Extended colour: skip its arguments (5;N or 2;R;G;B).
      i += codes[i + 1] === "5" ? 2 : codes[i + 1] === "2" ? 4 : 0;
      continue;
    }
    if (code === 0) {
      dim = false;
      reverse = false;
    } else if (code === 2) dim = true;
    else if (code === 22) dim = false;
    else if (code === 7) reverse = true;
    else if (code === 27) reverse = false;
  }
  return { dim, reverse };
}
