import { readMenu, type Menu } from "./menu.js";
import type { ScreenLine } from "./screen.js";

/**
 * How townd answers the dialogs it knows. Only these can be changed by settings; a dialog townd does not
 * know is never answered.
 */
export interface DialogAnswers {
  /** Answer Claude's workspace trust dialog with "Yes, I trust this folder" (townd creates these folders). */
  readonly workspaceTrust: boolean;
  /** "Detected a custom API key": keep the dialog's own default, or choose. */
  readonly customApiKey: "default" | "use" | "decline";
}

export const DEFAULT_DIALOG_ANSWERS: DialogAnswers = { workspaceTrust: true, customApiKey: "default" };

/** What to do with a recognised dialog: choose the option whose label matches, keep the cursor, or leave it. */
export type DialogChoice =
  | { readonly kind: "option"; readonly label: RegExp; readonly says: string }
  | { readonly kind: "keep-default" }
  | { readonly kind: "leave"; readonly why: string };

/** A dialog an agent CLI shows, recognised by anchors that must all appear in its last lines. */
export interface DialogSpec {
  /** Stable id for events and tests, e.g. `claude.workspace-trust`. */
  readonly id: string;
  /** What a person calls it. */
  readonly title: string;
  /** Two or more patterns of the same widget, each matched against one line. */
  readonly anchors: readonly RegExp[];
  readonly choose: (answers: DialogAnswers) => DialogChoice;
}

/** Lines from the bottom of the screen a dialog must fit in. */
export const DIALOG_WINDOW_LINES = 30;

/** Footers and hints that only menus and dialogs draw: an unknown one of these is left to a human. */
const MENU_HINTS: readonly RegExp[] = [
  /Enter to confirm/i,
  /Esc to (cancel|reject|exit)/i,
  /Enter to select/i,
  /[↑↓].{0,3}to navigate/i,
  /Tab to amend/i,
];

export type DialogReading =
  | { readonly kind: "none" }
  /** A known dialog and the keys that answer it; `target` is the wanted option's index. */
  | {
      readonly kind: "answer";
      readonly dialog: DialogSpec;
      readonly menu: Menu;
      readonly target: number;
      readonly says: string;
    }
  /** A known dialog townd must not answer (a setting says so, or its layout is not the expected one). */
  | { readonly kind: "leave"; readonly dialog: DialogSpec; readonly why: string }
  /** A menu or dialog townd does not know: no keys at all. */
  | { readonly kind: "unknown"; readonly why: string };

/**
 * Reads the bottom of a screen for dialogs: a known one with its answer, an unknown menu, or none.
 * `window` is the screen's last lines, blank lines included (they separate a menu from its neighbours).
 */
export function readDialog(
  window: readonly ScreenLine[],
  dialogs: readonly DialogSpec[],
  answers: DialogAnswers,
): DialogReading {
  const menu = readMenu(window);
  for (const dialog of dialogs) {
    if (!dialog.anchors.every((anchor) => window.some((line) => anchor.test(line.text)))) continue;
    const choice = dialog.choose(answers);
    if (choice.kind === "leave") return { kind: "leave", dialog, why: choice.why };
    if (menu === null) {
      return { kind: "leave", dialog, why: `${dialog.title}: its options are not where townd expects them` };
    }
    if (choice.kind === "keep-default") {
      return {
        kind: "answer",
        dialog,
        menu,
        target: menu.cursor,
        says: menu.options[menu.cursor] ?? "",
      };
    }
    const matching = menu.options.flatMap((option, index) => (choice.label.test(option) ? [index] : []));
    const [target] = matching;
    if (target === undefined || matching.length > 1) {
      return {
        kind: "leave",
        dialog,
        why: `${dialog.title}: no single option "${choice.says}" among ${JSON.stringify(menu.options)}`,
      };
    }
    return { kind: "answer", dialog, menu, target, says: menu.options[target] ?? choice.says };
  }
  if (menu !== null) {
    return { kind: "unknown", why: `an unknown menu (${menu.options.map((o) => `"${o}"`).join(", ")})` };
  }
  const hint = window.find((line) => MENU_HINTS.some((pattern) => pattern.test(line.text)));
  if (hint !== undefined) return { kind: "unknown", why: `an unknown dialog ("${hint.text.trim()}")` };
  return { kind: "none" };
}

/** The keys that move the cursor from where it is to `target` and confirm: arrows, then Enter. */
export function answerKeys(menu: Menu, target: number): string[] {
  const distance = target - menu.cursor;
  const arrow = distance > 0 ? "Down" : "Up";
  return [...Array<string>(Math.abs(distance)).fill(arrow), "Enter"];
}
