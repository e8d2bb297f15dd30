import type { PaneInfo } from "../tmux/types.js";

/**
 * Whether an agent's pane holds a live agent: the verdict that decides kills, so it must never call a healthy
 * agent dead (invariant I2). The reference matched the pane's command against known names and killed
 * healthy agents whose title it did not know: Claude shown as its version `2.1.7` (#566, 812 sessions in
 * four days), non-Claude agents (#1025), the native installer (#926, #1157).
 *
 * townd starts the agent as the pane's first process, so a live pane whose foreground process is not a
 * shell is the agent or something the agent runs: alive, whatever its name. Only a pane showing a shell
 * needs a closer look: the agent may run below it (started by typing a command), or it may have exited and
 * left the shell behind, which is a zombie.
 */

export type LivenessVerdict = "alive" | "dead" | "zombie";

export interface Liveness {
  readonly verdict: LivenessVerdict;
  /** One line for logs and events: why this verdict. */
  readonly reason: string;
}

export interface ProcessTree {
  /** Names of ALL descendants of `pid` (children, grandchildren, …); empty when it has none or is gone. */
  childNames(pid: number): readonly string[];
}

/** The runtime facts liveness needs; a ResolvedRuntime fits. */
export interface AgentProcessHints {
  readonly processNames: readonly string[];
  readonly argv: readonly string[];
}

/** The reference's shells (§12.3) plus dash, ash, csh and mksh, which Debian and Alpine panes may show. */
const SHELLS: ReadonlySet<string> = new Set([
  "bash",
  "zsh",
  "sh",
  "dash",
  "ash",
  "fish",
  "tcsh",
  "csh",
  "ksh",
  "mksh",
]);

/** Names any Claude install shows: npm (`node`), the wrapper (`claude`), the native installer (`2.1.7`). */
const ALWAYS_AGENT: ReadonlySet<string> = new Set(["node", "claude"]);
const VERSION_TITLE = /^\d+\.\d+\.\d+$/;

/** Linux keeps 15 characters of a process name (/proc/<pid>/comm), so longer names arrive cut. */
const COMM_LENGTH = 15;

/** A shell, also as a login shell (`-bash`) or a path (`/bin/zsh`). */
export function isShell(name: string): boolean {
  return SHELLS.has(normalise(name));
}

/** Whether a process name is the agent: its runtime's names, its executable, node, claude, or a version title. */
export function isAgentProcessName(name: string, runtime: AgentProcessHints): boolean {
  const seen = normalise(name);
  if (seen === "") return false;
  if (ALWAYS_AGENT.has(seen) || VERSION_TITLE.test(seen)) return true;
  const argv0 = runtime.argv[0];
  const expected = argv0 === undefined ? runtime.processNames : [...runtime.processNames, argv0];
  return expected.some((candidate) => {
    const want = normalise(candidate);
    return want === seen || (seen.length === COMM_LENGTH && want.startsWith(seen));
  });
}

/** How a dead pane's end reads in verdicts, records and logs; a null status is a death by a signal. */
export function deadPaneReason(deadStatus: number | null): string {
  return `pane died (${deadStatus === null ? "killed by a signal" : `exit status ${deadStatus}`})`;
}

export function classifyPane(pane: PaneInfo, processes: ProcessTree, runtime: AgentProcessHints): Liveness {
  if (pane.dead) return { verdict: "dead", reason: deadPaneReason(pane.deadStatus) };
  const command = pane.command;
  // A process title tmux could not read is no evidence of death; I2 says keep it.
  if (normalise(command) === "") return { verdict: "alive", reason: "pane is alive; its command is unknown" };
  // A custom runtime may be named like a shell; its own name wins.
  if (!isShell(command) || runtime.processNames.some((n) => normalise(n) === normalise(command))) {
    return { verdict: "alive", reason: `pane runs ${JSON.stringify(command)}` };
  }
  const descendants = processes.childNames(pane.panePid);
  const agent = descendants.find((name) => isAgentProcessName(name, runtime));
  if (agent !== undefined) {
    return {
      verdict: "alive",
      reason: `pane runs ${JSON.stringify(command)} with agent process ${JSON.stringify(agent)}`,
    };
  }
  const names = [...new Set(descendants)].slice(0, 5).map((name) => JSON.stringify(name));
  const others = names.length === 0 ? "" : `; other processes: ${names.join(", ")}`;
  return {
    verdict: "zombie",
    reason: `pane runs ${JSON.stringify(command)} with no agent process (zombie)${others}`,
  };
}

/** `-bash` → `bash`, `/usr/bin/node` → `node`. */
function normalise(name: string): string {
  const trimmed = name.trim();
  const base = trimmed.slice(trimmed.lastIndexOf("/") + 1);
  return base.startsWith("-") ? base.slice(1) : base;
}
