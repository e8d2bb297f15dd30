import { lstatSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { errnoCode, errorMessage } from "../../errors.js";
import { writeFileAtomicPrivateSync } from "../../util/private-file.js";
import { readTextFileSafe } from "../../util/safe-read.js";
import { shellQuote } from "../../tmux/format.js";

/**
 * The Claude Code settings townd passes to every Claude agent with `--settings daemon/claude-settings.json`
 * (Claude merges them with the user's own): a command hook per event that appends one line to
 * daemon/hook-events, and a statusline that keeps each agent's statusline JSON in daemon/statusline/ and then
 * prints what the user's own statusline prints.
 *
 * Every command is plain `sh` (no Node start-up per event), never fails or blocks the agent's turn (errors
 * go nowhere, `exit 0`, a short timeout), and writes its line with one `printf` to an O_APPEND file, so the
 * lines of agents writing at once never interleave.
 */

/** The events townd registers a hook for. */
export const HOOK_EVENTS = [
  "SessionStart",
  "SessionEnd",
  "UserPromptSubmit",
  "PreToolUse",
  "PostToolUse",
  "PostToolUseFailure",
  "PermissionRequest",
  "Notification",
  "Stop",
  "StopFailure",
  "PreCompact",
  "PostCompact",
  "SubagentStart",
  "SubagentStop",
] as const;
export type HookEventName = (typeof HOOK_EVENTS)[number];

/** The most of a payload a hook line carries; the rest is read and dropped (a cut payload still names its event). */
export const HOOK_PAYLOAD_MAX_BYTES = 65_536;
/** Seconds Claude waits for one hook or statusline command. */
export const HOOK_TIMEOUT_SECONDS = 5;

export interface ClaudeSettingsPaths {
  /** The settings file (daemon/claude-settings.json). */
  readonly settingsFile: string;
  /** Where hooks append their lines (daemon/hook-events). */
  readonly eventsFile: string;
  /** Where the statusline keeps `<generation>.json` (daemon/statusline). */
  readonly statuslineDir: string;
}

export function claudeSettingsPaths(daemonDir: string): ClaudeSettingsPaths {
  return {
    settingsFile: join(daemonDir, "claude-settings.json"),
    eventsFile: join(daemonDir, "hook-events"),
    statuslineDir: join(daemonDir, "statusline"),
  };
}

/** The arguments that make Claude load townd's settings. */
export function claudeSettingsArgs(settingsFile: string): string[] {
  return ["--settings", settingsFile];
}

/**
 * Sets `g` to TOWND_GENERATION when it is a plain id, else to `invalid` (a variable with a tab or a newline in
 * it must not split or forge a line); no process is started for it.
 */
const GENERATION =
  'case "$TOWND_GENERATION" in ""|*[!A-Za-z0-9_-]*) g=invalid ;; *) g=$TOWND_GENERATION ;; esac';

/**
 * A line must reach the file in ONE write(2) for O_APPEND to keep concurrent agents' lines whole. dash (the
 * usual /bin/sh on Linux) writes a builtin printf's whole output at once; bash and zsh write through a stdio
 * buffer, in pieces of the file's block size (4 KiB on most file systems), so under them the payload is cut
 * to BASH_PAYLOAD_MAX_BYTES. The check costs no process.
 */
export const BASH_PAYLOAD_MAX_BYTES = 3_968;
const PAYLOAD_CAP = `n=${HOOK_PAYLOAD_MAX_BYTES}; [ -z "\${BASH_VERSION-}\${ZSH_VERSION-}" ] || n=${BASH_PAYLOAD_MAX_BYTES}`;

/** Reads stdin: the first $n bytes without CR/LF, the rest drained so the writer never blocks. */
const READ_PAYLOAD = `{ head -c "$n" | tr -d '\\r\\n'; cat >/dev/null; }`;

/**
 * The command of one event's hook: one line `<generation>\t<event>\t<payload>\n` appended in one write (the
 * newline is part of the variable: dash writes `printf '%s\n'` as two writes).
 */
export function hookCommand(event: HookEventName, eventsFile: string): string {
  return [
    "umask 077",
    GENERATION,
    PAYLOAD_CAP,
    `p=$(${READ_PAYLOAD} 2>/dev/null)`,
    `line="$g	${event}	$p
"`,
    `{ printf '%s' "$line" >> ${shellQuote(eventsFile)}; } 2>/dev/null`,
    "exit 0",
  ].join("; ");
}

/**
 * The statusline command: keeps the JSON as `<dir>/<generation>.json` (a temp file renamed over it), then
 * pipes the same JSON into the user's own statusline command, whose output is what Claude shows.
 */
export function statuslineCommand(statuslineDir: string, userCommand: string | null): string {
  const dir = shellQuote(statuslineDir);
  const parts = [
    "umask 077",
    GENERATION,
    `n=${HOOK_PAYLOAD_MAX_BYTES}`,
    `j=$(${READ_PAYLOAD} 2>/dev/null)`,
    `t=${dir}/".$g.$$.tmp"`,
    `{ printf '%s\\n' "$j" > "$t" && mv -f "$t" ${dir}/"$g.json" || rm -f "$t"; } 2>/dev/null`,
  ];
  if (userCommand !== null) parts.push(`printf '%s\\n' "$j" | sh -c ${shellQuote(userCommand)}`);
  parts.push("exit 0");
  return parts.join("; ");
}

/** The settings file's text: a pure function of the paths and the user's statusline command. */
export function renderClaudeSettings(paths: ClaudeSettingsPaths, userStatusline: string | null): string {
  const hooks: Record<string, unknown> = {};
  for (const event of HOOK_EVENTS) {
    hooks[event] = [
      {
        matcher: "*",
        hooks: [
          { type: "command", command: hookCommand(event, paths.eventsFile), timeout: HOOK_TIMEOUT_SECONDS },
        ],
      },
    ];
  }
  const settings = {
    hooks,
    statusLine: {
      type: "command",
      command: statuslineCommand(paths.statuslineDir, userStatusline),
      padding: 0,
    },
  };
  return `${JSON.stringify(settings, null, 2)}\n`;
}

/** The most of the user's settings.json that is read. */
const USER_SETTINGS_MAX_BYTES = 1024 * 1024;

/**
 * The user's own statusline command, from `<home>/.claude/settings.json` `statusLine.command`; null when there
 * is none or the file cannot be read (a broken user file must not stop an agent's start).
 */
export function userStatuslineCommand(home: string | undefined): string | null {
  if (home === undefined || home === "") return null;
  try {
    const text = readTextFileSafe(join(home, ".claude", "settings.json"), {
      maxBytes: USER_SETTINGS_MAX_BYTES,
    });
    if (text === undefined) return null;
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null) return null;
    const statusLine = (parsed as { statusLine?: unknown }).statusLine;
    if (typeof statusLine !== "object" || statusLine === null) return null;
    const command = (statusLine as { command?: unknown }).command;
    return typeof command === "string" && command.trim() !== "" ? command : null;
  } catch {
    return null;
  }
}

