import { SimDialog } from "./dialog.js";

/**
 * The menus Claude Code 2.1.332 shows in the middle of a session (agent-states.md §3(b)–(c)), with its text
 * and keys: a tool permission prompt, and the `/rate-limit-options` menu of a usage-limit wall. They are
 * answered like the start-up dialogs (Up/Down, Enter, Esc); townd's Claude profile reads them as the real ones.
 */

const RULE = "─".repeat(80);

export const PERMISSION_PROMPT = "permission";
export const RATE_LIMIT_MENU = "rate-limit-options";

/** The permission prompt's options that let the tool run (the second also stops further questions). */
export const ALLOWING_OPTIONS: ReadonlySet<number> = new Set([0, 1]);

export const WAIT_FOR_RESET = "Stop and wait for limit to reset";

/** What Claude asks before running `command` with `tool` (a Bash command shows its title and the command). */
export function permissionPrompt(tool: string, command: string, description?: string): SimDialog {
  const bash = tool === "Bash";
  const word = command.trim().split(/\s+/)[0] ?? "";
  return new SimDialog(PERMISSION_PROMPT, {
    body: [
      RULE,
      bash ? " Bash command" : ` ${tool}`,
      "",
      `   ${command}`,
      ...(description === undefined ? [] : [`   ${description}`]),
      "",
      " Do you want to proceed?",
    ],
    options: [
      "Yes",
      bash && word !== ""
        ? `Yes, and don't ask again for ${word} commands in this project`
        : "Yes, and don't ask again this session",
      "No, and tell Claude what to do differently (esc)",
    ],
    initial: 0,
    exits: [],
    footer: " Esc to cancel · Tab to amend",
    indent: " ",
    numbered: true,
    tight: true,
    cancel: 2,
  });
}

/** `/rate-limit-options`: it stays up after the window resets until someone answers it. */
export function rateLimitMenu(): SimDialog {
  return new SimDialog(RATE_LIMIT_MENU, {
    body: [RULE, "  What do you want to do?"],
    options: [WAIT_FOR_RESET, "Upgrade your plan"],
    initial: 0,
    exits: [],
    footer: "  Enter to confirm · Esc to cancel",
    indent: "  ",
    numbered: true,
  });
}
