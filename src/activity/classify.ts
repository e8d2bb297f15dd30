import { DEFAULT_DIALOG_ANSWERS, DIALOG_WINDOW_LINES, readDialog } from "./dialogs.js";
import type { RuntimeProfile } from "./profiles.js";
import { lastLines, type Screen, type ScreenLine } from "./screen.js";
import {
  PERMISSION_WINDOW,
  screenSigns,
  SPINNER_WINDOW,
  STATE_WINDOW,
  type PermissionSign,
} from "./screen-signs.js";
import type { ActivityReading } from "./state.js";
import { readUsageLimit, type UsageLimitOptions } from "./usage-limits.js";

/**
 * What an agent's screen says it is doing, read from its last lines only, or null when the screen shows
 * nothing the profile knows. In order, as an earlier sign hides a later one: a usage-limit wall, a
 * permission prompt, a start-up dialog, an unknown menu or dialog, a compaction, a working agent, the
 * empty input line (idle, or auth-required when the CLI says it is not logged in).
 *
 * One reading is a glimpse: Claude's `❯` flashes between tool calls, so a caller acts only on a state
 * seen twice (confirm.ts).
 */
export function classifyScreen(
  screen: Screen,
  profile: RuntimeProfile,
  seenAt: number,
  options: UsageLimitOptions = {},
): ActivityReading | null {
  const signs = screenSigns(profile.name);
  const last = lastLines(screen, SPINNER_WINDOW);
  const bottom = last.slice(-STATE_WINDOW);

  const wall = readUsageLimit(bottom, seenAt, options);
  if (wall !== null) {
    return reading("rate-limited", wall.detail, { resetsAt: wall.resetsAt, limit: wall.limit });
  }

  const window = screen.lines.slice(-DIALOG_WINDOW_LINES);
  if (signs.permission !== null) {
    const asked = permissionAsked(window, signs.permission);
    if (asked !== null) return reading("awaiting-permission", asked);
  }

  // A menu above the empty input line is gone from the CLI's view (scrollback), not waiting for a key.
  const inputAt = signs.emptyInput === null ? -1 : window.findLastIndex(signs.emptyInput);
  const dialog = readDialog(window.slice(inputAt + 1), profile.dialogs, DEFAULT_DIALOG_ANSWERS);
  if (dialog.kind === "answer" || dialog.kind === "leave") {
    return reading("dialog", `the ${dialog.dialog.title} dialog`);
  }
  if (dialog.kind === "unknown") return reading("needs-human", clip(dialog.why));

  const compacting = found(bottom, signs.compacting);
  if (compacting !== undefined) return reading("compacting", compacting.text.trim());
  const busy = found(last, signs.spinner) ?? found(bottom, signs.busyFooter);
  if (busy !== undefined) return reading("working", clip(busy.text.trim()));

  const queued = signs.queued;
  if (queued !== null && bottom.some((line) => queued.test(line.text))) return null;
  if (signs.emptyInput === null || !bottom.some(signs.emptyInput)) return null;
  const loggedOut = found(bottom, signs.loggedOut);
  if (loggedOut !== undefined) {
    const words = signs.loggedOut.map((pattern) => pattern.exec(loggedOut.text)?.[0]).find((w) => w);
    return reading("auth-required", words ?? loggedOut.text.trim());
  }
  return reading("idle", "the empty input line");
}

function reading(
  state: ActivityReading["state"],
  detail: string,
  extra: Pick<ActivityReading, "resetsAt" | "limit"> = {},
): ActivityReading {
  return { state, source: "screen", detail, ...extra };
}

/** The last line that matches one of the patterns. */
function found(lines: readonly ScreenLine[], patterns: readonly RegExp[]): ScreenLine | undefined {
  return lines.findLast((line) => patterns.some((pattern) => pattern.test(line.text)));
}

const BORDER = /^[\s│┃|]+|[\s│┃|]+$/g;
const RULE = /^\s*[╭╰┌└]?[─━═]{3,}/;

/**
 * A permission prompt in the window's last lines, described by what it asks about: `Bash command: npm
 * test`, `Edit file: Do you want to make this edit to app.ts?`, or the question alone.
 */
function permissionAsked(window: readonly ScreenLine[], sign: PermissionSign): string | null {
  const texts = window.map((line) => line.text.replace(BORDER, ""));
  const recent = nonBlankIndexes(texts).slice(-PERMISSION_WINDOW);
  const questionAt = recent.findLast((i) => sign.question.test(texts[i] ?? ""));
  if (questionAt === undefined) return null;
  const confirmed = sign.confirm.some((pattern) => recent.some((i) => pattern.test(texts[i] ?? "")));
  if (!confirmed) return null;
  const question = (texts[questionAt] ?? "").trim();
  // The dialog's title is the first line under the rule that opens it.
  const ruleAt = texts.slice(0, questionAt).findLastIndex((text) => RULE.test(text));
  if (ruleAt === -1) return clip(question);
  const body = nonBlankIndexes(texts.slice(ruleAt + 1, questionAt)).map((i) =>
    (texts[ruleAt + 1 + i] ?? "").trim(),
  );
  const [title, next] = body;
  if (title === undefined) return clip(question);
  if (sign.commandTitle.test(title) && next !== undefined) return clip(`${title}: ${next}`);
  return clip(`${title}: ${question}`);
}

function nonBlankIndexes(texts: readonly string[]): number[] {
  return texts.flatMap((text, i) => (text.trim() === "" ? [] : [i]));
}

function clip(text: string): string {
  return text.length <= 200 ? text : `${text.slice(0, 199)}…`;
}
