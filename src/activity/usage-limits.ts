import { findResetPhrase, localTimeZone, resolveReset } from "./reset-time.js";
import type { ScreenLine } from "./screen.js";
import type { UsageLimitKind } from "./state.js";

/**
 * Usage-limit walls as agent CLIs draw them at the bottom of their screen: Claude Code's banners
 * (`You've hit your session limit · resets 4:20pm (Asia/Tbilisi)`), its `/rate-limit-options` and spend-cap
 * menus, Codex's `You've hit your usage limit … try again at 3:05 PM`, Gemini's `Usage limit reached` menu.
 *
 * Only the last few lines count, and a banner must open its line (after a bullet, a box border or an
 * `Error:` label), so a hypothetical (`if you hit your limit`) or a quotation is none. Words an agent prints
 * in its own output (`HTTP 429 Too Many Requests`, `rate limit exceeded`) and the warnings that do not stop
 * a turn (`You've used 90% of your session limit`, `Approaching usage limit`) are no wall either.
 */
export interface UsageLimitReading {
  readonly limit: UsageLimitKind;
  /** When the wall lifts (epoch ms), or null when the screen does not say (never invented). */
  readonly resetsAt: number | null;
  /** The banner line, trimmed, at most 200 characters. */
  readonly detail: string;
}

/** How many non-blank lines from the bottom a banner must stand in. */
export const USAGE_LIMIT_WINDOW = 8;

const MAX_DETAIL = 200;

/** Bullets, tree branches and borders a CLI draws before a message, and an `Error:` label. */
const LEAD = String.raw`^[\s│┃|⎿■●•✗✘✕✖⚠!▲>-]*(?:(?:API\s+)?Error:\s*)?`;

/** A banner: the pattern opens its line; `limit` says which wall it is from the words matched. */
interface BannerSign {
  readonly pattern: RegExp;
  readonly limit: (match: RegExpExecArray) => UsageLimitKind;
}

const opening = (body: string): RegExp => new RegExp(LEAD + body, "i");

const BANNERS: readonly BannerSign[] = [
  // "You've hit your session limit", "You've reached your Fable 5 limit", Codex's "usage limit"; the
  // anchored "hit|reached|exceeded your|the … limit", said to the reader, never a rate limit.
  {
    pattern: opening(
      String.raw`You(?:'ve|\s+have)?\s+(?:hit|reached|exceeded)\s+(?:your|the)\s+((?:(?!rate\b)[a-z0-9.-]+\s+){0,3})limit\b`,
    ),
    limit: (match) => limitNamed(match[1] ?? ""),
  },
  { pattern: opening(String.raw`You're out of extra usage`), limit: () => "spend" },
  {
    pattern: opening(String.raw`You're out of usage(\s+credits)?`),
    limit: (m) => (m[1] ? "spend" : "unknown"),
  },
  { pattern: opening(String.raw`You hit your spend cap`), limit: () => "spend" },
  { pattern: opening(String.raw`Your (?:workspace|org) is out of credits`), limit: () => "spend" },
  { pattern: opening(String.raw`Your org is out of usage`), limit: () => "unknown" },
  { pattern: opening(String.raw`Your usage allocation has been disabled`), limit: () => "spend" },
  { pattern: opening(String.raw`Your seat type doesn't include (?:extra )?usage`), limit: () => "unknown" },
  { pattern: opening(String.raw`Your group's usage limit`), limit: () => "unknown" },
  { pattern: opening(String.raw`This service is disabled for your org`), limit: () => "unknown" },
  {
    pattern: opening(String.raw`[A-Z][\w.-]*(?: [\w.-]+){0,2} requires usage credits`),
    limit: () => "model",
  },
  // The 2025 wordings: "Claude usage limit reached. Your limit will reset at 12am.", and
  // "Claude AI usage limit reached|1749924000" with the reset in epoch seconds.
  { pattern: opening(String.raw`Claude (?:AI )?usage limit reached`), limit: () => "unknown" },
];

/** A wall drawn as a menu: every anchor on a line of its own within the window. */
interface MenuSign {
  readonly anchors: readonly RegExp[];
  readonly limit: UsageLimitKind;
  /** Whether the menu can carry a reset time; the spend cap has none. */
  readonly resets: boolean;
  readonly title: string;
}

