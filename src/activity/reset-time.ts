/**
 * When a usage limit lifts, from the words of the banner that announces it: `resets 4:20pm (Asia/Tbilisi)`,
 * `resets Dec 8, 2026, 4pm (UTC)`, `resets 13:30 (Europe/Madrid)`, `Your limit will reset at 12am.`,
 * `try again at Sep 1st, 2026 10:37 PM`, `try again in 3 hours 2 minutes`. A wall-clock time is read in the
 * banner's time zone (the machine's when the banner names none) with `Intl.DateTimeFormat`, so daylight
 * saving time is the zone database's, not a guess. Nothing here invents a time: no phrase, no time.
 */

/** A reset time as a banner words it. */
export type ResetPhrase =
  { readonly kind: "wall"; readonly wall: WallTime } | { readonly kind: "after"; readonly ms: number };

export interface WallTime {
  readonly hour: number;
  readonly minute: number;
  /** The date the banner gives (a weekly wall), or null: the next time the clock shows `hour:minute`. */
  readonly date: { readonly year: number | null; readonly month: number; readonly day: number } | null;
  /** The zone the banner names (`Asia/Tbilisi`, `UTC`, `GMT+4`), or null for the machine's. */
  readonly zone: string | null;
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const MONTH =
  "Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?";

/**
 * `resets` / `reset at` / `try again at`, an optional date (`Dec 8,` `Dec 8, 2026,` `Sep 1st, 2026`), a
 * time (`4pm`, `4:20pm`, `10:37 PM`, `13:30`), and an optional zone: `(Area/City)`, or a bare `UTC`/`GMT`
 * with an optional offset.
 */
const WALL_RESET = new RegExp(
  String.raw`\b(?:resets?(?:\s+(?:at|on))?|try again at)\s+` +
    String.raw`(?:(${MONTH})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(?:(\d{4}),?\s+)?(?:at\s+)?)?` +
    String.raw`(\d{1,2})(?::(\d{2}))?(?:\s*([ap])\.?m\b\.?)?` +
    String.raw`(?:\s*\(([^)]{1,64})\)|\s+((?:UTC|GMT)(?:[+-]\d{1,2}(?::?\d{2})?)?)\b)?`,
  "i",
);

const AFTER_RESET =
  /\b(?:resets?|try again)\s+in\s+((?:\d+\s*(?:days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)\b[\s,]*(?:and\s+)?)+)/i;

const UNIT_MS: Readonly<Record<string, number>> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };

/** The first reset phrase in `text`, or null when it names no time (`try again later`). */
export function findResetPhrase(text: string): ResetPhrase | null {
  const wall = WALL_RESET.exec(text);
  if (wall !== null) {
    const [, monthName, dayText, yearText, hourText, minuteText, meridiem, bracketed, bare] = wall;
    const time = clockTime(Number(hourText), minuteText, meridiem);
    if (time !== null) {
      const month = monthName === undefined ? -1 : MONTHS.indexOf(monthName.slice(0, 3).toLowerCase()) + 1;
      const date =
        month > 0
          ? { year: yearText === undefined ? null : Number(yearText), month, day: Number(dayText) }
          : null;
      const zone = (bracketed ?? bare)?.trim() ?? null;
      return { kind: "wall", wall: { ...time, date, zone } };
    }
  }
  const after = AFTER_RESET.exec(text);
  if (after !== null) {
    let ms = 0;
    for (const [, amount, unit] of (after[1] ?? "").matchAll(/(\d+)\s*([a-z]+)/gi)) {
      ms += Number(amount) * (UNIT_MS[(unit ?? "").charAt(0).toLowerCase()] ?? 0);
    }
    if (ms > 0) return { kind: "after", ms };
  }
  return null;
}

/** A 12-hour time needs its am/pm; a time without one is a 24-hour `HH:MM`. */
function clockTime(
  hour: number,
  minuteText: string | undefined,
  meridiem: string | undefined,
): { hour: number; minute: number } | null {
  const minute = minuteText === undefined ? 0 : Number(minuteText);
  if (minute > 59) return null;
  if (meridiem === undefined) {
    if (minuteText === undefined || hour > 23) return null;
    return { hour, minute };
  }
  if (hour < 1 || hour > 12) return null;
  const pm = meridiem.toLowerCase() === "p";
  return { hour: (hour % 12) + (pm ? 12 : 0), minute };
}

/**
 * The instant (epoch ms) a phrase means, seen at `seenAt`: a bare time is its next occurrence strictly
 * after `seenAt`; a dated time is that date (with no year, the next such date not before the day before
 * `seenAt`'s). An error names what could not be read (an unknown zone, a date that does not exist).
 */
