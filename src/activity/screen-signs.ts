import { claudeEmptyInput, type ProfileName } from "./profiles.js";
import type { ScreenLine } from "./screen.js";

/**
 * What one agent CLI's screen shows in each activity state, as data: the classifier (classify.ts) reads
 * these, in its own order, from the screen's last lines. A profile without a sign for a state never
 * reports that state from the screen: townd does not guess what it has not seen the CLI draw.
 */
export interface ScreenSigns {
  /** A tool permission prompt: its question, plus one of `confirm` among the same lines. */
  readonly permission: PermissionSign | null;
  /** A line showing a compaction in progress. */
  readonly compacting: readonly RegExp[];
  /** A live spinner: looked for a little higher up, as a task list can hang below it. */
  readonly spinner: readonly RegExp[];
  /** A line of the footer that only a working agent shows. */
  readonly busyFooter: readonly RegExp[];
  /** The input line holds messages queued for after the current turn: not idle. */
  readonly queued: RegExp | null;
  /** The input line, empty and waiting. */
  readonly emptyInput: ((line: ScreenLine) => boolean) | null;
  /** The CLI says it is not logged in (its footer, or the error a turn ended with). */
  readonly loggedOut: readonly RegExp[];
}

export interface PermissionSign {
  readonly question: RegExp;
  readonly confirm: readonly RegExp[];
  /** The dialog's title line whose next line is the command asked about. */
  readonly commandTitle: RegExp;
}

/** Non-blank lines from the bottom the idle, login and footer signs must stand in. */
export const STATE_WINDOW = 8;
/** Non-blank lines from the bottom a spinner or a permission question may stand in. */
export const SPINNER_WINDOW = 16;
export const PERMISSION_WINDOW = 12;

/**
 * Claude Code's spinner: a glyph, a gerund, `…`, and a live timer (`✶ Pondering… (12s · ↓ 340 tokens)`).
 * The post-turn summary (`✻ Crunched for 1s`) has the glyph but neither the `…` nor the timer.
 */
const CLAUDE_SPINNER = /^[^\S\n]*[·✢✳✶✻✼✽][^\n]*…\s*\(\s*\d/u;

const CLAUDE: ScreenSigns = {
  permission: {
    question: /\bDo you want to (?:proceed|make this edit|create|allow)\b/,
    confirm: [/^[\s│┃|]*(?:❯\s*)?1\.\s*Yes\b/, /Esc to cancel · Tab to amend/],
    commandTitle: /^Bash command$/,
  },
  compacting: [/^[^\S\n]*[·✢✳✶✻✼✽*]\s*Compacting conversation(?:…|\.\.\.)/u],
  spinner: [CLAUDE_SPINNER],
  busyFooter: [/\besc to interrupt\b/i],
  queued: /^[\s│┃|]*❯\s*Press up to edit queued messages/,
  emptyInput: claudeEmptyInput,
  loggedOut: [/\b(?:Not logged in|Invalid API key)\s*·\s*(?:Please\s+)?run \/login\b/i],
};

/** Generic rules only: usage limits and menus are read for every CLI; nothing else is guessed. */
const NONE: ScreenSigns = {
  permission: null,
  compacting: [],
  spinner: [],
  busyFooter: [],
  queued: null,
  emptyInput: null,
  loggedOut: [],
};

const SIGNS: Readonly<Record<ProfileName, ScreenSigns>> = {
  claude: CLAUDE,
  codex: NONE,
  gemini: NONE,
  generic: NONE,
};

export function screenSigns(profile: ProfileName): ScreenSigns {
  return SIGNS[profile];
}
