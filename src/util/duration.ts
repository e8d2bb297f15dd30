/**
 * Go-style durations, as the reference's config files write them: "3m", "500ms", "1h30m", "2.5s".
 * Values are milliseconds; sub-millisecond units are accepted and rounded.
 */
const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3, // U+00B5 micro sign
  μs: 1e-3, // U+03BC Greek mu: Go accepts both
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const TERM = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

export function parseDuration(text: string): number {
  const input = text.trim();
  if (input === "0") return 0;
  if (input === "")
    throw new RangeError(`Cannot parse duration "": expected a number with a unit, e.g. "3m"`);
  let total = 0;
  TERM.lastIndex = 0;
  while (TERM.lastIndex < input.length) {
    const start = TERM.lastIndex;
    const match = TERM.exec(input);
    if (match === null || match.index !== start) {
      throw new RangeError(
        `Cannot parse duration "${text}": expected terms like "90s", "3m", "1h30m" (units ns, us, ms, s, m, h)`,
      );
    }
    const [, amount, unit] = match;
    total += Number(amount) * (UNIT_MS[unit ?? ""] ?? Number.NaN);
  }
  if (!Number.isFinite(total)) throw new RangeError(`Cannot parse duration "${text}": value is too large`);
  return Math.round(total);
}

/** Formats milliseconds the way Go's time.Duration.String() does at millisecond precision: "3m0s", "1h5m0s", "500ms". */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  const sign = ms < 0 ? "-" : "";
  let rest = Math.abs(Math.round(ms));
  if (rest < 1000) return `${sign}${rest}ms`;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = rest / 1000;
  const secText = `${Number.isInteger(seconds) ? seconds : seconds.toFixed(3).replace(/0+$/, "")}s`;
  if (hours > 0) return `${sign}${hours}h${minutes}m${secText}`;
  if (minutes > 0) return `${sign}${minutes}m${secText}`;
  return `${sign}${secText}`;
}

/** A short human form for tables: "45s", "3m", "2h", "4d". */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 90) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 90) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}