export function resolveReset(
  phrase: ResetPhrase,
  seenAt: number,
  localZone: string,
): { readonly at: number } | { readonly error: string } {
  if (phrase.kind === "after") return { at: seenAt + phrase.ms };
  const { wall } = phrase;
  const zone = timeZone(wall.zone ?? localZone);
  if (zone === null) return { error: `unknown time zone "${wall.zone ?? localZone}"` };
  const today = zone.dateAt(seenAt);
  if (wall.date !== null) {
    const { month, day } = wall.date;
    let year = wall.date.year ?? today.year;
    if (
      wall.date.year === null &&
      Date.UTC(year, month - 1, day) < Date.UTC(today.year, today.month - 1, today.day - 1)
    ) {
      year += 1;
    }
    if (new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day) {
      return { error: `no such date (${year}-${month}-${day})` };
    }
    return { at: zonedInstant(zone, { year, month, day }, wall.hour, wall.minute) };
  }
  // Today's occurrence, else tomorrow's (two days ahead only when a DST jump swallows the hour).
  for (let ahead = 0; ahead <= 2; ahead += 1) {
    const date = addDays(today, ahead);
    const at = zonedInstant(zone, date, wall.hour, wall.minute);
    if (at > seenAt) return { at };
  }
  return { error: "no next occurrence" };
}

export interface CalendarDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

/** A time zone as the arithmetic needs it: its offset from UTC at an instant. */
export interface Zone {
  /** Local time minus UTC at `at`, in ms. */
  readonly offsetAt: (at: number) => number;
  /** The calendar date the zone's clocks show at `at`. */
  readonly dateAt: (at: number) => CalendarDate;
}

const zones = new Map<string, Zone | null>();

/** A zone by IANA name, or a fixed `UTC+4` / `GMT-03:30`; null when the name is unknown. */
export function timeZone(name: string): Zone | null {
  const known = zones.get(name);
  if (known !== undefined) return known;
  const zone = fixedZone(name) ?? ianaZone(name);
  if (zones.size < 64) zones.set(name, zone);
  return zone;
}

function fixedZone(name: string): Zone | null {
  const match = /^(?:UTC|GMT)([+-])(\d{1,2})(?::?(\d{2}))?$/i.exec(name);
  if (match === null) return null;
  const [, sign, hours, minutes] = match;
  const offset = (sign === "-" ? -1 : 1) * (Number(hours) * 60 + Number(minutes ?? 0)) * 60_000;
  if (Math.abs(offset) > 14 * 3_600_000) return null;
  return { offsetAt: () => offset, dateAt: (at) => utcDate(at + offset) };
}

function ianaZone(name: string): Zone | null {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: name,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
  } catch {
    return null;
  }
  const fields = (at: number): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const part of format.formatToParts(at)) {
      if (part.type !== "literal") out[part.type] = Number(part.value);
    }
    return out;
  };
  return {
    offsetAt: (at) => {
      const f = fields(at);
      const local = Date.UTC(
        f.year ?? 0,
        (f.month ?? 1) - 1,
        f.day ?? 1,
        (f.hour ?? 0) % 24,
        f.minute,
        f.second,
      );
      return local - (at - (((at % 1000) + 1000) % 1000));
    },
    dateAt: (at) => {
      const f = fields(at);
      return { year: f.year ?? 0, month: f.month ?? 1, day: f.day ?? 1 };
    },
  };
}

/**
 * The instant a zone's clocks show `date hour:minute`. The offset is found by iteration, as it depends on
 * the instant sought; a time a spring-forward jump skips is taken after the jump (2:30 → 3:30).
 */
export function zonedInstant(zone: Zone, date: CalendarDate, hour: number, minute: number): number {
  const asUtc = Date.UTC(date.year, date.month - 1, date.day, hour, minute);
  let at = asUtc - zone.offsetAt(asUtc);
  for (let i = 0; i < 4; i += 1) {
    const next = asUtc - zone.offsetAt(at);
    if (next === at) return at;
    at = next;
  }
  // No fixed point: the wall time falls in a gap. Both candidates straddle it; the later one is after it.
  return Math.max(at, asUtc - zone.offsetAt(at));
}

function addDays(date: CalendarDate, days: number): CalendarDate {
  return utcDate(Date.UTC(date.year, date.month - 1, date.day + days));
}

function utcDate(at: number): CalendarDate {
  const d = new Date(at);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** The machine's own IANA zone. */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}
