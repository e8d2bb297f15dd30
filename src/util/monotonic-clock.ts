import { performance } from "node:perf_hooks";

/**
 * The daemon's two clocks. `now()` is daemon time: epoch-like ms fixed to the wall clock once, at start, and
 * from then on moved only by a monotonic clock, so a wall clock stepped back or forward during a run (NTP, a
 * VM resumed, an operator's `date -s`) moves no backoff, grace, watchdog or wake deadline. `wall()` is the
 * wall clock, for times other programs read: events, mail, files, log lines.
 */
export interface DaemonClock {
  readonly now: () => number;
  readonly wall: () => number;
}

/** A daemon clock over `wall` and `elapsed` (a monotonic ms counter); tests inject both. */
export function monotonicClock(
  wall: () => number = Date.now,
  elapsed: () => number = () => performance.now(),
): DaemonClock {
  const startWall = wall();
  const startElapsed = elapsed();
  // Whole milliseconds, as Date.now gives, so times survive the round trip through ISO strings.
  return { now: () => startWall + Math.floor(elapsed() - startElapsed), wall };
}

/** The process's daemon clock, shared by the pass loop and the supervisor so their deadlines agree. */
export const daemonClock: DaemonClock = monotonicClock();

/** A monotonic ms counter for short waits, which a stepped wall clock must not cut short or stretch. */
export function elapsedMs(): number {
  return performance.now();
}

/**
 * How far daemon time is ahead of the wall clock right now (negative: behind), in whole seconds: the two
 * clocks' readings differ by a millisecond or so from one call to the next, and times converted with an
 * unrounded skew would come back from agents.json a millisecond off. A real clock step is seconds or more.
 */
export function clockSkew(clock: DaemonClock): number {
  return Math.round((clock.now() - clock.wall()) / 1000) * 1000;
}
