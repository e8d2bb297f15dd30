import { basename } from "node:path";
import { runtimeProfile, type ProfileName } from "../activity/profiles.js";
import { AppError, errorMessage } from "../errors.js";
import type { Role } from "../town/identity.js";
import type { SettingsFile } from "../town/schemas.js";
import { parseDuration } from "../util/duration.js";
import type { RuntimeSettings } from "./runtime-schema.js";
import { selfCommand } from "./self.js";

/** Everything townd needs to start and recognise one agent CLI. */
export interface ResolvedRuntime {
  /** The agent name the settings chose (`claude`, or a custom `agents.<name>`). */
  readonly name: string;
  /** The command and its arguments; argv[0] is a single executable, never a shell string. */
  readonly argv: string[];
  /** Extra environment for the agent, on top of agentEnv(). */
  readonly env: Record<string, string>;
  /** Process names that mean "the agent runs" when the pane shows a shell (see observe/liveness.ts). */
  readonly processNames: string[];
  /** Text at the start of a pane line that means the agent waits for input; null: the runtime shows none. */
  readonly readyPrompt: string | null;
  /** How long to wait for the ready prompt (or for the pane to leave the shell) after a start. */
  readonly readyTimeoutMs: number;
  /** Settle time once ready before the first nudge; without a ready prompt, the whole wait (reference ready_delay_ms). */
  readonly startupDelayMs: number;
  /** Whether to accept Claude's "Bypass Permissions mode" dialog after a start (§12.5), beyond the profile's. */
  readonly bypassDialog: boolean;
  /** Which screens, dialogs and start failures townd knows for this CLI (src/activity/profiles.ts). */
  readonly profile: ProfileName;
  /** The variable the CLI reads its session id from (exported as GT_SESSION_ID_ENV); null: none. */
  readonly sessionIdEnv: string | null;
  /** Whether a Claude-profile runtime gets townd's hooks and statusline (`--settings`); settings `"hooks": false` turns it off. */
  readonly hooks: boolean;
}

/** Built-in agents, in the order error messages list them. */
export const PRESET_NAMES: readonly string[] = ["claude", "codex", "gemini", "sim"];

const DEFAULT_READY_TIMEOUT_MS = 60_000;
/** A runtime that shows no ready prompt gets this long before its first nudge (the reference's codex delay). */
const NO_PROMPT_STARTUP_DELAY_MS = 3_000;

/** A fresh preset object per call: callers may adjust argv or env without touching the next caller's copy. */
function preset(name: string): ResolvedRuntime | undefined {
  switch (name) {
    case "claude":
      return {
        name,
        argv: ["claude", "--dangerously-skip-permissions"],
        // A supervised CLI must not change under the daemon: no self-update from inside an agent's pane.
        env: { DISABLE_AUTOUPDATER: "1" },
        // Claude shows as node (npm install), claude, or its version (native installer: `2.1.7`, #566).
        processNames: ["node", "claude"],
        // Readiness is the profile's: Claude's empty `❯` input line.
        readyPrompt: null,
        readyTimeoutMs: DEFAULT_READY_TIMEOUT_MS,
        startupDelayMs: 0,
        bypassDialog: false,
        profile: "claude",
        sessionIdEnv: "CLAUDE_SESSION_ID",
        hooks: true,
      };
    case "codex":
      return {
        name,
        // Codex has no environment switch for its update check; its config key is set on the command line.
        argv: ["codex", "--yolo", "-c", "check_for_update_on_startup=false"],
        env: {},
        processNames: ["codex", "node"],
        readyPrompt: null,
        readyTimeoutMs: DEFAULT_READY_TIMEOUT_MS,
        startupDelayMs: NO_PROMPT_STARTUP_DELAY_MS,
        bypassDialog: false,
        profile: "codex",
        sessionIdEnv: null,
        hooks: true,
      };
    case "gemini":
      return {
        name,
        argv: ["gemini", "--approval-mode", "yolo"],
        // Gemini reads its update switch only from settings.json (general.disableAutoUpdate): see the README.
        env: {},
        processNames: ["gemini", "node"],
        readyPrompt: null,
        readyTimeoutMs: DEFAULT_READY_TIMEOUT_MS,
        startupDelayMs: NO_PROMPT_STARTUP_DELAY_MS,
        bypassDialog: false,
        profile: "gemini",
        sessionIdEnv: "GEMINI_SESSION_ID",
        hooks: true,
      };
    case "sim":
      // townd's simulated agent: titles itself like Claude's native installer to exercise liveness (I2),
      // and draws Claude's screens, so it is read with Claude's profile.
      return {
        name,
        argv: [...selfCommand(), "sim-agent"],
        env: {},
        processNames: ["2.1.7", "node"],
        readyPrompt: null,
        readyTimeoutMs: 10_000,
        startupDelayMs: 0,
        bypassDialog: false,
        profile: "claude",
        sessionIdEnv: null,
        hooks: true,
      };
    default:
      return undefined;
  }
}

