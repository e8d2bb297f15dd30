import { classifyPane, type ProcessTree } from "../observe/liveness.js";
import type { AgentObservation } from "../policy/plan.js";
import type { DesiredAgent } from "../policy/desired.js";
import { descendantEntries } from "../proc/tree.js";
import type { PaneInfo, TmuxSnapshot } from "../tmux/types.js";
import type { ResolvedRuntime } from "../agents/runtime.js";

export interface ObservedAgent extends AgentObservation {
  readonly pane: PaneInfo | undefined;
}

/**
 * Turns one tmux snapshot into a verdict per agent. /proc is read only when a pane shows a shell (the only
 * case where the agent may be a child rather than the pane's process), and only that pane's tree.
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

/** The processes below a pane's, read from /proc from the pane's process down (not a scan of every process). */
export function liveProcessTree(): ProcessTree {
  return {
    childNames: (pid: number): string[] =>
      descendantEntries(pid).flatMap((entry) => [entry.name, entry.argv0]),
  };
}
