import type { SimRateLimits } from "./hooks.js";

/**
 * A usage-limit wall as the simulated agent plays it (`/sim wall DURATION`), the way Claude Code 2.1.332
 * shows one (agent-states.md §3(c)): the banner `You've hit your session limit · resets 3:42pm (UTC)` under
 * the turn it stopped, a StopFailure hook with `error: "rate_limit"` and the banner as the last assistant
 * message, and a spent usage window in the statusline. A wall of up to five hours is the session window's,
 * a longer one the weekly window's. A banner tells the reset to the minute, so the wall lifts at a whole
 * minute: DURATION from now, rounded up. Times are in UTC, named in the banner.
 */

const MINUTE_MS = 60_000;
/** Claude's session window; a wall lasting longer is the weekly one. */
const SESSION_WINDOW_MS = 5 * 60 * MINUTE_MS;
/** From this far ahead the banner names the date as well (a bare time means its next occurrence). */
const DATED_AFTER_MS = 23 * 60 * MINUTE_MS;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

export class SimWall {
  /** When the wall lifts (epoch ms, a whole minute). */
  readonly resetsAt: number;
  readonly weekly: boolean;
  readonly banner: string;

  constructor(now: number, durationMs: number) {
    this.resetsAt = Math.ceil((now + durationMs) / MINUTE_MS) * MINUTE_MS;
    this.weekly = durationMs > SESSION_WINDOW_MS;
    const limit = this.weekly ? "weekly" : "session";
    this.banner = `You've hit your ${limit} limit · resets ${resetWords(this.resetsAt, now)} (UTC)`;
  }

  /** Whether the wall still stands at `now`. */
  standsAt(now: number): boolean {
    return now < this.resetsAt;
  }

  /** The banner as Claude draws it under the stopped turn. */
  get screenText(): string {
    return `  ⎿  ${this.banner}\n`;
  }

  /** The StopFailure hook's fields for a turn the wall stopped. */
  get stopFailure(): Record<string, unknown> {
    return { error: "rate_limit", last_assistant_message: this.banner };
  }

  /** The statusline's usage windows: the wall's spent until the reset (unix seconds). */
  get rateLimits(): SimRateLimits {
    const spent = { used_percentage: 100, resets_at: Math.floor(this.resetsAt / 1000) };
    return this.weekly ? { seven_day: spent } : { five_hour: spent };
  }
}

/** "3:42pm", "5pm", or "Dec 8, 4:20pm" for a reset a day or more away, in UTC. */
export function resetWords(resetsAt: number, now: number): string {
  const at = new Date(resetsAt);
  const hours = at.getUTCHours();
  const minutes = at.getUTCMinutes();
  const clock = `${hours % 12 === 0 ? 12 : hours % 12}${minutes === 0 ? "" : `:${String(minutes).padStart(2, "0")}`}${hours < 12 ? "am" : "pm"}`;
  if (resetsAt - now < DATED_AFTER_MS) return clock;
  return `${MONTHS[at.getUTCMonth()] ?? ""} ${at.getUTCDate()}, ${clock}`;
}
