import { formatStartupBeacon, propulsionNudge, startupPrompt } from "../agents/beacon.js";
import type { ResolvedRuntime } from "../agents/runtime.js";
import type { TmuxClient } from "../tmux/client.js";
import type { Nudger } from "../tmux/nudge.js";
import type { AgentId } from "../town/identity.js";
import { sleep } from "../util/sleep.js";
import { elapsedMs } from "../util/monotonic-clock.js";
import { answerKeys, type DialogAnswers, type DialogSpec } from "./dialogs.js";
import { parseScreen, plainText } from "./screen.js";
import {
  readStartupScreen,
  readerFor,
  sameView,
  type StartupReader,
  type StartupView,
} from "./startup-screen.js";

export type StartupStep = "beacon" | "nudge";

export interface StartupTarget {
  readonly id: AgentId;
  readonly identity: string;
  readonly session: string;
  readonly runtime: ResolvedRuntime;
  /** `patrol` for a supervised start, `handoff` after a cycle, `lifecycle-restart` after a restart (§13). */
  readonly topic: string;
  /** Steps an earlier daemon already carried out for this generation: they are not sent again. */
  readonly done?: ReadonlySet<StartupStep>;
}

/** What the start-up sequence tells the daemon as it goes. */
export interface StartupEvents {
  dialogAnswered(dialog: DialogSpec, option: string): void;
  /** A dialog or menu townd must not answer is on screen: no key is sent until it is gone. */
  needsHuman(why: string, screen: string): void;
  /** The screen no longer shows what needed a person. */
  unblocked(): void;
  sent(step: StartupStep): void;
}

export interface StartupDeps {
  readonly client: Pick<TmuxClient, "captureScreen" | "sendKey">;
  readonly nudger: Pick<Nudger, "nudge">;
  /** Pause between the startup beacon and the propulsion nudge (the reference waits 2 s). */
  readonly betweenNudgesMs: number;
  readonly now: () => Date;
  readonly answers: DialogAnswers;
  readonly events: StartupEvents;
  /** Between two looks at the screen. */
  readonly pollMs?: number;
}

export type StartupOutcome = "ready" | "prompt-timeout";

/** A dialog still on screen after this many answers is left to a person. */
const MAX_ANSWERS_PER_DIALOG = 3;
const DEFAULT_POLL_MS = 200;

/**
 * The start-up sequence (reference §5.1, §15, B31, B118), made safe for real CLIs: answer the dialogs
 * the runtime's profile knows by moving the `❯` cursor and pressing Enter (never by typing), leave every
 * other dialog or menu to a person, wait for the CLI's ready screen, then send the startup beacon and the
 * role's propulsion nudge — each only while no dialog is on screen. Runs per agent in the background (I8)
 * and ends when `signal` aborts (the agent died or was replaced, or the daemon stops).
 */
export async function runStartup(
  target: StartupTarget,
  deps: StartupDeps,
  signal: AbortSignal,
): Promise<StartupOutcome> {
  const { runtime } = target;
  const reader = readerFor(runtime, deps.answers);
  const screen = new StartupScreenWatch(target.session, reader, deps, signal);
  const outcome = await screen.untilReady(runtime.readyTimeoutMs, runtime.startupDelayMs);
  // Started with its prompt (Boot): the dialogs are answered, but nothing is typed into it.
  if (startupPrompt(target.id.role) !== null) return outcome;
  if (reader.ready !== null) await sleep(runtime.startupDelayMs, signal);
  const done = target.done ?? new Set<StartupStep>();
  if (!done.has("beacon")) {
    await screen.untilClear();
    const beacon = formatStartupBeacon(
      { recipient: target.identity, sender: "daemon", topic: target.topic },
      deps.now(),
    );
    await deps.nudger.nudge(target.session, beacon, { signal });
    deps.events.sent("beacon");
    await sleep(deps.betweenNudgesMs, signal);
  }
  if (!done.has("nudge")) {
    await screen.untilClear();
    await deps.nudger.nudge(target.session, propulsionNudge(target.id.role), { signal });
    deps.events.sent("nudge");
  }
  return outcome;
}

