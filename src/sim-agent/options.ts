import { isAbsolute, join, resolve } from "node:path";
import { AppError } from "../errors.js";
import { parseDuration } from "../util/duration.js";
import { SIM_DIALOG_KINDS, type SimDialogKind } from "./dialog.js";

/** The title Claude Code's native build shows to tmux (`#{pane_current_command}`). */
export const DEFAULT_TITLE = "2.1.7";
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 30_000;
/** setTimeout fires at once for delays above 2^31-1 ms; longer durations are refused, not silently shortened. */
export const MAX_DELAY_MS = 2 ** 31 - 1;

/** Every control's flag and environment variable; the flag wins when both are given. */
export const SIM_ENV = {
  title: "TOWND_SIM_TITLE",
  log: "TOWND_SIM_LOG",
  crashAfter: "TOWND_SIM_CRASH_AFTER",
  exitCode: "TOWND_SIM_EXIT_CODE",
  exitAfter: "TOWND_SIM_EXIT_AFTER",
  hangAfter: "TOWND_SIM_HANG_AFTER",
  hangIgnoresSigterm: "TOWND_SIM_HANG_IGNORES_SIGTERM",
  hangIgnoresSignals: "TOWND_SIM_HANG_IGNORES_SIGNALS",
  busy: "TOWND_SIM_BUSY",
  startupDelay: "TOWND_SIM_STARTUP_DELAY",
  bypassDialog: "TOWND_SIM_BYPASS_DIALOG",
  dialogs: "TOWND_SIM_DIALOGS",
  heartbeatFile: "TOWND_SIM_HEARTBEAT_FILE",
  heartbeatInterval: "TOWND_SIM_HEARTBEAT_INTERVAL",
  stopHeartbeatAfter: "TOWND_SIM_STOP_HEARTBEAT_AFTER",
  settings: "TOWND_SIM_SETTINGS",
} as const;

type Control = keyof typeof SIM_ENV;

export const SIM_FLAG: Record<Control, string> = {
  title: "--title",
  log: "--log",
  crashAfter: "--crash-after",
  exitCode: "--exit-code",
  exitAfter: "--exit-after",
  hangAfter: "--hang-after",
  hangIgnoresSigterm: "--hang-ignores-sigterm",
  hangIgnoresSignals: "--hang-ignores-signals",
  busy: "--busy",
  startupDelay: "--startup-delay",
  bypassDialog: "--bypass-dialog",
  dialogs: "--dialogs",
  heartbeatFile: "--heartbeat-file",
  heartbeatInterval: "--heartbeat-interval",
  stopHeartbeatAfter: "--stop-heartbeat-after",
  settings: "--settings",
};

/** The command line as commander hands it over (every value still a string). */
export interface SimAgentFlags {
  title?: string | undefined;
  log?: string | undefined;
  crashAfter?: string | undefined;
  exitCode?: string | undefined;
  exitAfter?: string | undefined;
  hangAfter?: string | undefined;
  hangIgnoresSigterm?: boolean | undefined;
  hangIgnoresSignals?: boolean | undefined;
  busy?: boolean | undefined;
  startupDelay?: string | undefined;
  bypassDialog?: boolean | undefined;
  dialogs?: string | undefined;
  /** Claude's flag: as root it refuses to start unless IS_SANDBOX=1 (as the real CLI does). */
  dangerouslySkipPermissions?: boolean | undefined;
  heartbeatFile?: string | undefined;
  heartbeatInterval?: string | undefined;
  stopHeartbeatAfter?: string | undefined;
  /** Claude's flag: a settings file whose command hooks and statusline the agent runs. */
  settings?: string | undefined;
  /** Claude's flag: resume the conversation with this session id. */
  resume?: string | undefined;
  /** As Claude's positional prompt: the first input, handled once the agent is ready. */
  prompt?: string | undefined;
}

