/**
 * The daemon's heartbeat: one reconcile pass at start, then one every interval measured from the end of the
 * previous pass, and one as soon as anything triggers it (a pane died, a lifecycle request, a config change).
 * Passes never overlap; triggers that arrive during a pass are folded into one pass right after it.
 */
export interface PassLoopOptions {
  /** Read before every wait, so a config reload changes the interval without a restart. */
  intervalMs: () => number;
  pass: (reasons: readonly string[], signal: AbortSignal) => Promise<void>;
  /** A pass that throws is reported and the loop goes on; only the abort signal ends it. */
  onPassError: (error: unknown) => void;
  signal: AbortSignal;
  /**
   * A failed pass (tmux not answering, say) is retried after `initialMs`, doubling up to `maxMs`, instead of
   * at the next heartbeat minutes later: a request or a death must not wait that long. Defaults 1 s, 30 s.
   */
  retry?: { initialMs: number; maxMs: number };
}

export class PassLoop {
  private pending: string[] = [];
  private wake: (() => void) | undefined;
  private readonly options: PassLoopOptions;
  /** Passes failed in a row (0 after a good one). */
  private failures = 0;

  constructor(options: PassLoopOptions) {
    this.options = options;
  }

  /** Asks for a pass as soon as possible; cheap and safe to call from signal handlers and hooks. */
  trigger(reason: string): void {
    if (!this.pending.includes(reason)) this.pending.push(reason);
    this.wake?.();
  }

  async run(): Promise<void> {
    const { signal } = this.options;
    let reasons = ["start"];
    while (!signal.aborted) {
      try {
        await this.options.pass(reasons, signal);
        this.failures = 0;
      } catch (error) {
        // An abort during the pass surfaces as an error from whatever step was in flight: not a failure.
        if (!isAborted(signal)) {
          this.failures += 1;
          this.options.onPassError(error);
        }
      }
      reasons = await this.waitForNext();
    }
  }

  /** 1 s, 2 s, 4 s, … up to 30 s (by default) after the 1st, 2nd, 3rd … failure in a row. */
  private retryDelay(): number {
    const { initialMs, maxMs } = this.options.retry ?? { initialMs: 1000, maxMs: 30_000 };
    return Math.min(maxMs, initialMs * 2 ** Math.min(30, this.failures - 1));
  }

  private waitForNext(): Promise<string[]> {
    const { signal } = this.options;
    return new Promise((resolve) => {
      const finish = (reasons: string[]): void => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        this.wake = undefined;
        resolve(reasons);
      };
      const takePending = (): void => {
        const reasons = this.pending;
        this.pending = [];
        finish(reasons);
      };
      const onAbort = (): void => {
        finish([]);
      };
      const retrying = this.failures > 0;
      const timer = setTimeout(
        () => {
          this.pending = [];
          finish([retrying ? "retry after a failed pass" : "heartbeat"]);
        },
        retrying ? Math.min(this.options.intervalMs(), this.retryDelay()) : this.options.intervalMs(),
      );
      if (signal.aborted) {
        finish([]);
        return;
      }
      signal.addEventListener("abort", onAbort, { once: true });
      if (this.pending.length > 0) {
        takePending();
        return;
      }
      this.wake = takePending;
    });
  }
}

/** A function, not a property read, so the compiler does not assume the flag cannot change mid-loop. */
function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}
