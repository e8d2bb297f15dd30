import { AppError, errorMessage } from "../errors.js";
import { parseSimCommand, type SimCommand } from "./commands.js";
import { startupDialog, type FeedResult, type SimDialog } from "./dialog.js";
import { SIM_SCREENS } from "./screens.js";
import { HeartbeatWriter } from "./heartbeat.js";
import { loadSimHookSettings, SimHooks } from "./hooks.js";
import { SimLog } from "./log.js";
import type { SimAgentOptions } from "./options.js";
import { runChild } from "./run-child.js";
import { LineBuffer, printable, visibleTitle } from "./text.js";
import { TurnInput, type TurnFeed } from "./turn-input.js";
import { SimTerminal } from "./terminal.js";
import { Conversation } from "./conversation.js";

type Signal = "SIGTERM" | "SIGINT" | "SIGHUP";
const SIGNALS: readonly Signal[] = ["SIGTERM", "SIGINT", "SIGHUP"];

/** A lone Escape byte followed by nothing for this long was the Escape key, not an arrow key's start. */
const ESCAPE_WAIT_MS = 50;

export interface SignalSource {
  on(signal: Signal, listener: () => void): unknown;
  off(signal: Signal, listener: () => void): unknown;
}

export interface SimAgentIo {
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  readonly stdout: NodeJS.WritableStream;
  readonly now?: () => Date;
  /** Ends the process (the CLI passes process.exit); called once, after everything is cleaned up. */
  exit(code: number): void;
  /** Where SIGTERM, SIGINT and SIGHUP come from (default: the process). */
  readonly signals?: SignalSource;
  /** Sets the title tmux shows as the pane's current command (default: process.title). */
  setTitle?(title: string): void;
}

type Phase = "starting" | "dialog" | "ready" | "hung" | "done";

/** Claude Code's input prompt, which townd's Claude profile reads as "ready". */
export const PROMPT = "❯ ";
/** Claude Code's working spinner line (gerund, ellipsis, live timer, interrupt hint). */
export const WORKING_LINE = "✻ Working… (12s · ↓ 0 tokens · esc to interrupt)";

/**
 * Runs the simulated agent until it exits, crashes or is signalled; resolves with the exit code
 * (after calling `io.exit` with it). Throws an AppError (exit 2) when the log file cannot be written.
 */
export async function runSimAgent(options: SimAgentOptions, io: SimAgentIo): Promise<number> {
  return new SimAgent(options, io).start();
}

