/**
 * The simulator's clock: a discrete-event queue over simulated time. Nothing here reads the real clock or
 * sets a real timer; `now` moves only when the next event is taken. Events at the same instant run in the
 * order they were scheduled, so a run is a pure function of its inputs.
 */

/** Simulated time starts here (epoch ms), so generation ids and heartbeat times look like real ones. */
export const SIM_EPOCH = Date.UTC(2026, 0, 1);

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

interface QueuedEvent {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
}

export class SimClock {
  #now: number;
  #seq = 0;
  readonly #heap: QueuedEvent[] = [];

  constructor(start: number = SIM_EPOCH) {
    this.#now = start;
  }

  get now(): number {
    return this.#now;
  }

  /** Runs `run` at simulated time `at` (never in the past: a late time runs now, after what is queued). */
  at(at: number, run: () => void): void {
    this.#push({ at: Math.max(at, this.#now), seq: this.#seq++, run });
  }

  after(delayMs: number, run: () => void): void {
    this.at(this.#now + Math.max(0, delayMs), run);
  }

  /** Takes events in time order until the queue is empty or the next one is after `end`; then now = end. */
  runUntil(end: number): void {
    for (;;) {
      const next = this.#heap[0];
      if (next === undefined || next.at > end) break;
      this.#pop();
      this.#now = next.at;
      next.run();
    }
    this.#now = Math.max(this.#now, end);
  }

  #push(event: QueuedEvent): void {
    const heap = this.#heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent];
      if (p === undefined || !before(event, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = event;
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = last;
      let at = -1;
      const l = heap[left];
      if (l !== undefined && before(l, smallest)) {
        smallest = l;
        at = left;
      }
      const r = heap[right];
      if (r !== undefined && before(r, smallest)) {
        smallest = r;
        at = right;
      }
      if (at < 0) break;
      heap[i] = smallest;
      i = at;
    }
    heap[i] = last;
  }
}

function before(a: QueuedEvent, b: QueuedEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** A simulated instant as an offset from the start of the run: `1d 02:03:04.010`. */
export function formatSimTime(offsetMs: number): string {
  const ms = Math.max(0, Math.round(offsetMs));
  const days = Math.floor(ms / DAY);
  const rest = ms - days * DAY;
  const pad = (n: number, width = 2): string => String(n).padStart(width, "0");
  const h = Math.floor(rest / HOUR);
  const m = Math.floor((rest % HOUR) / MINUTE);
  const s = Math.floor((rest % MINUTE) / SECOND);
  return `${days}d ${pad(h)}:${pad(m)}:${pad(s)}.${pad(rest % SECOND, 3)}`;
}
