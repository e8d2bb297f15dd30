import { escapeFormat, shellQuote, tmuxQuote } from "../tmux/format.js";

/**
 * The tmux `pane-died` hook: appends the dead pane's id to `file`, whose change wakes the daemon. tmux
 * expands the format inside the shell command before `sh -c` sees it, so the expansion must never be text
 * someone else chose: a session named `x';touch /tmp/p;'` (any process on the server may name one) ran
 * that command when the hook wrote `#{session_name}`. `#{pane_id}` is always `%` and digits; the daemon
 * needs no more than the wake-up (its next pass looks at every pane), and the id is there for people.
 */
export function paneDiedHook(file: string): string {
  const shell = `echo #{pane_id} >> ${escapeFormat(shellQuote(file))}`;
  return `run-shell -b ${tmuxQuote(shell)}`;
}