const MENUS: readonly MenuSign[] = [
  {
    // The spend cap first: its "Wait for limit to reset" option has no time.
    anchors: [/Usage credit balance/i, /Adjust monthly spend limit/i, /Wait for limit to reset/i],
    limit: "spend",
    resets: false,
    title: "the spend-limit menu",
  },
  {
    anchors: [/What do you want to do\?/i, /Stop and wait for limit to reset/i],
    limit: "unknown",
    resets: true,
    title: "the rate-limit options menu",
  },
  {
    anchors: [opening(String.raw`Usage limit reached`), /^[\s│●○❯›>]*(?:\d\.\s*)?Keep trying\b/i],
    limit: "unknown",
    resets: true,
    title: "the usage-limit menu",
  },
];

/** The words before "limit" name the wall: session, weekly, spend, a model's, or none of these. */
function limitNamed(words: string): UsageLimitKind {
  const w = words.trim().toLowerCase();
  if (w === "" || /^(?:usage|plan|account)$/.test(w)) return "unknown";
  if (/\b(?:session|5-hour|five-hour|daily)\b/.test(w)) return "session";
  if (/\b(?:weekly|7-day|seven-day)\b/.test(w)) return "weekly";
  if (/\b(?:spend|spending|monthly|credit|billing)\b/.test(w)) return "spend";
  if (/\busage\b/.test(w)) return "unknown";
  return "model";
}

/** Lines that end a banner's wrapped text: rules, the input line, a menu's options. */
const NOT_CONTINUATION = /^\s*(?:[─━═-]{3,}|[❯›>]|\d\.\s)/;

export interface UsageLimitOptions {
  /** The zone a banner's time is read in when it names none: the machine's by default. */
  readonly localZone?: string;
}

/**
 * The usage-limit wall the screen's last lines show, or null. `seenAt` (epoch ms) is when the screen was
 * captured: a bare reset time means its next occurrence after it.
 */
export function readUsageLimit(
  lines: readonly ScreenLine[],
  seenAt: number,
  options: UsageLimitOptions = {},
): UsageLimitReading | null {
  const window = lines
    .map((line) => line.text)
    .filter((text) => text.trim() !== "")
    .slice(-USAGE_LIMIT_WINDOW);
  // Only a screen showing a banner needs it, and asking Intl for it costs about a millisecond.
  const localZone = (): string => options.localZone ?? localTimeZone();
  for (let i = 0; i < window.length; i += 1) {
    const text = window[i] ?? "";
    for (const banner of BANNERS) {
      const match = banner.pattern.exec(text);
      if (match === null) continue;
      // A banner wraps on a narrow pane: its reset time can stand on the next lines.
      const wrapped = [text];
      for (const next of window.slice(i + 1, i + 3)) {
        if (NOT_CONTINUATION.test(next)) break;
        wrapped.push(next.trim());
      }
      const resets = readReset(wrapped.join(" "), seenAt, localZone());
      let limit = banner.limit(match);
      // A dated reset is a weekly wall's: session walls reset within hours.
      if (limit === "unknown" && resets.dated) limit = "weekly";
      return { limit, resetsAt: resets.at, detail: describe(text, resets.error) };
    }
  }
  for (const menu of MENUS) {
    const found = menu.anchors.map((anchor) => window.find((text) => anchor.test(text)));
    if (found.some((text) => text === undefined)) continue;
    const resets = menu.resets ? readReset(window.join(" "), seenAt, localZone()) : NO_RESET;
    const limit = menu.limit === "unknown" && resets.dated ? "weekly" : menu.limit;
    return { limit, resetsAt: resets.at, detail: describe(found[0] ?? menu.title, resets.error) };
  }
  return null;
}

interface Reset {
  readonly at: number | null;
  readonly dated: boolean;
  readonly error: string | null;
}

const NO_RESET: Reset = { at: null, dated: false, error: null };

function readReset(text: string, seenAt: number, localZone: string): Reset {
  const epoch = /usage limit reached\|(\d{10})\b/i.exec(text);
  if (epoch !== null) return { at: Number(epoch[1]) * 1000, dated: false, error: null };
  const phrase = findResetPhrase(text);
  if (phrase === null) return NO_RESET;
  const dated = phrase.kind === "wall" && phrase.wall.date !== null;
  const resolved = resolveReset(phrase, seenAt, localZone);
  return "at" in resolved
    ? { at: resolved.at, dated, error: null }
    : { at: null, dated, error: `reset time not understood: ${resolved.error}` };
}

function describe(line: string, error: string | null): string {
  const banner = line.trim();
  if (error === null) return clip(banner);
  const note = ` (${error})`;
  return clip(banner.slice(0, Math.max(0, MAX_DETAIL - note.length)) + note);
}

function clip(text: string): string {
  return text.length <= MAX_DETAIL ? text : `${text.slice(0, MAX_DETAIL - 1)}…`;
}