/** Looks at one agent's screen during start-up and answers what may be answered. */
class StartupScreenWatch {
  private readonly answered = new Map<string, number>();
  private blockedBy: string | null = null;
  private readonly pollMs: number;
  private readonly session: string;
  private readonly reader: StartupReader;
  private readonly deps: StartupDeps;
  private readonly signal: AbortSignal;

  constructor(session: string, reader: StartupReader, deps: StartupDeps, signal: AbortSignal) {
    this.session = session;
    this.reader = reader;
    this.deps = deps;
    this.signal = signal;
    this.pollMs = deps.pollMs ?? DEFAULT_POLL_MS;
  }

  /**
   * Until the CLI is ready for input. A runtime with no ready screen is taken as ready once nothing has
   * been recognised for `quietMs`. Past `timeoutMs` with no dialog on screen: "prompt-timeout" (the caller
   * goes on); with a dialog townd may not answer, it keeps waiting for a person, sending nothing.
   */
  async untilReady(timeoutMs: number, quietMs: number): Promise<StartupOutcome> {
    const deadline = elapsedMs() + timeoutMs;
    let quietSince = elapsedMs();
    let previous: StartupView | undefined;
    for (;;) {
      const view = await this.look();
      switch (view.kind) {
        case "ready":
          // Confirmed on two looks: Claude's prompt flashes between screens.
          if (previous?.kind === "ready") return "ready";
          break;
        case "answer":
          // A dialog is answered only once it has stood still for one poll (fully drawn).
          if (previous !== undefined && sameView(previous, view)) {
            await this.answer(view);
            previous = undefined;
            quietSince = elapsedMs();
            continue;
          }
          quietSince = elapsedMs();
          break;
        case "leave":
        case "unknown":
          quietSince = elapsedMs();
          break;
        case "waiting":
          if (this.reader.ready === null && elapsedMs() - quietSince >= quietMs) return "ready";
          if (elapsedMs() >= deadline) return "prompt-timeout";
          break;
      }
      previous = view;
      await sleep(this.blockedBy === null ? this.pollMs : this.pollMs * 5, this.signal);
    }
  }

  /** Returns once no dialog or menu is on screen, answering or waiting as untilReady does. */
  async untilClear(): Promise<void> {
    const view = await this.look();
    if (view.kind === "ready" || view.kind === "waiting") return;
    await this.untilReady(0, 0);
  }

  private async look(): Promise<StartupView> {
    const captured = await this.deps.client.captureScreen(this.session, { signal: this.signal });
    const screen = parseScreen(captured);
    let view = readStartupScreen(screen, this.reader);
    if (view.kind === "answer" && (this.answered.get(view.dialog.id) ?? 0) >= MAX_ANSWERS_PER_DIALOG) {
      view = {
        kind: "leave",
        dialog: view.dialog,
        why: `${view.dialog.title} still shows after ${MAX_ANSWERS_PER_DIALOG} answers`,
      };
    }
    if (view.kind === "leave" || view.kind === "unknown") {
      if (this.blockedBy !== view.why) this.deps.events.needsHuman(view.why, plainText(screen));
      this.blockedBy = view.why;
    } else if (this.blockedBy !== null) {
      this.blockedBy = null;
      this.deps.events.unblocked();
    }
    return view;
  }

  /** Moves the cursor to the wanted option, checks it got there, then presses Enter. */
  private async answer(view: Extract<StartupView, { kind: "answer" }>): Promise<void> {
    const { dialog } = view;
    this.answered.set(dialog.id, (this.answered.get(dialog.id) ?? 0) + 1);
    const keys = answerKeys(view.menu, view.target);
    const arrows = keys.slice(0, -1);
    for (const key of arrows) {
      await this.deps.client.sendKey(this.session, key, { signal: this.signal });
      await sleep(50, this.signal);
    }
    if (arrows.length > 0) {
      await sleep(this.pollMs, this.signal);
      const moved = await this.look();
      if (moved.kind !== "answer" || moved.dialog.id !== dialog.id || moved.menu.cursor !== view.target) {
        // Something else is on screen now, or the cursor did not follow: press nothing.
        return;
      }
    }
    await this.deps.client.sendKey(this.session, "Enter", { signal: this.signal });
    this.deps.events.dialogAnswered(dialog, view.says);
    await sleep(this.pollMs, this.signal);
  }
}
