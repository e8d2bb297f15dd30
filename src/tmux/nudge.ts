import { AppError, errorMessage } from "../errors.js";
import { sleep } from "../util/sleep.js";
import type { TmuxClient } from "./client.js";

/** The two client calls a nudge needs (a narrow type so tests can stand in for tmux). */
export type NudgeTarget = Pick<TmuxClient, "sendLiteral" | "sendKey">;

export interface NudgerOptions {
  /** After typing, before Escape: lets the agent's prompt finish taking in (and pasting) the text. */
  textDelayMs?: number;
  /** After Escape, before Enter. */
  escapeDelayMs?: number;
  /** Between Enter attempts. */
  retryDelayMs?: number;
}

const ENTER_ATTEMPTS = 3;

/**
 * Makes `text` safe to type into an agent's prompt: a TAB would trigger completion, and other control
 * characters would act as key presses (C-c, C-d…). Newlines stay: multi-line prompts accept them.
 */
export function sanitiseNudge(text: string): string {
  return text.replaceAll("\t", " ").replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, "");
}

/**
 * Types a message into an agent's tmux pane and submits it, the way the reference system does (B116):
 * literal text, a pause, Escape, a pause, then Enter with retries. Nudges to one session are serialised
 * (B117) so two messages never interleave keystrokes; different sessions proceed concurrently.
 */
export class Nudger {
  private readonly client: NudgeTarget;
  private readonly textDelayMs: number;
  private readonly escapeDelayMs: number;
  private readonly retryDelayMs: number;
  /** The tail of each session's queue; removed once the last queued nudge settles. */
  private readonly tails = new Map<string, Promise<void>>();

  constructor(client: NudgeTarget, options: NudgerOptions = {}) {
    this.client = client;
    this.textDelayMs = options.textDelayMs ?? 500;
    this.escapeDelayMs = options.escapeDelayMs ?? 100;
    this.retryDelayMs = options.retryDelayMs ?? 200;
  }

  nudge(session: string, message: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    const previous = this.tails.get(session) ?? Promise.resolve();
    // A failed nudge must not block the ones queued after it.
    const current = previous
      .catch(() => undefined)
      .then(() => this.deliver(session, message, options.signal));
    const tail = current.catch(() => undefined);
    this.tails.set(session, tail);
    void tail.then(() => {
      if (this.tails.get(session) === tail) this.tails.delete(session);
    });
    return current;
  }

  private async deliver(session: string, message: string, signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    const call = signal === undefined ? {} : { signal };
    await this.client.sendLiteral(session, sanitiseNudge(message), call);
    await sleep(this.textDelayMs, signal);
    // Agent prompts with vim-style editing (Claude Code's vim mode) would otherwise still be in INSERT
    // mode, where Enter inserts a newline instead of submitting; Escape returns them to NORMAL mode, where
    // Enter submits. In a plain prompt, a lone Escape does nothing. Failure here is harmless. (A readline
    // prompt reads Escape+Enter within its 500 ms keyseq-timeout as M-Enter: the reference later raised
    // escapeDelayMs to 600 ms for that; the default stays at the seed's 100 ms.)
    await this.client.sendKey(session, "Escape", call).catch(() => undefined);
    await sleep(this.escapeDelayMs, signal);
    await this.pressEnter(session, signal);
  }

  private async pressEnter(session: string, signal: AbortSignal | undefined): Promise<void> {
    const call = signal === undefined ? {} : { signal };
    let lastError: unknown;
    for (let attempt = 1; attempt <= ENTER_ATTEMPTS; attempt += 1) {
      if (attempt > 1) await sleep(this.retryDelayMs, signal);
      try {
        await this.client.sendKey(session, "Enter", call);
        return;
      } catch (error) {
        lastError = error;
      }
    }
    throw new AppError(
      "E_NUDGE",
      `failed to send Enter after ${ENTER_ATTEMPTS} attempts: session "${session}": ${errorMessage(lastError)}`,
      { cause: lastError },
    );
  }
}
