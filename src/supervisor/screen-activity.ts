import { DEFAULT_DIALOG_ANSWERS } from "../activity/dialogs.js";
import type { RuntimeProfile } from "../activity/profiles.js";
import type { Screen } from "../activity/screen.js";
import type { ActivityReading } from "../activity/state.js";
import { readStartupScreen, startupReader } from "../activity/startup-screen.js";

/** What a live agent's screen says, by its profile: a dialog, a menu for a person, or its idle prompt. */
export function classifyScreen(screen: Screen, profile: RuntimeProfile): ActivityReading | null {
  const view = readStartupScreen(screen, startupReader(profile, null, [], DEFAULT_DIALOG_ANSWERS));
  switch (view.kind) {
    case "answer":
    case "leave":
      return { state: "dialog", source: "screen", detail: `the ${view.dialog.title} dialog` };
    case "unknown":
      return { state: "needs-human", source: "screen", detail: view.why };
    case "ready":
      return { state: "idle", source: "screen", detail: "at its prompt" };
    case "waiting":
      return null;
  }
}
