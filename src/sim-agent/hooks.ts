import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { AppError, errorMessage } from "../errors.js";
import { run } from "../proc/run.js";
import { readTextFileSafe } from "../util/safe-read.js";

/**
 * The simulated agent's side of Claude Code's hooks: it reads the `hooks` and `statusLine` of a settings file
 * (the one townd passes with `--settings`) and runs each registered command as Claude does, `sh -c` with the
 * event's JSON on stdin and the agent's environment, with payloads shaped like Claude Code 2.1.332's.
 */

/** Claude's default is 600 s; a sim hook that takes longer than this is killed. */
const HOOK_TIMEOUT_MS = 10_000;
const SETTINGS_MAX_BYTES = 1024 * 1024;

export interface SimHookSettings {
  /** Event name → the commands registered for it, in order. */
  readonly hooks: ReadonlyMap<string, readonly string[]>;
  readonly statusLine: string | null;
}

/** Reads a Claude settings file's command hooks and statusline; throws an AppError (exit 2) when it cannot. */
export function loadSimHookSettings(file: string): SimHookSettings {
  let parsed: unknown;
  try {
    const text = readTextFileSafe(file, { maxBytes: SETTINGS_MAX_BYTES });
    if (text === undefined) throw new Error("no such file");
    parsed = JSON.parse(text);
  } catch (error) {
    throw new AppError("E_SIM_SETTINGS", `cannot read the settings file ${file}: ${errorMessage(error)}`, {
      exitCode: 2,
    });
  }
  const hooks = new Map<string, string[]>();
  const root = record(parsed);
  for (const [event, groups] of Object.entries(record(root?.["hooks"]) ?? {})) {
    if (!Array.isArray(groups)) continue;
    for (const group of groups) {
      const inner = record(group)?.["hooks"];
      if (!Array.isArray(inner)) continue;
      for (const hook of inner) {
        const entry = record(hook);
        const command = entry?.["command"];
        if (entry?.["type"] === "command" && typeof command === "string")
          hooks.set(event, [...(hooks.get(event) ?? []), command]);
      }
    }
  }
  const statusLine = record(root?.["statusLine"]);
  const command = statusLine?.["command"];
  return {
    hooks,
    statusLine: statusLine?.["type"] === "command" && typeof command === "string" ? command : null,
  };
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

export interface SimHookRun {
  readonly event: string;
  readonly code?: number;
  readonly error?: string;
}

export interface SimHooksOptions {
  readonly settings: SimHookSettings;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Aborted when the agent ends: running hooks are killed. */
  readonly signal: AbortSignal;
  /** The conversation resumed (`--resume <id>`): it keeps its session id. */
  readonly sessionId?: string | undefined;
}

/** What the statusline shows of the account's usage windows (Claude.ai subscriptions). */
export interface SimRateLimits {
  readonly five_hour?: { readonly used_percentage: number; readonly resets_at: number };
  readonly seven_day?: { readonly used_percentage: number; readonly resets_at: number };
}

/** Fires hooks for one simulated session (a new session id, as a fresh `claude` has, or the resumed one). */
export class SimHooks {
  readonly sessionId: string;
  readonly transcriptPath: string;
  readonly #o: SimHooksOptions;
  #turns = 0;

  constructor(options: SimHooksOptions) {
    this.#o = options;
    this.sessionId = options.sessionId ?? randomUUID();
    const home = options.env["HOME"] ?? "/";
    const munged = options.cwd.replace(/[^A-Za-z0-9]/g, "-");
    this.transcriptPath = join(home, ".claude", "projects", munged, `${this.sessionId}.jsonl`);
  }

  /** The event's payload: the base fields every Claude hook gets, then `fields`. */
  payload(event: string, fields: Readonly<Record<string, unknown>> = {}): Record<string, unknown> {
    return {
      session_id: this.sessionId,
      transcript_path: this.transcriptPath,
      cwd: this.#o.cwd,
      permission_mode: "bypassPermissions",
      hook_event_name: event,
      ...fields,
    };
  }

  /** Runs every command registered for `event`, one after the other; never throws. */
  async fire(event: string, fields: Readonly<Record<string, unknown>> = {}): Promise<SimHookRun[]> {
    const commands = this.#o.settings.hooks.get(event) ?? [];
    const input = `${JSON.stringify(this.payload(event, fields))}\n`;
    const runs: SimHookRun[] = [];
    for (const command of commands) {
      const { code, error } = await this.#sh(command, input);
      runs.push(error === undefined ? { event, code: code ?? 0 } : { event, error });
    }
    return runs;
  }

  /**
   * Runs the statusline command with a statusline JSON for the turns so far (and the usage windows, when
   * given: a spent one walls the agent); returns what it printed.
   */
  async statusline(rateLimits?: SimRateLimits): Promise<string | undefined> {
    const command = this.#o.settings.statusLine;
    if (command === null) return undefined;
    this.#turns += 1;
    const json = {
      session_id: this.sessionId,
      transcript_path: this.transcriptPath,
      cwd: this.#o.cwd,
      model: { id: "sim", display_name: "Sim" },
      workspace: { current_dir: this.#o.cwd, project_dir: this.#o.cwd },
      version: "sim",
      cost: { total_cost_usd: 0.01 * this.#turns, total_lines_added: 0, total_lines_removed: 0 },
      context_window: {
        used_percentage: Math.min(100, this.#turns),
        context_window_size: 200_000,
        total_input_tokens: 1000 * this.#turns,
        total_output_tokens: 250 * this.#turns,
      },
      ...(rateLimits === undefined ? {} : { rate_limits: rateLimits }),
    };
    const result = await this.#sh(command, `${JSON.stringify(json)}\n`);
    return result.stdout;
  }

  async #sh(command: string, input: string): Promise<{ code?: number; error?: string; stdout?: string }> {
    try {
      const result = await run("sh", ["-c", command], {
        timeoutMs: HOOK_TIMEOUT_MS,
        signal: this.#o.signal,
        env: this.#o.env,
        input,
      });
      return { code: result.exitCode, stdout: result.stdout };
    } catch (error) {
      return { error: errorMessage(error) };
    }
  }
}
