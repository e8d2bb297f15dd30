import { elapsedMs } from "./monotonic-clock.js";

/** Waits `ms`, or rejects with the signal's reason as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Polls `check` every `intervalMs` until it returns a value other than undefined, or `timeoutMs` passes. */
export async function waitFor<T>(
  check: () => T | undefined | Promise<T | undefined>,
  options: { timeoutMs: number; intervalMs?: number; signal?: AbortSignal },
): Promise<T | undefined> {
  const deadline = elapsedMs() + options.timeoutMs;
  const interval = options.intervalMs ?? 50;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (elapsedMs() >= deadline) return undefined;
    await sleep(Math.min(interval, Math.max(0, deadline - elapsedMs())), options.signal);
  }
}
