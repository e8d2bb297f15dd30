import {
  DEFAULT_DIALOG_ANSWERS,
  DIALOG_WINDOW_LINES,
  answerKeys,
  readDialog,
  type DialogSpec,
} from "../activity/dialogs.js";
import { parseScreen } from "../activity/screen.js";
import type { TmuxClient } from "../tmux/client.js";
import { sleep } from "../util/sleep.js";

/** Pause after each key, so the CLI redraws before the screen is read again. */
const KEY_SETTLE_MS = 150;

export type MenuResult =
  | { readonly kind: "chosen"; readonly menu: string; readonly option: string }
  | { readonly kind: "absent" }
  | { readonly kind: "refused"; readonly why: string };

/**
 * Chooses an option in one of `menus` if one is on screen: arrows to the option, a second look that the
 * cursor got there (and that the same menu still shows), then Enter. Nothing is pressed when no listed
 * menu shows, or when its options are not the expected ones.
 */
export async function chooseInMenu(
  client: Pick<TmuxClient, "captureScreen" | "sendKey">,
  session: string,
  menus: readonly DialogSpec[],
  signal: AbortSignal,
): Promise<MenuResult> {
  const look = async (): Promise<ReturnType<typeof readDialog>> => {
    const screen = parseScreen(await client.captureScreen(session, { signal }));
    return readDialog(screen.lines.slice(-DIALOG_WINDOW_LINES), menus, DEFAULT_DIALOG_ANSWERS);
  };
  const view = await look();
  if (view.kind === "none" || view.kind === "unknown") return { kind: "absent" };
  if (view.kind === "leave") return { kind: "refused", why: view.why };
  const keys = answerKeys(view.menu, view.target);
  const arrows = keys.slice(0, -1);
  for (const key of arrows) {
    await client.sendKey(session, key, { signal });
    await sleep(50, signal);
  }
  if (arrows.length > 0) {
    await sleep(KEY_SETTLE_MS, signal);
    const moved = await look();
    if (moved.kind !== "answer" || moved.dialog.id !== view.dialog.id || moved.menu.cursor !== view.target) {
      return { kind: "refused", why: `the ${view.dialog.title} menu changed before Enter` };
    }
  }
  await client.sendKey(session, "Enter", { signal });
  await sleep(KEY_SETTLE_MS, signal);
  return { kind: "chosen", menu: view.dialog.title, option: view.says };
}
