import type { TmuxSnapshot } from "../tmux/types.js";

/**
 * What the last pass knew: which sessions it saw alive. A poll that finds one of them dead or gone has
 * news; one that finds the same dead panes the pass already decided about (e.g. waiting out a backoff) has
 * none, so the poll never turns into a pass per tick.
 */
export class DeathWatch {
  private alive = new Set<string>();
  private serverWasRunning = true;

  /** Records the sessions a pass saw alive. */
  noteAlive(sessions: Iterable<string>, serverRunning: boolean): void {
    this.alive = new Set(sessions);
    this.serverWasRunning = serverRunning;
  }

  /** Why a pass is needed now, or undefined when the snapshot holds nothing new. */
  news(snapshot: TmuxSnapshot): string | undefined {
    if (!snapshot.serverRunning) return this.serverWasRunning ? "tmux server gone" : undefined;
    const seen = new Set<string>();
    for (const pane of snapshot.panes) {
      if (seen.has(pane.session)) continue;
      seen.add(pane.session);
      if (pane.dead && this.alive.has(pane.session)) return `pane died in ${pane.session}`;
    }
    for (const session of this.alive) if (!seen.has(session)) return `session ${session} disappeared`;
    return undefined;
  }
}
