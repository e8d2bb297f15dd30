import { DIALOG_WINDOW_LINES, readDialog, type DialogAnswers, type DialogReading } from "./dialogs.js";
import type { DialogSpec } from "./dialogs.js";
import type { ResolvedRuntime } from "../agents/runtime.js";
import { BYPASS_PERMISSIONS_DIALOG, runtimeProfile, type RuntimeProfile } from "./profiles.js";
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

/** The reader for one runtime: its profile's, plus Claude's bypass dialog where `bypass_dialog` asks. */
export function readerFor(runtime: ResolvedRuntime, answers: DialogAnswers): StartupReader {
  const extra = runtime.bypassDialog ? [BYPASS_PERMISSIONS_DIALOG] : [];
  return startupReader(runtimeProfile(runtime.profile), runtime.readyPrompt, extra, answers);
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

/**
 * What dialog or menu a screen shows, by the reader's lights, or null when none: a nudge must not be typed
 * into one (its Enter would pick an option).
 */
export function dialogShown(screen: Screen, reader: StartupReader): string | null {
  const view = readStartupScreen(screen, reader);
  switch (view.kind) {
    case "answer":
    case "leave":
      return `the ${view.dialog.title} dialog`;
    case "unknown":
      return view.why;
    case "ready":
    case "waiting":
      return null;
  }
}
