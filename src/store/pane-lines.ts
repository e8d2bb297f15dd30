import type { TownEvent } from "./events.js";

/**
 * The last lines a dead pane showed, from the newest event that recorded them (`last_lines`, kept when a
 * dead agent was respawned). tmux pads a dead pane's capture with blank rows and a "Pane is dead" banner:
 * only what the agent wrote is kept.
 */
export function deadPaneLines(
  events: readonly TownEvent[],
  max = 15,
): { readonly at: string; readonly lines: string[] } | undefined {
  const withLines = [...events].reverse().find((e) => typeof e.data["last_lines"] === "string");
  if (withLines === undefined) return undefined;
  const lines = String(withLines.data["last_lines"])
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.startsWith("Pane is dead"))
    .slice(-max);
  return { at: withLines.ts, lines };
}
