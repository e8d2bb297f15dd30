/**
 * A repeating timer whose interval comes from config and can change at every reload: arming it with the
 * interval it already runs at keeps its phase, another interval restarts it, 0 (or less) turns it off. It
 * never keeps the process alive on its own.
 */
export class RearmableInterval {
  private timer: NodeJS.Timeout | undefined;
  private intervalMs = 0;
  private readonly tick: () => void;

  constructor(tick: () => void) {
    this.tick = tick;
  }

  arm(intervalMs: number): void {
    if (intervalMs === this.intervalMs) return;
    this.stop();
    this.intervalMs = intervalMs;
    if (intervalMs <= 0) return;
    this.timer = setInterval(this.tick, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.intervalMs = 0;
  }
}
