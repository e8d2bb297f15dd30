import { isShell } from "../observe/liveness.js";
import type { TmuxSnapshot } from "../tmux/types.js";

/**
 * What the last pass knew: which sessions it saw alive. A poll that finds one of them dead or gone has
 * news; one that finds the same dead panes the pass already decided about (e.g. waiting out a backoff) has
 * none, so the poll never turns into a pass per tick.
 */
export class DeathWatch {
  /** Sessions the last pass saw alive, with the pane command it saw. */
  private alive = new Map<string, string>();
  private serverWasRunning = true;

  /** Records the sessions a pass saw alive and what their panes were running. */
  noteAlive(sessions: Iterable<readonly [session: string, command: string]>, serverRunning: boolean): void {
    this.alive = new Map(sessions);
    this.serverWasRunning = serverRunning;
  }

  /** True when at least two sessions the last pass saw alive are all missing from `snapshot`. */
  allGone(snapshot: TmuxSnapshot): boolean {
    if (this.alive.size < 2) return false;
    const present = new Set(snapshot.panes.map((pane) => pane.session));
    for (const session of this.alive.keys()) if (present.has(session)) return false;
    return true;
  }

  /** Why a pass is needed now, or undefined when the snapshot holds nothing new. */
  news(snapshot: TmuxSnapshot): string | undefined {
    if (!snapshot.serverRunning) return this.serverWasRunning ? "tmux server gone" : undefined;
    const seen = new Set<string>();
    for (const pane of snapshot.panes) {
      if (seen.has(pane.session)) continue;
      seen.add(pane.session);
      const known = this.alive.get(pane.session);
      if (known === undefined) continue;
      if (pane.dead) return `pane died in ${pane.session}`;
      // An agent running under a shell that exits leaves the pane alive showing the shell: a possible zombie.
      if (pane.command !== known && isShell(pane.command))
        return `${pane.session} fell back to ${pane.command}`;
    }
    for (const session of this.alive.keys()) if (!seen.has(session)) return `session ${session} disappeared`;
    return undefined;
  }
}
