import type { SimDialog } from "./dialog.js";
import type { SimRateLimits } from "./hooks.js";
import { ALLOWING_OPTIONS, permissionPrompt, rateLimitMenu, WAIT_FOR_RESET } from "./prompts.js";
import { printable } from "./text.js";
import { SimWall } from "./wall.js";

/** What Claude shows when a person interrupts its turn or refuses a tool (it fires no hook for either). */
export const INTERRUPTED = "  ⎿  Interrupted · What should Claude do instead?";

/** What the conversation needs of the agent that holds it. */
export interface ConversationHost {
  write(text: string): void;
  /** Runs the hooks of `event` (none without --settings). */
  fire(event: string, fields: Record<string, unknown>): Promise<void>;
  /** Runs the statusline command (with the usage windows, when given), unless the agent is gone. */
  statusline(rateLimits?: SimRateLimits): Promise<void>;
  log(type: string, fields: Record<string, unknown>): void;
  /** Whether the agent still takes input (not hung, not gone). */
  listening(): boolean;
  now(): number;
  /** Shows a menu the agent waits on; `answered` runs with the chosen option, then the prompt returns. */
  openMenu(menu: SimDialog, answered: (choice: number) => Promise<void>): void;
}

/**
 * What the simulated Claude does with prompts, the way Claude Code 2.1.332 does as its hooks and screen
 * show it (agent-states.md §3–4): a turn per prompt (UserPromptSubmit, the answer, Stop, the statusline);
 * behind a usage-limit wall, every turn fails with the wall's banner and a StopFailure instead; a tool
 * that needs permission asks (PreToolUse, PermissionRequest, the prompt, a permission_prompt notification)
 * and runs once allowed (PostToolUse, Stop).
 */
export class Conversation {
  readonly #host: ConversationHost;
  #wall: SimWall | undefined;

  constructor(host: ConversationHost) {
    this.#host = host;
  }

  /** A prompt's turn. Shown without control characters (the nudge's Escape would eat the prompt after it). */
  async answer(line: string): Promise<void> {
    const host = this.#host;
    const prompt = printable(line).trim() !== "";
    const wall = this.#wall;
    if (prompt && wall?.standsAt(host.now()) === true) {
      host.write(`received: ${printable(line)}\n`);
      await this.#hitWall(wall);
      return;
    }
    if (prompt) await host.fire("UserPromptSubmit", { prompt: line });
    host.write(`received: ${printable(line)}\n`);
    if (prompt && host.listening()) await this.turnEnd();
  }

  /**
   * A person's Escape ended the turn: "Interrupted", and no hook at all (Claude fires none for it, not even
   * Stop). The prompts queued during the turn follow, each a turn of its own.
   */
  async interrupted(queued: readonly string[]): Promise<void> {
    this.#host.write(`\n${INTERRUPTED}\n\n`);
    for (const line of queued) if (this.#host.listening()) await this.answer(line);
  }

  /** The end of a turn: Stop, then the statusline refresh. */
  async turnEnd(): Promise<void> {
    await this.#host.fire("Stop", { stop_hook_active: false });
    await this.#host.statusline();
  }

  /** `/sim wall`: the usage limit stops the turn, lifting `durationMs` from now; with Claude's menu or not. */
  async hitWall(durationMs: number, menu: boolean): Promise<void> {
    const host = this.#host;
    const wall = new SimWall(host.now(), durationMs);
    this.#wall = wall;
    host.log("wall", { resets_at: new Date(wall.resetsAt).toISOString(), banner: wall.banner });
    await this.#hitWall(wall);
    if (!menu || !host.listening()) return;
    host.openMenu(rateLimitMenu(), (choice) => {
      if (choice !== 0) host.write(`  ⎿  (simulated: no plan to upgrade; still ${WAIT_FOR_RESET})\n`);
      return Promise.resolve();
    });
  }

  /**
   * `/sim permission`: Claude asks before `tool` runs `command`; Yes runs it, and the turn ends (Stop)
   * unless it goes on (`midTurn`: a busy turn asked); No interrupts the turn.
   */
  async askPermission(tool: string, command: string, midTurn: boolean): Promise<void> {
    const host = this.#host;
    const fields = { tool_name: tool, tool_input: { command } };
    await host.fire("PreToolUse", fields);
    await host.fire("PermissionRequest", { ...fields, permission_suggestions: [] });
    if (!host.listening()) return;
    host.openMenu(permissionPrompt(tool, printable(command)), async (choice) => {
      if (!ALLOWING_OPTIONS.has(choice)) {
        host.write(`${INTERRUPTED}\n\n`);
        return;
      }
      host.write(`  ⎿  ran: ${printable(command)}\n`);
      await host.fire("PostToolUse", { ...fields, tool_response: { stdout: "", stderr: "" } });
      if (host.listening() && !midTurn) await this.turnEnd();
    });
    // Once the prompt shows, Claude notifies too; its notification names the tool only.
    const message = `Claude needs your permission to use ${tool}`;
    await host.fire("Notification", { notification_type: "permission_prompt", message });
  }

  /** A turn the usage limit stopped: Claude's banner, StopFailure, and the statusline's spent window. */
  async #hitWall(wall: SimWall): Promise<void> {
    this.#host.write(wall.screenText);
    await this.#host.fire("StopFailure", wall.stopFailure);
    await this.#host.statusline(wall.rateLimits);
  }
}
