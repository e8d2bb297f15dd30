/**
 * Token and cost counters from the agents' statuslines. A statusline reports its session's totals so far;
 * a counter must only grow, so each generation's growth since the last look is what is added. A new
 * generation's first totals count whole: that session's spending happened under this daemon's watch or
 * before it started, and Prometheus reads a counter's history by its increases.
 */

export interface UsageTotals {
  readonly costUsd: number | null;
  readonly inputTokens: number | null;
  readonly outputTokens: number | null;
}

export interface UsageGrowth {
  readonly role: string;
  readonly costUsd: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
}

type Seen = { costUsd: number; inputTokens: number; outputTokens: number };

const FIELDS = ["costUsd", "inputTokens", "outputTokens"] as const;

export class UsageTracker {
  private seen = new Map<string, Seen>();

  /**
   * The growth of each running generation's totals (null: no statusline readable now, nothing grew);
   * generations no longer running are forgotten.
   */
  update(
    readings: readonly {
      readonly generation: string;
      readonly role: string;
      readonly totals: UsageTotals | null;
    }[],
  ): UsageGrowth[] {
    const next = new Map<string, Seen>();
    const growth: UsageGrowth[] = [];
    for (const { generation, role, totals } of readings) {
      const before = this.seen.get(generation) ?? { costUsd: 0, inputTokens: 0, outputTokens: 0 };
      const now = { ...before };
      next.set(generation, now);
      if (totals === null) continue;
      const grew = { role, costUsd: 0, inputTokens: 0, outputTokens: 0 };
      for (const field of FIELDS) {
        const value = totals[field];
        if (value === null) continue;
        // A total that went down is a session restarted under the same generation (/clear): count anew.
        grew[field] = value >= before[field] ? value - before[field] : value;
        now[field] = value;
      }
      if (grew.costUsd > 0 || grew.inputTokens > 0 || grew.outputTokens > 0) growth.push(grew);
    }
    this.seen = next;
    return growth;
  }
}
