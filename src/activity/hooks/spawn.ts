import type { ResolvedRuntime } from "../../agents/runtime.js";
import { claudeSettingsArgs, claudeSettingsPaths, tryEnsureClaudeSettings } from "./settings-file.js";

export interface HookArgs {
  /** What to append to the runtime's argv: `--settings <file>`, or nothing. */
  readonly args: string[];
  /** Why the settings file could not be written (then args is empty unless an older file is there). */
  readonly problem?: string;
}

/**
 * The arguments that give one spawn of `runtime` townd's hooks: only a Claude-profile runtime whose settings
 * do not say `"hooks": false`, and whose own arguments do not already name a `--settings` (the user's choice
 * wins; Claude takes one). Writes daemon/claude-settings.json first when it is missing or stale; when that
 * fails, an existing (stale) file is still passed, a missing one is not.
 */
export function claudeHookArgs(
  runtime: Pick<ResolvedRuntime, "profile" | "hooks" | "argv">,
  daemonDir: string,
  home: string | undefined,
): HookArgs {
  if (runtime.profile !== "claude" || !runtime.hooks) return { args: [] };
  if (runtime.argv.some((arg) => arg === "--settings" || arg.startsWith("--settings="))) return { args: [] };
  const paths = claudeSettingsPaths(daemonDir);
  const ensured = tryEnsureClaudeSettings(paths, home);
  if (ensured.ok) return { args: claudeSettingsArgs(paths.settingsFile) };
  return ensured.present
    ? { args: claudeSettingsArgs(paths.settingsFile), problem: ensured.problem }
    : { args: [], problem: ensured.problem };
}
