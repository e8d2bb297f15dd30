import type { DaemonClock } from "../util/monotonic-clock.js";
import { clockSkew } from "../util/monotonic-clock.js";
import type { Heartbeat } from "./heartbeats.js";

interface Seen {
  readonly key: string | null;
  /** The beat's time in daemon time; null while there is no beat. */
  readonly at: number | null;
  /** When the daemon last read the file (daemon time). */
  readonly readAt: number;
}

/**
 * Heartbeat times in daemon time (see util/monotonic-clock.ts), so the watchdog ages a heartbeat by the
 * daemon's own monotonic clock and not by the file's wall-clock timestamp alone: a wall clock stepped forward
 * would make a fresh heartbeat look old (a healthy Deacon killed), one stepped back would make it look new.
 *
 * Each new beat (a new timestamp or cycle) is timed once, when the daemon first reads it: its file timestamp,
 * converted with the current skew, held between the previous read of the file (the beat is newer than
 * that) and this read (it cannot be newer than now). A beat already on disk at the daemon's first read has
 * no previous read: its own timestamp counts, never later than now. The time stays fixed until the next beat.
 */
export class HeartbeatTimes {
  private readonly seen = new Map<string, Seen>();
  private readonly clock: DaemonClock;

  constructor(clock: DaemonClock) {
    this.clock = clock;
  }

  /** The beat `file` holds now (null: none), as a daemon time for the planner. */
  observe(file: string, beat: Heartbeat | null): number | null {
    const now = this.clock.now();
    const previous = this.seen.get(file);
    if (beat === null) {
      this.seen.set(file, { key: null, at: null, readAt: now });
      return null;
    }
    if (previous?.key === beat.key && previous.at !== null) {
      this.seen.set(file, { ...previous, readAt: now });
      return previous.at;
    }
    const estimate = beat.at + clockSkew(this.clock);
    const at = Math.min(now, Math.max(previous?.readAt ?? -Infinity, estimate));
    this.seen.set(file, { key: beat.key, at, readAt: now });
    return at;
  }
}
