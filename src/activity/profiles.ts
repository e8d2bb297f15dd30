import type { DialogSpec } from "./dialogs.js";
import { lastLines, type Screen, type ScreenLine } from "./screen.js";

/**
 * What townd knows about one agent CLI's screens: the start-up dialogs it answers, how the CLI looks when
 * it is ready for input, and the messages with which it refuses to start. Profiles are pure data and
 * pure functions, tested on screens recorded from the real CLIs (test/fixtures/).
 */
export interface RuntimeProfile {
  readonly name: ProfileName;
  readonly dialogs: readonly DialogSpec[];
  /**
   * Whether the screen shows the CLI waiting for input with an empty input line; null when the profile
   * cannot tell (the runtime's `ready_prompt`, or a fixed delay, decides then).
   */
  readonly ready: ((screen: Screen) => boolean) | null;
  /** Messages a CLI prints when it exits at once, with what to do about each. */
  readonly startFailures: readonly StartFailurePattern[];
}

export const PROFILE_NAMES = ["claude", "codex", "gemini", "generic"] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

export interface StartFailurePattern {
  readonly pattern: RegExp;
  /** What went wrong, in a few words. */
  readonly cause: string;
  /** What the operator should change. */
  readonly fix: string;
}

/** Claude's warning for --dangerously-skip-permissions; custom runtimes can opt in with `bypass_dialog`. */
export const BYPASS_PERMISSIONS_DIALOG: DialogSpec = {
  id: "claude.bypass-permissions",
  title: "Bypass Permissions warning",
  anchors: [/Bypass Permissions mode/, /Yes, I accept/, /No, exit/],
  choose: () => ({ kind: "option", label: /^Yes, I accept/, says: "Yes, I accept" }),
};

const CLAUDE_DIALOGS: readonly DialogSpec[] = [
  {
    id: "claude.workspace-trust",
    title: "workspace trust",
    anchors: [
      /Accessing workspace|Do you trust the files in this folder|Is this a project you created or one you trust/,
      /Yes, I trust this folder/,
      /No, exit/,
    ],
    choose: (answers) =>
      answers.workspaceTrust
        ? { kind: "option", label: /^Yes, I trust this folder/, says: "Yes, I trust this folder" }
        : { kind: "leave", why: "workspace trust is answered by a person (agent_dialogs.workspace_trust)" },
  },
  BYPASS_PERMISSIONS_DIALOG,
  {
    id: "claude.custom-api-key",
    title: '"Detected a custom API key"',
    anchors: [/Detected a custom API key/, /Do you want to use this API key\?/],
    choose: (answers) =>
      answers.customApiKey === "use"
        ? { kind: "option", label: /^Yes\b/, says: "Yes" }
        : answers.customApiKey === "decline"
          ? { kind: "option", label: /^No\b/, says: "No" }
          : { kind: "keep-default" },
  },
  {
    id: "claude.mcp-server",
    title: '"New MCP server found"',
    anchors: [/New MCP server found/, /Continue without using this MCP server/],
    choose: () => ({
      kind: "option",
      label: /^Continue without using this MCP server/,
      says: "Continue without using this MCP server",
    }),
  },
  {
    id: "claude.theme",
    title: "theme picker",
    anchors: [/Choose the text style/, /Dark mode|Light mode/],
    choose: () => ({ kind: "keep-default" }),
  },
];

const CODEX_DIALOGS: readonly DialogSpec[] = [
  {
    id: "codex.workspace-trust",
    title: "workspace trust",
    anchors: [/Do you trust the contents of this directory\?/, /^\s*(?:❯|›)?\s*(?:\d\.\s*)?Yes/],
    choose: (answers) =>
      answers.workspaceTrust
        ? { kind: "option", label: /^Yes/, says: "Yes" }
        : { kind: "leave", why: "workspace trust is answered by a person (agent_dialogs.workspace_trust)" },
  },
];