export interface SimAgentOptions {
  /** process.title, which is what tmux reports as the pane's current command. */
  readonly title: string;
  /** JSON-lines log of inputs and lifecycle events; undefined: no log. */
  readonly logFile: string | undefined;
  readonly crashAfterMs: number | undefined;
  /** Exit code of a crash (`--crash-after`, and `/sim crash` without a code). */
  readonly exitCode: number;
  readonly exitAfterMs: number | undefined;
  readonly hangAfterMs: number | undefined;
  readonly hangIgnoresSigterm: boolean;
  /** While hung, ignore SIGHUP too: a process stuck for good, that only SIGKILL ends. */
  readonly hangIgnoresSignals: boolean;
  /** Once ready, start a turn that never ends (a working spinner, UserPromptSubmit, no Stop). */
  readonly busy: boolean;
  readonly startupDelayMs: number;
  readonly bypassDialog: boolean;
  /** The start-up dialogs to show, in Claude's order (`--bypass-dialog` adds "bypass"). */
  readonly dialogs: readonly SimDialogKind[];
  /** The refusal to print before anything else (Claude's root check), or undefined. */
  readonly refusal: string | undefined;
  /** Where heartbeats go; undefined: no heartbeats. */
  readonly heartbeatFile: string | undefined;
  readonly heartbeatIntervalMs: number;
  readonly stopHeartbeatAfterMs: number | undefined;
  /** The settings file whose hooks to fire (`--settings`); undefined: no hooks. */
  readonly settingsFile: string | undefined;
  /** The conversation to resume (`--resume`): its session id, which the hooks keep reporting. */
  readonly resume: string | undefined;
  /** Who the agent is, from BD_ACTOR or GT_ROLE (shown in the banner). */
  readonly identity: string;
  /** TOWND_GENERATION, the spawn generation the daemon gave this agent. */
  readonly generation: string | null;
  /** The environment `/sim run` children get. */
  readonly env: NodeJS.ProcessEnv;
  /** The prompt it was started with (Claude's positional argument), handled as its first input line. */
  readonly prompt?: string;
}

interface Source {
  readonly value: string;
  /** How to name the source in an error: `--crash-after "soon"` or `TOWND_SIM_CRASH_AFTER="soon"`. */
  readonly label: string;
}

function badValue(source: Source, problem: string): AppError {
  return new AppError("E_SIM_BAD_OPTION", `${source.label}: ${problem}`, { exitCode: 2 });
}

function pick(control: Control, flag: string | undefined, env: NodeJS.ProcessEnv): Source | undefined {
  if (flag !== undefined) return { value: flag, label: `${SIM_FLAG[control]} ${JSON.stringify(flag)}` };
  const name = SIM_ENV[control];
  const value = env[name];
  if (value === undefined || value === "") return undefined;
  return { value, label: `${name}=${JSON.stringify(value)}` };
}

function duration(source: Source | undefined): number | undefined {
  if (source === undefined) return undefined;
  let ms: number;
  try {
    ms = parseDuration(source.value);
  } catch {
    throw badValue(source, 'not a duration (expected e.g. "0s", "500ms", "1.2s", "3m")');
  }
  if (ms > MAX_DELAY_MS) throw badValue(source, "too long (the maximum is 596h)");
  return ms;
}

function text(source: Source | undefined): string | undefined {
  if (source === undefined) return undefined;
  if (source.value.trim() === "") throw badValue(source, "must not be empty");
  return source.value;
}

/** Flags are booleans already; environment values accept 1/true/yes/on and 0/false/no/off. */
function bool(control: Control, flag: boolean | undefined, env: NodeJS.ProcessEnv): boolean {
  if (flag !== undefined) return flag;
  const source = pick(control, undefined, env);
  if (source === undefined) return false;
  const value = source.value.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(value)) return true;
  if (["0", "false", "no", "off"].includes(value)) return false;
  throw badValue(source, "expected 1 or 0 (true/false, yes/no, on/off)");
}

function exitCode(source: Source | undefined): number {
  if (source === undefined) return 1;
  const value = source.value.trim();
  if (!/^\d{1,3}$/.test(value) || Number(value) > 255)
    throw badValue(source, "expected an exit code from 0 to 255");
  return Number(value);
}

function path(value: string | undefined, cwd: string): string | undefined {
  if (value === undefined) return undefined;
  return isAbsolute(value) ? value : resolve(cwd, value);
}

/** What Claude Code prints, and exits 1, when started as root with --dangerously-skip-permissions. */
export const ROOT_REFUSAL =
  "--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons";

/** Claude's session ids: what townd passes back with --resume (and checks the same way). */
const SESSION_ID = /^[A-Za-z0-9._-]{1,128}$/;