/**
 * A runtime from settings `agents.<name>`. Named like a preset, it overrides the preset's command, args
 * and env (env merged over the preset's) and keeps everything else — profile, readiness, liveness — so
 * `{"claude": {"command": "/opt/claude/bin/claude"}}` is still read as Claude. Any other name is a custom
 * runtime, read with the profile it names (`"profile": "claude"`) or the generic one.
 */
export function customRuntime(name: string, settings: RuntimeSettings): ResolvedRuntime {
  const base = preset(name);
  const readyPrompt =
    settings.ready_prompt === undefined
      ? (base?.readyPrompt ?? null)
      : settings.ready_prompt === ""
        ? null
        : settings.ready_prompt;
  const profile = settings.profile ?? base?.profile ?? "generic";
  const commandName = basename(settings.command);
  const processNames = settings.process_names
    ? [...settings.process_names]
    : base === undefined
      ? [commandName]
      : [...new Set([...base.processNames, commandName])];
  return {
    name,
    argv: [settings.command, ...(settings.args ?? (base === undefined ? [] : base.argv.slice(1)))],
    env: { ...base?.env, ...settings.env },
    processNames,
    readyPrompt,
    readyTimeoutMs:
      duration(name, "ready_timeout", settings.ready_timeout) ??
      base?.readyTimeoutMs ??
      DEFAULT_READY_TIMEOUT_MS,
    startupDelayMs:
      duration(name, "startup_delay", settings.startup_delay) ??
      base?.startupDelayMs ??
      (readyPrompt === null && runtimeProfile(profile).ready === null ? NO_PROMPT_STARTUP_DELAY_MS : 0),
    bypassDialog: settings.bypass_dialog ?? base?.bypassDialog ?? false,
    profile,
    sessionIdEnv: settings.session_id_env ?? base?.sessionIdEnv ?? null,
    hooks: settings.hooks ?? base?.hooks ?? true,
  };
}

function duration(agent: string, field: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parseDuration(text);
  } catch (error) {
    throw new AppError(
      "E_BAD_AGENT",
      `Invalid ${field} for agent ${JSON.stringify(agent)} in settings: ${errorMessage(error)}`,
    );
  }
}

export interface RuntimeSettingsLayers {
  readonly town: SettingsFile;
  /** The rig's `settings/config.json`, for rig-level roles; it overrides the town's. */
  readonly rig?: SettingsFile | undefined;
}

/**
 * Which agent CLI runs `role` (reference §16.3): the first of rig `role_agents[role]`, town
 * `role_agents[role]`, rig `default_agent`, town `default_agent`, then `claude`. The name is looked up in rig
 * `agents`, then town `agents`, then the presets. An unknown name throws rather than falling through, so
 * a typo never silently starts a different agent. Whether the binary exists is left to the spawn.
 */
export function resolveRuntime(role: Role, layers: RuntimeSettingsLayers): ResolvedRuntime {
  const { town, rig } = layers;
  const choices: [source: string, name: string | undefined][] = [
    [`rig settings role_agents.${role}`, own(rig?.role_agents, role)],
    [`town settings role_agents.${role}`, own(town.role_agents, role)],
    ["rig settings default_agent", rig?.default_agent],
    ["town settings default_agent", town.default_agent],
  ];
  // An empty string means "not set", as in the reference's Go settings.
  let source = "the built-in default";
  let name = "claude";
  for (const [from, value] of choices) {
    if (value !== undefined && value !== "") {
      source = from;
      name = value;
      break;
    }
  }
  const custom = own(rig?.agents, name) ?? own(town.agents, name);
  if (custom) return customRuntime(name, custom);
  const builtIn = preset(name);
  if (builtIn) return builtIn;
  const known = [
    ...PRESET_NAMES,
    ...[...Object.keys(rig?.agents ?? {}), ...Object.keys(town.agents ?? {})]
      .filter((n) => !PRESET_NAMES.includes(n))
      .sort(),
  ];
  throw new AppError(
    "E_UNKNOWN_AGENT",
    `Unknown agent ${JSON.stringify(name)} in ${source}: define it under "agents" or use one of ${[...new Set(known)].join(", ")}`,
  );
}

/** Own-property lookup: a settings key like "constructor" must not find Object.prototype's. */
function own<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}
