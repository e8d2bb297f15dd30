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
}

export class PassLoop {
  private pending: string[] = [];
  private wake: (() => void) | undefined;
  private readonly options: PassLoopOptions;

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
      } catch (error) {
        // An abort during the pass surfaces as an error from whatever step was in flight: not a failure.
        if (!isAborted(signal)) this.options.onPassError(error);
      }
      reasons = await this.waitForNext();
    }
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
      const timer = setTimeout(() => {
        this.pending = [];
        finish(["heartbeat"]);
      }, this.options.intervalMs());
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