export interface EnsureResult {
  /** Whether the file was (re)written now. */
  readonly written: boolean;
}

/**
 * Makes daemon/claude-settings.json hold renderClaudeSettings(…) for `home` (the agent's HOME), writing it
 * (owner-only, atomically) only when it is missing or differs, and creates daemon/statusline/. Throws when the
 * file cannot be written.
 */
export function ensureClaudeSettings(paths: ClaudeSettingsPaths, home: string | undefined): EnsureResult {
  const content = renderClaudeSettings(paths, userStatuslineCommand(home));
  try {
    mkdirSync(paths.statuslineDir, { mode: 0o700 });
  } catch (error) {
    if (errnoCode(error) !== "EEXIST") throw error;
  }
  let current: string | undefined;
  try {
    current = readTextFileSafe(paths.settingsFile, { noFollow: true });
  } catch {
    current = undefined;
  }
  if (current === content) return { written: false };
  writeFileAtomicPrivateSync(paths.settingsFile, content);
  return { written: true };
}

/** ensureClaudeSettings that reports a problem as one line instead of throwing. */
export function tryEnsureClaudeSettings(
  paths: ClaudeSettingsPaths,
  home: string | undefined,
): { ok: true; written: boolean } | { ok: false; problem: string; present: boolean } {
  try {
    return { ok: true, written: ensureClaudeSettings(paths, home).written };
  } catch (error) {
    return {
      ok: false,
      problem: `cannot write ${paths.settingsFile}: ${errorMessage(error)}`,
      present: lstatSync(paths.settingsFile, { throwIfNoEntry: false })?.isFile() === true,
    };
  }
}