/** Claude Code refuses these at once; each is a configuration problem, not a crash. */
const CLAUDE_START_FAILURES: readonly StartFailurePattern[] = [
  {
    pattern: /--dangerously-skip-permissions cannot be used with root\/sudo privileges/,
    cause: "claude refuses --dangerously-skip-permissions when run as root",
    fix: 'run townd as a non-root user, or, inside a sandboxed container, set "IS_SANDBOX": "1" in agents.claude.env',
  },
  {
    pattern: /Unable to connect to Anthropic services/,
    cause: "claude cannot reach Anthropic's servers",
    fix: "check the network, or complete claude's first-run onboarding once as the town's user",
  },
];

/** Failures any CLI can show: the shell or the exec could not find or run the program. */
const COMMON_START_FAILURES: readonly StartFailurePattern[] = [
  {
    pattern: /command not found|No such file or directory|not found in PATH|ENOENT/,
    cause: "the agent's command was not found",
    fix: "install the CLI, or set agents.<name>.command to its absolute path in settings/config.json",
  },
  {
    pattern: /Permission denied|EACCES/,
    cause: "the agent's command cannot be executed (permission denied)",
    fix: "make the command executable by the town's user",
  },
];

/**
 * CLIs that exit when they are not logged in. Not Claude's: it stays up logged out and shows "Not logged
 * in" in its status line, so those words on a dead Claude pane say nothing about why it died.
 */
const LOGIN_START_FAILURES: readonly StartFailurePattern[] = [
  {
    pattern:
      /Not logged in|Please (run )?\/?log ?in|Invalid API key|authentication[_ ]failed|log ?in required/i,
    cause: "the CLI is not logged in",
    fix: "log the CLI in once as the town's user",
  },
];

/** Claude's input line: the `❯` prompt with nothing typed after it (placeholders are drawn dim). */
export function claudeEmptyInput(line: ScreenLine): boolean {
  const text = line.text.replace(/^[\s│┃|]+/, "");
  if (!text.startsWith("❯")) return false;
  const solid = line.solid.replace(/^[\s│┃|]+/, "");
  return solid === "❯" || (solid.startsWith("❯") && solid.slice(1).trim() === "");
}

function claudeReady(screen: Screen): boolean {
  return lastLines(screen, 8).some(claudeEmptyInput);
}

const PROFILES: Readonly<Record<ProfileName, RuntimeProfile>> = {
  claude: {
    name: "claude",
    dialogs: CLAUDE_DIALOGS,
    ready: claudeReady,
    startFailures: [...CLAUDE_START_FAILURES, ...COMMON_START_FAILURES],
  },
  codex: {
    name: "codex",
    dialogs: CODEX_DIALOGS,
    ready: null,
    startFailures: [...COMMON_START_FAILURES, ...LOGIN_START_FAILURES],
  },
  gemini: {
    name: "gemini",
    dialogs: [],
    ready: null,
    startFailures: [...COMMON_START_FAILURES, ...LOGIN_START_FAILURES],
  },
  generic: {
    name: "generic",
    dialogs: [],
    ready: null,
    startFailures: [...COMMON_START_FAILURES, ...LOGIN_START_FAILURES],
  },
};

export function runtimeProfile(name: ProfileName): RuntimeProfile {
  return PROFILES[name];
}

/** The first start-failure message in the last lines a dead pane showed, or null. */
export function matchStartFailure(
  profile: RuntimeProfile,
  lastText: string,
): { cause: string; fix: string; line: string } | null {
  // A dead pane keeps its whole screen: the message can stand far above tmux's "Pane is dead" line.
  const lines = lastText
    .split("\n")
    .filter((line) => line.trim() !== "")
    .slice(-20);
  for (const failure of profile.startFailures) {
    const line = lines.find((l) => failure.pattern.test(l));
    if (line !== undefined) return { cause: failure.cause, fix: failure.fix, line: line.trim() };
  }
  return null;
}
