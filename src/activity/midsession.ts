import type { DialogSpec } from "./dialogs.js";

/**
 * Menus a live agent shows mid-session that townd may answer when conduct asks it to (agent-states.md
 * §3(b)–(c)): a usage-limit menu with its "wait" option at a wall's wake, and a tool permission prompt's
 * plain "Yes" when an approval rule allows the command. Never "don't ask again", never "upgrade".
 */

/** Claude's `/rate-limit-options` menu; it does not go away by itself when the window resets. */
export const CLAUDE_LIMIT_MENU: DialogSpec = {
  id: "claude.rate-limit-options",
  title: "usage-limit options",
  anchors: [/What do you want to do\?/, /Stop and wait for limit to reset/],
  choose: () => ({
    kind: "option",
    label: /^Stop and wait for limit to reset$/,
    says: "Stop and wait for limit to reset",
  }),
};

/** Claude's spend cap: "Usage credit balance" … "Wait for limit to reset". */
export const CLAUDE_SPEND_MENU: DialogSpec = {
  id: "claude.spend-limit",
  title: "spend-limit options",
  anchors: [/Adjust monthly spend limit/, /Wait for limit to reset/],
  choose: () => ({ kind: "option", label: /^Wait for limit to reset$/, says: "Wait for limit to reset" }),
};

/** Gemini's usage-limit menu: "Keep trying" is its default and the way back. */
export const GEMINI_LIMIT_MENU: DialogSpec = {
  id: "gemini.usage-limit",
  title: "usage-limit options",
  anchors: [/Usage limit reached/i, /Keep trying/],
  choose: () => ({ kind: "option", label: /^Keep trying$/, says: "Keep trying" }),
};

export const WALL_MENUS: readonly DialogSpec[] = [CLAUDE_LIMIT_MENU, CLAUDE_SPEND_MENU, GEMINI_LIMIT_MENU];

/** A tool permission prompt; its plain "Yes" approves this one call and nothing more. */
export const PERMISSION_MENU: DialogSpec = {
  id: "claude.tool-permission",
  title: "tool permission",
  anchors: [/Do you want to (proceed|make this edit|create|allow|run)/i, /^\s*(❯\s+)?1\.\s+Yes\s*$/],
  choose: () => ({ kind: "option", label: /^Yes$/, says: "Yes" }),
};
