/** Bounded waiting for the e2e and chaos suites: every wait has a deadline and says what it waited for. */

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns something other than undefined/false; throws `what` (and `detail()`) on timeout. */
export async function until<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  detail: () => string = () => "",
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}\n${detail()}`);
    await sleep(intervalMs);
  }
}
