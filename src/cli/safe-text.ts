/**
 * Text that agents wrote (mail subjects and bodies, request reasons, pane lines, process titles) reaches the
 * operator's terminal through `mail`, `events`, `why`, `status` and `logs`. Printed raw, an escape sequence
 * in it could rewrite the screen, retitle the window or set the clipboard (OSC 52). Every such string goes
 * through here: control characters are shown, not obeyed.
 */

/** C0 controls, DEL and C1 controls (which some terminals obey as 8-bit escapes). */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * `text` with every control character made visible: C0 and DEL in caret notation (ESC → `^[`, CR → `^M`,
 * DEL → `^?`), C1 as `\u009b`. `multiline` keeps newlines and tabs (a mail body, a pane's lines).
 */
export function visible(text: string, options: { multiline?: boolean } = {}): string {
  return text.replace(CONTROL, (c) => {
    if (options.multiline === true && (c === "\n" || c === "\t")) return c;
    const code = c.charCodeAt(0);
    if (code < 0x20) return `^${String.fromCharCode(code + 0x40)}`;
    if (code === 0x7f) return "^?";
    return `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

export function visibleOrNull(text: string | null): string | null {
  return text === null ? null : visible(text);
}

/**
 * JSON for a terminal or a pipe: JSON.stringify escapes C0 controls but leaves DEL and C1 raw; they are
 * escaped here too (`\u009b` is the same string to any JSON parser).
 */
export function safeJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(
    /[\u007f-\u009f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