class SimAgent {
  readonly #options: SimAgentOptions;
  readonly #io: SimAgentIo;
  readonly #now: () => Date;
  readonly #signals: SignalSource;
  readonly #terminal: SimTerminal;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #children = new AbortController();
  readonly #signalHandlers = new Map<Signal, () => void>();
  #phase: Phase = "starting";
  #keepAlive: NodeJS.Timeout | undefined;
  #heartbeat: HeartbeatWriter | undefined;
  #heartbeatStopped = false;
  #hooks: SimHooks | undefined;
  #dialog: SimDialog | undefined;
  /** What answering the dialog on screen leads to: the next start-up dialog, or a menu's outcome. */
  #dialogDone: (dialog: SimDialog, rest: string) => void = (_dialog, rest) => {
    // Like Claude Code, the dialog leaves the screen: a daemon that looks for it again must not find it.
    this.#terminal.clear(this.#banner());
    this.#nextDialogOrReady(rest);
  };
  /** A `/sim screen` modal screen is up: the next prompt is drawn only after the next input line. */
  #modalUntilInput = false;
  /** A turn in progress (`--busy`): the input box takes keys in raw mode, Escape interrupts it. */
  #turn: TurnInput | undefined;
  readonly #conversation = new Conversation({
    write: (text) => {
      this.#write(text);
    },
    fire: (event, fields) => this.#fire(event, fields),
    statusline: async (rateLimits) => {
      if (this.#phase !== "done") await this.#hooks?.statusline(rateLimits);
    },
    log: (type, fields) => {
      this.#log(type, fields);
    },
    listening: () => this.#listening(),
    now: () => this.#now().getTime(),
    openMenu: (menu, answered) => {
      this.#openMenu(menu, answered);
    },
  });
  readonly #logFile: SimLog;
  /** Dialogs still to show after the current one. */
  #dialogsLeft: SimDialog[] = [];
  readonly #lines = new LineBuffer();
  #queue: Promise<void> = Promise.resolve();
  #logFailed = false;
  #resolve: (code: number) => void = () => undefined;

  constructor(options: SimAgentOptions, io: SimAgentIo) {
    this.#options = options;
    this.#io = io;
    this.#now = io.now ?? (() => new Date());
    this.#signals = io.signals ?? process;
    this.#terminal = new SimTerminal(io, {
      onData: this.#onData,
      onEnd: this.#onEnd,
      onGone: () => {
        this.#finish("exit", 0, "stdout closed");
      },
    });
    this.#logFile = new SimLog(options.logFile, this.#now, options.generation);
  }

  start(): Promise<number> {
    this.#setTitle(this.#options.title);
    try {
      const { title, identity, resume } = this.#options;
      this.#logFile.append("start", { title, identity, ...(resume === undefined ? {} : { resume }) });
    } catch (error) {
      throw new AppError(
        "E_SIM_LOG",
        `cannot write the log file ${this.#options.logFile ?? ""}: ${errorMessage(error)}`,
        { exitCode: 2 },
      );
    }
    const settings = this.#options.settingsFile;
    if (settings !== undefined) {
      const hookSettings = loadSimHookSettings(settings);
      const { env } = this.#options;
      this.#hooks = new SimHooks({
        settings: hookSettings,
        env,
        cwd: process.cwd(),
        signal: this.#children.signal,
        sessionId: this.#options.resume,
      });
    }
    const done = new Promise<number>((resolve) => {
      this.#resolve = resolve;
    });
    // Nothing else may keep the process alive (stdin can reach EOF); finish() clears this.
    this.#keepAlive = setInterval(() => undefined, 2 ** 30);
    for (const signal of SIGNALS) {
      const handler = (): void => {
        this.#onSignal(signal);
      };
      this.#signalHandlers.set(signal, handler);
      this.#signals.on(signal, handler);
    }

    const { crashAfterMs, exitAfterMs, hangAfterMs, stopHeartbeatAfterMs, startupDelayMs } = this.#options;
    if (this.#options.refusal !== undefined) {
      // Like Claude Code's root check: one line on the terminal, exit 1, before anything is drawn.
      this.#finish("exit", 1, "refused to start", this.#options.refusal);
      return done;
    }
    if (crashAfterMs === 0) {
      this.#crash(this.#options.exitCode, "--crash-after 0s");
      return done;
    }
    if (exitAfterMs === 0) {
      this.#finish("exit", 0, "--exit-after 0s");
      return done;
    }
    if (hangAfterMs === 0) {
      this.#hang("--hang-after 0s");
      return done;
    }
    if (crashAfterMs !== undefined)
      this.#after(crashAfterMs, () => {
        this.#crash(this.#options.exitCode, "--crash-after");
      });
    if (exitAfterMs !== undefined)
      this.#after(exitAfterMs, () => {
        this.#finish("exit", 0, "--exit-after");
      });
    if (hangAfterMs !== undefined)
      this.#after(hangAfterMs, () => {
        this.#hang("--hang-after");
      });
    // 0s: a Deacon that never heartbeats at all.
    if (stopHeartbeatAfterMs === 0) this.#stopHeartbeat("--stop-heartbeat-after 0s");
    else if (stopHeartbeatAfterMs !== undefined)
      this.#after(stopHeartbeatAfterMs, () => {
        this.#stopHeartbeat("--stop-heartbeat-after");
      });
    if (startupDelayMs > 0)
      this.#after(startupDelayMs, () => {
        this.#appear();
      });
    else this.#appear();
    return done;
  }

  // ── phases ──────────────────────────────────────────────────────────────────────────────────

  /** The end of the startup delay: the banner, then the dialogs one by one, then the prompt. */
  #appear(): void {
    this.#write(this.#banner());
    this.#dialogsLeft = this.#options.dialogs.map((kind) => startupDialog(kind, process.cwd()));
    this.#nextDialogOrReady("");
  }

  #nextDialogOrReady(rest: string): void {
    const next = this.#dialogsLeft.shift();
    if (next === undefined) {
      this.#dialog = undefined;
      this.#ready(rest);
      return;
    }
    this.#phase = "dialog";
    this.#dialog = next;
    // Like Claude Code, each dialog takes the whole screen: the one before it is gone.
    this.#terminal.clear(this.#banner());
    this.#write(next.render());
    // In a terminal the arrow keys only arrive one by one in raw mode; through a pipe, bytes are bytes.
    this.#terminal.setRaw(true);
    this.#terminal.startReading();
    if (rest !== "") this.#onData(rest);
  }

  #banner(): string {
    const { title, identity, generation } = this.#options;
    return `sim-agent ${title} · ${identity} · generation ${generation ?? "none"}\n`;
  }

  #ready(rest: string): void {
    this.#phase = "ready";
    this.#terminal.setRaw(false);
    const file = this.#options.heartbeatFile;
    if (file !== undefined && !this.#heartbeatStopped) {
      this.#heartbeat = new HeartbeatWriter({
        file,
        intervalMs: this.#options.heartbeatIntervalMs,
        now: this.#now,
        onBeat: (beat) => {
          if (this.#phase !== "done") this.#log("heartbeat", { cycle: beat.cycle });
        },
        onError: (error) => {
          this.#write(`sim-agent: cannot write heartbeat ${file}: ${errorMessage(error)}\n`);
        },
      });
      this.#heartbeat.start();
    }
    this.#write(PROMPT);
    this.#terminal.startReading();
    // Like Claude: SessionStart once the dialogs are gone and the prompt shows, before any input is handled.
    const source = this.#options.resume === undefined ? "startup" : "resume";
    this.#queue = this.#queue.then(() => this.#fire("SessionStart", { source, model: "sim" }));
    // Like Claude started with a prompt: it is the first turn (one line: a newline would end it early).
    const prompt = this.#options.prompt;
    if (prompt !== undefined) this.#acceptLine(prompt.replace(/[\r\n]+/g, " "));
    if (this.#options.busy) {
      // A turn that never ends by itself: Claude's spinner above its input line, and no Stop hook.
      this.#turn = new TurnInput();
      this.#terminal.setRaw(true);
      this.#queue = this.#queue.then(async () => {
        await this.#fire("UserPromptSubmit", { prompt: "(busy)" });
        this.#write(`\n${WORKING_LINE}\n${PROMPT}`);
      });
    }
    if (rest !== "") this.#onData(rest);
  }

  /** Alive, silent, deaf: no input is read, no heartbeat written, no timer fires. Only signals act. */
  #hang(reason: string): void {
    if (this.#phase === "done" || this.#phase === "hung") return;
    // Busy but hung, as real CLIs hang: the spinner stays on screen while nothing moves.
    if (this.#phase === "ready") this.#write(`\n${WORKING_LINE}\n`);
    this.#phase = "hung";
    this.#log("hang", { reason });
    this.#clearTimers();
    this.#stopHeartbeat(reason);
    this.#terminal.stopReading();
  }

  #crash(code: number, reason: string): void {
    this.#finish("crash", code, reason, `sim-agent: crashing with exit code ${code} (${reason})`);
  }

  #finish(type: "exit" | "crash", code: number, reason: string, message?: string): void {
    if (this.#phase === "done") return;
    this.#write(`${message ?? `sim-agent: exiting (${reason})`}\n`);
    this.#phase = "done";
    this.#clearTimers();
    clearInterval(this.#keepAlive);
    void this.#heartbeat?.stop();
    this.#terminal.stopReading();
    this.#terminal.setRaw(false);
    this.#children.abort();
    for (const [signal, handler] of this.#signalHandlers) this.#signals.off(signal, handler);
    // The stdout "error" listener stays: a late write error must not become an uncaught exception.
    this.#log(type, { code, reason });
    this.#io.exit(code);
    this.#resolve(code);
  }

  /** Stops heartbeating for good; logs `heartbeat-stopped` once no write is under way any more. */
  #stopHeartbeat(reason: string): void {
    if (this.#heartbeatStopped || this.#options.heartbeatFile === undefined) return;
    this.#heartbeatStopped = true;
    const landed = this.#heartbeat?.stop() ?? Promise.resolve();
    void landed.then(() => {
      if (this.#phase !== "done") this.#log("heartbeat-stopped", { reason });
    });
  }

  // ── events ──────────────────────────────────────────────────────────────────────────────────

  #onSignal(signal: Signal): void {
    if (this.#phase === "done") return;
    const ignored =
      this.#options.hangIgnoresSignals || (this.#options.hangIgnoresSigterm && signal !== "SIGHUP");
    if (this.#phase === "hung" && ignored) {
      this.#log("signal", { signal, ignored: true });
      return;
    }
    this.#log("signal", { signal });
    this.#finish("exit", 0, signal);
  }

  readonly #onData = (chunk: string | Buffer): void => {
    const text = typeof chunk === "string" ? chunk : chunk.toString("utf8");
    if (this.#phase === "dialog" && this.#dialog !== undefined) {
      const dialog = this.#dialog;
      this.#dialogKeys(dialog, dialog.feed(text));
      if (dialog.escapePending)
        this.#after(ESCAPE_WAIT_MS, () => {
          if (this.#dialog === dialog) this.#dialogKeys(dialog, dialog.flushEscape());
        });
      return;
    }
    if (this.#phase !== "ready") return;
    const turn = this.#turn;
    if (turn === undefined) {
      this.#onText(text);
      return;
    }
    this.#turnKeys(turn.feed(text));
    if (turn.escapePending)
      this.#after(ESCAPE_WAIT_MS, () => {
        if (this.#turn === turn) this.#turnKeys(turn.flushEscape());
      });
  };

  #dialogKeys(dialog: SimDialog, result: FeedResult): void {
    if (result.moved) this.#terminal.redrawOptions(dialog);
    switch (result.outcome) {
      case "pending":
        return;
      case "chosen":
        this.#log("dialog", { dialog: dialog.kind, choice: dialog.selectedOption });
        this.#dialogDone(dialog, result.rest);
        return;
      case "exit":
        this.#log("dialog", { dialog: dialog.kind, choice: dialog.selectedOption, exit: true });
        this.#finish("exit", 1, `${dialog.kind} dialog: ${dialog.selectedOption}`);
        return;
      case "interrupted":
        // Ctrl-C in raw mode arrives as a byte, not as SIGINT.
        this.#onSignal("SIGINT");
        return;
    }
  }

  /** Keys typed into the input box during a turn: queued prompts, an interrupt, Ctrl-C. */
  #turnKeys(feed: TurnFeed): void {
    if (this.#terminal.tty) this.#write(feed.echo);
    for (const event of feed.events) {
      if (event.kind === "line") this.#acceptLine(event.text);
      else if (event.kind === "ctrl-c") this.#onSignal("SIGINT");
      else this.#queue = this.#queue.then(() => this.#interrupt());
    }
  }

  /** Escape on an empty input box ends the turn; the input line is read line by line again. */
  async #interrupt(): Promise<void> {
    const turn = this.#turn;
    if (turn === undefined || this.#phase !== "ready") return;
    this.#turn = undefined;
    this.#terminal.setRaw(false);
    this.#log("interrupt", { queued: turn.queued.length });
    await this.#conversation.interrupted(turn.queued);
    if (this.#listening()) this.#write(PROMPT);
  }

  /**
   * Shows a menu Claude waits on mid-session (a permission prompt, the usage-limit options); `answered`
   * runs in turn with the input lines once a key chooses an option, and the prompt comes back after it.
   */
  #openMenu(menu: SimDialog, answered: (choice: number) => Promise<void>): void {
    this.#phase = "dialog";
    this.#dialog = menu;
    this.#write(menu.render());
    this.#terminal.setRaw(true);
    this.#dialogDone = (dialog, rest) => {
      // Like Claude Code, the menu leaves the screen: a daemon that looks for it again must not find it.
      this.#terminal.erase(dialog.lineCount);
      this.#dialog = undefined;
      this.#phase = "ready";
      this.#terminal.setRaw(this.#turn !== undefined);
      const choice = dialog.selected;
      this.#queue = this.#queue
        .then(() => answered(choice))
        .then(() => {
          if (this.#listening()) this.#write(PROMPT);
        });
      if (rest !== "") this.#onData(rest);
    };
  }

  readonly #onEnd = (): void => {
    if (this.#phase !== "ready" && this.#phase !== "dialog") return;
    const last = this.#lines.takeRest();
    if (last !== "") this.#acceptLine(last);
    this.#log("eof", { tty: this.#terminal.tty });
    // A terminal's EOF means the pane is going away; a pipe's EOF leaves the lifetime to signals.
    if (this.#terminal.tty) {
      this.#queue = this.#queue.then(() => {
        this.#finish("exit", 0, "end of input");
      });
    }
  };

  #onText(text: string): void {
    for (const line of this.#lines.push(text)) this.#acceptLine(line);
  }

  /** Logs the line at once (verbatim), then handles it in order after the lines before it. */
  #acceptLine(line: string): void {
    this.#log("input", { text: line });
    this.#queue = this.#queue
      .then(() => this.#handleLine(line))
      .catch((error: unknown) => {
        this.#write(`sim-agent: internal error: ${errorMessage(error)}\n> `);
      });
  }

  async #handleLine(line: string): Promise<void> {
    if (this.#phase !== "ready") return;
    const command = parseSimCommand(line);
    if (command === undefined && this.#turn !== undefined) {
      // Like Claude mid-turn: a typed prompt waits for the turn to end.
      if (printable(line).trim() !== "") this.#turn.queued.push(line);
      return;
    }
    if (command === undefined) {
      await this.#conversation.answer(line);
    } else {
      this.#write(`received: ${printable(line)}\n`);
      await this.#execute(command);
    }
    // The command may have ended or hung the agent; only a listening agent shows a prompt.
    if (this.#modalUntilInput) {
      this.#modalUntilInput = false;
      return;
    }
    if (this.#listening()) this.#write(PROMPT);
  }

  #listening(): boolean {
    return this.#phase === "ready";
  }

  async #execute(command: SimCommand): Promise<void> {
    switch (command.kind) {
      case "crash":
        this.#crash(command.code ?? this.#options.exitCode, "/sim crash");
        return;
      case "exit":
        this.#finish("exit", 0, "/sim exit");
        return;
      case "hang":
        this.#hang("/sim hang");
        return;
      case "stop-heartbeat":
        this.#stopHeartbeat("/sim stop-heartbeat");
        this.#write(
          this.#options.heartbeatFile === undefined ? "no heartbeat to stop\n" : "heartbeat stopped\n",
        );
        return;
      case "title":
        this.#setTitle(command.title);
        this.#log("title", { title: command.title });
        this.#write(`title: ${command.title}\n`);
        return;
      case "run": {
        const child = await runChild(command.argv, this.#options.env, this.#children.signal);
        if (this.#phase === "done") return;
        this.#write(child.shown);
        this.#log("run", child.logged);
        return;
      }
      case "screen": {
        const screen = SIM_SCREENS[command.name];
        if (screen === undefined) return;
        this.#write(`${screen.lines.join("\n")}\n`);
        // A modal screen (a permission prompt, a menu) is what the CLI waits on: no input line below it.
        if (screen.modal) this.#modalUntilInput = true;
        return;
      }
      case "hook":
        if (this.#hooks === undefined) this.#write("no --settings: no hooks to fire\n");
        else await this.#fire(command.event, command.fields);
        return;
      case "wall":
        await this.#conversation.hitWall(command.durationMs, command.menu);
        return;
      case "permission":
        await this.#conversation.askPermission(command.tool, command.command, this.#turn !== undefined);
        return;
      case "invalid":
        this.#write(`${command.message}\n`);
        return;
    }
  }

  /** Runs the hooks of `event` (when --settings names any) and logs each run. */
  async #fire(event: string, fields: Record<string, unknown>): Promise<void> {
    if (this.#hooks === undefined || this.#phase === "done") return;
    for (const result of await this.#hooks.fire(event, fields)) this.#log("hook", { ...result });
  }

  // ── plumbing ────────────────────────────────────────────────────────────────────────────────

  #after(ms: number, action: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      action();
    }, ms);
    this.#timers.add(timer);
  }

  #clearTimers(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  #setTitle(title: string): void {
    if (this.#io.setTitle !== undefined) {
      this.#io.setTitle(title);
      return;
    }
    process.title = title;
    // Linux keeps the title in the space of the original command line: a longer title is cut short.
    const shown = visibleTitle();
    if (shown !== undefined && shown !== title)
      this.#write(`sim-agent: the title shows as "${shown}" (longer than the original command line)\n`);
  }

  #write(text: string): void {
    if (this.#phase !== "done") this.#terminal.write(text);
  }

  #log(type: string, fields: Record<string, unknown>): void {
    try {
      this.#logFile.append(type, fields);
    } catch (error) {
      if (this.#logFailed) return;
      this.#logFailed = true;
      this.#write(`sim-agent: cannot write the log file: ${errorMessage(error)}\n`);
    }
  }
}