function sessionId(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!SESSION_ID.test(value))
    throw badValue(
      { value, label: `--resume ${JSON.stringify(value)}` },
      "not a session id (letters, digits, '.', '_' and '-', at most 128)",
    );
  return value;
}

/** A comma-separated list of dialogs, shown in the real CLI's order whatever the list's order. */
function dialogList(source: Source | undefined, bypass: boolean): SimDialogKind[] {
  const named = new Set<string>(bypass ? ["bypass"] : []);
  for (const item of (source?.value ?? "").split(",")) {
    const name = item.trim();
    if (name === "") continue;
    if (!(SIM_DIALOG_KINDS as readonly string[]).includes(name) && source !== undefined)
      throw badValue(source, `unknown dialog "${name}" (known: ${SIM_DIALOG_KINDS.join(", ")})`);
    named.add(name);
  }
  return SIM_DIALOG_KINDS.filter((kind) => named.has(kind));
}

/** The Deacon's heartbeat file when the agent runs as the Deacon of a town (reference §14). */
function deaconHeartbeat(env: NodeJS.ProcessEnv, cwd: string): string | undefined {
  if (env.GT_ROLE !== "deacon") return undefined;
  const root = [env.GT_TOWN_ROOT, env.GT_ROOT].find((value) => value !== undefined && value !== "");
  return root === undefined ? undefined : join(resolve(cwd, root), "deacon", "heartbeat.json");
}

/**
 * Resolves the simulated agent's options from its flags and environment (the flag wins). Pure: a bad
 * value throws an AppError (exit code 2) whose one-line message names the flag or variable and the value.
 */
export function resolveSimAgentOptions(
  flags: SimAgentFlags,
  env: NodeJS.ProcessEnv,
  cwd: string,
): SimAgentOptions {
  const intervalSource = pick("heartbeatInterval", flags.heartbeatInterval, env);
  const heartbeatInterval = duration(intervalSource);
  if (intervalSource !== undefined && heartbeatInterval === 0)
    throw badValue(intervalSource, "must be longer than 0");
  const heartbeatFile =
    path(text(pick("heartbeatFile", flags.heartbeatFile, env)), cwd) ?? deaconHeartbeat(env, cwd);
  const identity = [env.BD_ACTOR, env.GT_ROLE].find((value) => value !== undefined && value !== "");
  const generation = env.TOWND_GENERATION;
  return {
    title: text(pick("title", flags.title, env)) ?? DEFAULT_TITLE,
    logFile: path(text(pick("log", flags.log, env)), cwd),
    crashAfterMs: duration(pick("crashAfter", flags.crashAfter, env)),
    exitCode: exitCode(pick("exitCode", flags.exitCode, env)),
    exitAfterMs: duration(pick("exitAfter", flags.exitAfter, env)),
    hangAfterMs: duration(pick("hangAfter", flags.hangAfter, env)),
    hangIgnoresSigterm: bool("hangIgnoresSigterm", flags.hangIgnoresSigterm, env),
    hangIgnoresSignals: bool("hangIgnoresSignals", flags.hangIgnoresSignals, env),
    busy: bool("busy", flags.busy, env),
    startupDelayMs: duration(pick("startupDelay", flags.startupDelay, env)) ?? 0,
    bypassDialog: bool("bypassDialog", flags.bypassDialog, env),
    dialogs: dialogList(pick("dialogs", flags.dialogs, env), bool("bypassDialog", flags.bypassDialog, env)),
    refusal:
      flags.dangerouslySkipPermissions === true && process.getuid?.() === 0 && env.IS_SANDBOX !== "1"
        ? ROOT_REFUSAL
        : undefined,
    heartbeatFile,
    heartbeatIntervalMs: heartbeatInterval ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
    stopHeartbeatAfterMs: duration(pick("stopHeartbeatAfter", flags.stopHeartbeatAfter, env)),
    settingsFile: path(text(pick("settings", flags.settings, env)), cwd),
    resume: sessionId(flags.resume),
    identity: identity ?? "no role",
    generation: generation === undefined || generation === "" ? null : generation,
    env,
    ...(flags.prompt === undefined ? {} : { prompt: flags.prompt }),
  };
}
