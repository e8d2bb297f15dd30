import type { PaneInfo } from "./types.js";

/**
 * The `-F` format of the one `list-panes -a` call an observation pass makes. Tab-separated, with
 * `#{pane_current_command}` last: it is the only field tmux takes from outside (a process's name), so a
 * tab inside it can only lengthen the last field, never shift the others.
 *
 * Two fields serve the client rather than PaneInfo: `#{pane_dead_time}` is empty on a dead pane until
 * tmux has collected its exit status (see `PaneRow.statusCollected`), and `#{pid}` is the server's pid.
 */
export const PANE_FORMAT = [
  "#{session_name}",
  "#{pane_id}",
  "#{pane_pid}",
  "#{pane_dead}",
  "#{pane_dead_status}",
  "#{@townd_generation}",
  "#{@townd_identity}",
  "#{pane_dead_time}",
  "#{pid}",
  "#{pane_current_command}",
].join("\t");

const FIXED_FIELDS = 9;

export interface PaneRow {
  readonly pane: PaneInfo;
  /**
   * False for a dead pane whose exit status tmux has not collected yet. tmux 3.3a built with libutempter
   * (Debian's) can lose the SIGCHLD of a pane's process: the pane reads as dead with no status, and the
   * pane-died hook does not fire, until some later SIGCHLD makes the server reap it.
   */
  readonly statusCollected: boolean;
  readonly serverPid: number | null;
}

/**
 * Parses `list-panes -a -F PANE_FORMAT` output into one entry per pane, in tmux's order (sessions by name,
 * then panes by index). Lines that do not have the expected shape are skipped: they can only come from a
 * session townd did not create (its names never contain tabs or newlines).
 */
export function parsePaneRows(output: string): PaneRow[] {
  const rows: PaneRow[] = [];
  for (const line of output.split("\n")) {
    const row = parsePaneLine(line);
    if (row !== undefined) rows.push(row);
  }
  return rows;
}

export function parsePanes(output: string): PaneInfo[] {
  return parsePaneRows(output).map((row) => row.pane);
}

function parsePaneLine(line: string): PaneRow | undefined {
  const fields = line.split("\t");
  if (fields.length <= FIXED_FIELDS) return undefined;
  const [session, paneId, pid, dead, deadStatus, generation, identity, deadTime, serverPid] = fields;
  if (session === undefined || session === "" || paneId === undefined || !paneId.startsWith("%")) {
    return undefined;
  }
  const panePid = parseDecimal(pid);
  if (panePid === null) return undefined;
  const isDead = dead === "1";
  return {
    pane: {
      session,
      paneId,
      panePid,
      command: fields.slice(FIXED_FIELDS).join("\t"),
      dead: isDead,
      deadStatus: isDead ? parseDecimal(deadStatus) : null,
      generation: emptyToNull(generation),
      identity: emptyToNull(identity),
    },
    statusCollected: !isDead || (deadTime !== undefined && deadTime !== ""),
    serverPid: parseDecimal(serverPid),
  };
}

function parseDecimal(text: string | undefined): number | null {
  if (text === undefined || !/^\d+$/.test(text)) return null;
  return Number(text);
}

/** An unset user option expands to the empty string; townd never sets an empty one. */
function emptyToNull(text: string | undefined): string | null {
  return text === undefined || text === "" ? null : text;
}

// Strings townd hands to tmux can pass through up to three languages: tmux formats (`-c`, run-shell),
// the tmux command language (hook bodies) and the shell (run-shell). Each helper below escapes one.

/** Makes `text` survive format expansion unchanged (`-c` and run-shell arguments are expanded). */
export function escapeFormat(text: string): string {
  return text.replaceAll("#", "##");
}

/**
 * Quotes `text` as one word of the tmux command language (a hook body, a config line). Single quotes
 * are literal in tmux; an embedded `'` is closed, emitted inside double quotes, and reopened.
 */
export function tmuxQuote(text: string): string {
  return `'${text.replaceAll("'", `'"'"'`)}'`;
}

/** Quotes `text` as one POSIX shell word. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
