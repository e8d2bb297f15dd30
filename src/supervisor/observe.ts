import { classifyPane, type ProcessTree } from "../observe/liveness.js";
import type { AgentObservation } from "../policy/plan.js";
import type { DesiredAgent } from "../policy/desired.js";
import { descendants, readProcessTable, type ProcessEntry } from "../proc/tree.js";
import type { PaneInfo, TmuxSnapshot } from "../tmux/types.js";
import type { ResolvedRuntime } from "../agents/runtime.js";

export interface ObservedAgent extends AgentObservation {
  readonly pane: PaneInfo | undefined;
}

/**
 * Turns one tmux snapshot into a verdict per agent. /proc is read at most once per pass, and only when a
 * pane shows a shell (the only case where the agent may be a child rather than the pane's process).
 */
export function observeAgents(
  snapshot: TmuxSnapshot,
  agents: readonly DesiredAgent[],
  runtimeOf: (agent: DesiredAgent) => Pick<ResolvedRuntime, "processNames" | "argv">,
  tree: ProcessTree = liveProcessTree(),
): ObservedAgent[] {
  const firstPane = new Map<string, PaneInfo>();
  for (const pane of snapshot.panes) if (!firstPane.has(pane.session)) firstPane.set(pane.session, pane);
  return agents.map((desired) => {
    const pane = firstPane.get(desired.session);
    if (pane === undefined) {
      return { desired, pane, verdict: "missing", verdictReason: "no session", generation: null };
    }
    const liveness = classifyPane(pane, tree, runtimeOf(desired));
    return {
      desired,
      pane,
      verdict: liveness.verdict,
      verdictReason: liveness.reason,
      generation: pane.generation,
    };
  });
}

/** This machine's processes, read from /proc on first use and at most once per call of observeAgents. */
export function liveProcessTree(): ProcessTree {
  let table: Map<number, ProcessEntry> | undefined;
  return {
    childNames: (pid: number): string[] => {
      table ??= readProcessTable();
      return descendants(table, pid).flatMap((entry) => [entry.name, entry.argv0]);
    },
  };
}
