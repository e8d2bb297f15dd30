import { permissionPrompt, rateLimitMenu } from "./prompts.js";

/**
 * Screens the simulated agent draws on command (`/sim screen NAME`), with the text Claude Code shows in
 * each case (as recorded in test/fixtures/claude-2.1.332/ and the classifier's tests): so the fast suites see on a real tmux pane what townd's screen reading must read.
 * `modal` screens leave no prompt below them: the CLI waits on them, not on its input line.
 */

export interface SimScreen {
  readonly lines: readonly string[];
  readonly modal: boolean;
}

export const SIM_SCREENS: Readonly<Record<string, SimScreen>> = {
  working: { lines: ["✻ Working… (12s · ↓ 0 tokens · esc to interrupt)"], modal: false },
  idle: { lines: ["✻ Crunched for 1s"], modal: false },
  permission: {
    lines: lines(permissionPrompt("Bash", "rm -rf build", "Remove the build directory").render()),
    modal: true,
  },
  "session-limit": { lines: ["  ⎿  You've hit your session limit · resets 4:20pm (UTC)"], modal: false },
  "spend-limit": {
    lines: ["  ⎿  You're out of extra usage · resets 5pm (America/Los_Angeles)"],
    modal: false,
  },
  "legacy-limit": { lines: ["Claude usage limit reached. Your limit will reset at 12am."], modal: false },
  "limit-options": { lines: lines(rateLimitMenu().render()), modal: true },
  "logged-out": {
    lines: ["  ⎿  Not logged in · Please run /login", "", "  Not logged in · run /login"],
    modal: false,
  },
  compacting: { lines: ["✻ Compacting conversation… (3s · esc to interrupt)"], modal: false },
};

/** A rendered menu's lines, without the newline that ends it. */
function lines(text: string): string[] {
  return text.replace(/\n$/, "").split("\n");
}

export const SIM_SCREEN_NAMES: readonly string[] = Object.keys(SIM_SCREENS);
