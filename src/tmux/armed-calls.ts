import { paneTarget } from "./args.js";
import {
  ARM_FIRED_OPTION,
  ARM_LIMIT_OPTION,
  ARMED_EXIT_OPTION,
  armedBufferName,
  parseArmedExit,
  type ArmingCommand,
} from "./armed-hook.js";
import type { CallOptions, TmuxTransport } from "./transport.js";

/**
 * The tmux calls of pre-armed respawns (armed-hook.ts says what the hooks do): arming and disarming a
 * pane's hook, the town-wide allowance, and what a fired hook kept, read once.
 */
export class ArmedHookCalls {
  private readonly transport: TmuxTransport;

  constructor(transport: TmuxTransport) {
    this.transport = transport;
  }

  /**
   * Runs one arm or disarm command. One call each: chained, a session that vanished would make tmux drop
   * the commands after it.
   */
  async setArming(arming: ArmingCommand, options: CallOptions = {}): Promise<void> {
    await this.exec([arming.command], options);
  }

  /** Sets the town's allowance: armed hooks fire while tmux's fired count is below `limit`. */
  async setLimit(limit: number, options: CallOptions = {}): Promise<void> {
    await this.exec([["set-option", "-g", ARM_LIMIT_OPTION, String(limit)]], options);
  }

  /** The town's count of armed respawns made so far (0 when none was ever made). */
  async fired(options: CallOptions = {}): Promise<number> {
    const output = await this.exec([["show-options", "-gqv", ARM_FIRED_OPTION]], options);
    const fired = Number.parseInt(output.trim(), 10);
    return Number.isSafeInteger(fired) && fired >= 0 ? fired : 0;
  }

  /**
   * How the process `session`'s armed hook answered ended (parseArmedExit), taken out of tmux (read once):
   * undefined when its hook left nothing.
   */
  async takeExit(session: string, options: CallOptions = {}): Promise<number | null | undefined> {
    const target = paneTarget(session);
    const exit = await this.exec(
      [
        ["show-options", "-qv", "-t", target, ARMED_EXIT_OPTION],
        ["set-option", "-u", "-t", target, ARMED_EXIT_OPTION],
      ],
      options,
    ).catch(() => "");
    return parseArmedExit(exit);
  }

  /** The dead pane's last lines `session`'s armed hook kept, taken out of tmux (read once). */
  async takeLines(session: string, options: CallOptions = {}): Promise<string | undefined> {
    const buffer = armedBufferName(session);
    return this.exec(
      [
        ["show-buffer", "-b", buffer],
        ["delete-buffer", "-b", buffer],
      ],
      options,
    ).catch(() => undefined);
  }

  private exec(commands: readonly (readonly string[])[], options: CallOptions): Promise<string> {
    return this.transport.exec(commands, options, { startServer: false });
  }
}
