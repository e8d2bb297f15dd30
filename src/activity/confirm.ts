import type { ActivityReading } from "./state.js";

/**
 * A screen reading is a glimpse: Claude's `❯` flashes between two tool calls, a spinner's frame can miss
 * its glyph. A state is acted on only once two consecutive readings agree on it at least `minGapMs`
 * apart; any other reading in between (or none) starts the count again.
 */
export const CONFIRM_GAP_MS = 400;

/** The readings so far that agree on one state, not yet (or already) confirmed. */
export interface Glimpse {
  /** The latest reading of the run (its detail and reset time are the freshest). */
  readonly reading: ActivityReading;
  /** When the run's first reading was taken (epoch ms). */
  readonly since: number;
}

export interface Confirmation {
  /** The reading to act on, or null while its state has not been seen twice far enough apart. */
  readonly confirmed: ActivityReading | null;
  /** What to pass back as `previous` with the next reading. */
  readonly pending: Glimpse | null;
}

/**
 * Folds one reading (null: the screen said nothing known) taken at `at` into the run before it. Readings
 * agree when their states are the same; details may differ (a spinner's timer, a banner's wording).
 */
export function confirmReading(
  previous: Glimpse | null,
  reading: ActivityReading | null,
  at: number,
  minGapMs: number = CONFIRM_GAP_MS,
): Confirmation {
  if (reading === null) return { confirmed: null, pending: null };
  // A new state, or a clock that went back: this reading starts a run of its own.
  if (previous === null || previous.reading.state !== reading.state || at < previous.since) {
    return { confirmed: null, pending: { reading, since: at } };
  }
  const pending: Glimpse = { reading, since: previous.since };
  const confirmed = at - previous.since >= Math.max(0, minGapMs) && at > previous.since;
  return { confirmed: confirmed ? reading : null, pending };
}
