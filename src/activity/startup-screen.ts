import { DIALOG_WINDOW_LINES, readDialog, type DialogAnswers, type DialogReading } from "./dialogs.js";
import type { DialogSpec } from "./dialogs.js";
import type { RuntimeProfile } from "./profiles.js";
import { lastLines, type Screen } from "./screen.js";

/** What an agent's screen says during its start-up. */
export type StartupView =
  { readonly kind: "ready" } | { readonly kind: "waiting" } | Exclude<DialogReading, { kind: "none" }>;

/** How one runtime's start-up screens are read: its profile's dialogs and its readiness test. */
export interface StartupReader {
  readonly dialogs: readonly DialogSpec[];
  readonly answers: DialogAnswers;
  /** null: the runtime shows nothing townd can recognise as ready; a fixed delay stands in. */
  readonly ready: ((screen: Screen) => boolean) | null;
}

export function startupReader(
  profile: RuntimeProfile,
  readyPrompt: string | null,
  extraDialogs: readonly DialogSpec[],
  answers: DialogAnswers,
): StartupReader {
  const ready = readyPrompt !== null ? promptShown(readyPrompt) : profile.ready;
  const dialogs = [...profile.dialogs, ...extraDialogs.filter((d) => !profile.dialogs.includes(d))];
  return { dialogs, answers, ready };
}

/**
 * Reads one screen. Dialogs come first: a dialog's cursor line is never taken for a prompt, and nothing
 * is ever typed while a menu is up.
 */
export function readStartupScreen(screen: Screen, reader: StartupReader): StartupView {
  const window = screen.lines.slice(-DIALOG_WINDOW_LINES);
  const dialog = readDialog(window, reader.dialogs, reader.answers);
  if (dialog.kind !== "none") return dialog;
  if (reader.ready?.(screen) === true) return { kind: "ready" };
  return { kind: "waiting" };
}

/** Two readings show the same thing: the same dialog with its cursor on the same option, or both ready. */
export function sameView(a: StartupView, b: StartupView): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === "answer" && b.kind === "answer")
    return a.dialog.id === b.dialog.id && a.menu.cursor === b.menu.cursor;
  if (a.kind === "leave" && b.kind === "leave") return a.dialog.id === b.dialog.id;
  if (a.kind === "unknown" && b.kind === "unknown") return a.why === b.why;
  return true;
}

/** A custom runtime's `ready_prompt`: a line near the bottom starts with it (ignoring a box border). */
function promptShown(prompt: string): (screen: Screen) => boolean {
  const wanted = prompt.trim();
  return (screen) =>
    lastLines(screen, 30).some((line) => line.text.replace(/^[\s│|┃]+/, "").startsWith(wanted));
}
