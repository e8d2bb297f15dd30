export interface RestartPolicy {
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly multiplier: number;
  /** A run at least this long counts as healthy and resets the streak. */
  readonly stabilityPeriodMs: number;
}

/**
 * Delay before the automatic restart that follows the `failures`-th consecutive death: the first restart
 * is immediate, then initial, initial×multiplier, … capped at max (defaults 0, 30 s, 1 m, 2 m, … 10 m).
 */
export function backoffDelay(failures: number, policy: RestartPolicy): number {
  if (failures <= 1) return 0;
  const delay = policy.initialBackoffMs * policy.multiplier ** (failures - 2);
  return Math.min(policy.maxBackoffMs, delay);
}
