/** One pane as a single `list-panes -a -F …` call reports it. */
export interface PaneInfo {
  readonly session: string;
  readonly paneId: string;
  readonly panePid: number;
  /** `#{pane_current_command}`: the foreground process's name (a dead pane keeps the dead one's). */
  readonly command: string;
  readonly dead: boolean;
  /** Exit code of a dead pane; null while alive or when it died by a signal. */
  readonly deadStatus: number | null;
  /** The `@townd_generation` user option townd sets on sessions it spawns; null for foreign sessions. */
  readonly generation: string | null;
  /** The `@townd_identity` user option; null for foreign sessions. */
  readonly identity: string | null;
}

export interface TmuxSnapshot {
  /** False when no tmux server answers on the town's socket. */
  readonly serverRunning: boolean;
  readonly panes: readonly PaneInfo[];
}
