import { appendFileSync, readFileSync } from "node:fs";
import { AppError, errorMessage } from "../errors.js";
import { run } from "../proc/run.js";
import { parseSimCommand, type SimCommand } from "./commands.js";
import { SimDialog } from "./dialog.js";
import { SIM_SCREENS } from "./screens.js";
import { HeartbeatWriter } from "./heartbeat.js";
import { loadSimHookSettings, SimHooks } from "./hooks.js";
import type { SimAgentOptions } from "./options.js";

type Signal = "SIGTERM" | "SIGINT" | "SIGHUP";
const SIGNALS: readonly Signal[] = ["SIGTERM", "SIGINT", "SIGHUP"];

/** `/sim run` children are killed after this long (the agent never waits forever). */
const RUN_TIMEOUT_MS = 10 * 60_000;

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
  readonly #tty: boolean;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #children = new AbortController();
  readonly #signalHandlers = new Map<Signal, () => void>();
  #phase: Phase = "starting";
  #keepAlive: NodeJS.Timeout | undefined;
  #heartbeat: HeartbeatWriter | undefined;
  #heartbeatStopped = false;
  #hooks: SimHooks | undefined;
  #dialog: SimDialog | undefined;
  /** A `/sim screen` modal screen is up: the next prompt is drawn only after the next input line. */
  #modalUntilInput = false;
  /** Dialogs still to show after the current one. */
  #dialogsLeft: SimDialog[] = [];
  #reading = false;
  #raw = false;
  #lineBuffer = "";
  #queue: Promise<void> = Promise.resolve();
  #logFailed = false;
  #stdoutBroken = false;
  #resolve: (code: number) => void = () => undefined;

  constructor(options: SimAgentOptions, io: SimAgentIo) {
    this.#options = options;
    this.#io = io;
    this.#now = io.now ?? (() => new Date());
    this.#signals = io.signals ?? process;
    this.#tty = io.stdin.isTTY === true;
  }

  start(): Promise<number> {
    this.#setTitle(this.#options.title);
    try {
      this.#appendLog("start", { title: this.#options.title, identity: this.#options.identity });
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
    this.#io.stdout.on("error", this.#onStdoutError);

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
    this.#dialogsLeft = this.#options.dialogs.map((kind) => new SimDialog(kind, process.cwd()));
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
    if (this.#tty) this.#write(`\x1b[H\x1b[2J${this.#banner()}`);
    this.#write(next.render());
    // In a terminal the arrow keys only arrive one by one in raw mode; through a pipe, bytes are bytes.
    this.#setRaw(true);
    this.#startReading();
    if (rest !== "") this.#onData(rest);
  }

  #banner(): string {
    const { title, identity, generation } = this.#options;
    return `sim-agent ${title} · ${identity} · generation ${generation ?? "none"}\n`;
  }

  #ready(rest: string): void {
    this.#phase = "ready";
    this.#setRaw(false);
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
    this.#startReading();
    // Like Claude: SessionStart once the dialogs are gone and the prompt shows, before any input is handled.
    this.#queue = this.#queue.then(() => this.#fire("SessionStart", { source: "startup", model: "sim" }));
    // Like Claude started with a prompt: it is the first turn (one line: a newline would end it early).
    const prompt = this.#options.prompt;
    if (prompt !== undefined) this.#acceptLine(prompt.replace(/[\r\n]+/g, " "));
    if (this.#options.busy) {
      // A turn that never ends: Claude's spinner above its input line, and no Stop hook.
      this.#queue = this.#queue.then(async () => {
        await this.#fire("UserPromptSubmit", { prompt: "(busy)" });
        this.#write(`\n${WORKING_LINE}\n${PROMPT}`);
      });
    }
    if (rest !== "") this.#onText(rest);
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
    this.#stopReading();
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
    this.#stopReading();
    this.#setRaw(false);
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

  readonly #onStdoutError = (): void => {
    // The terminal or the pipe is gone: nobody can see the agent any more, and nothing more is written.
    this.#stdoutBroken = true;
    this.#finish("exit", 0, "stdout closed");
  };

  readonly #onData = (chunk: string | Buffer): void => {
    const text = typeof chunk === "string" ? chunk : chunk.toString("utf8");
    if (this.#phase === "dialog" && this.#dialog !== undefined) {
      const result = this.#dialog.feed(text);
      if (result.moved && this.#tty) this.#redrawDialogOptions(this.#dialog);
      const dialog = this.#dialog;
      switch (result.outcome) {
        case "pending":
          return;
        case "chosen":
          this.#log("dialog", { dialog: dialog.kind, choice: dialog.selectedOption });
          // Like Claude Code, the dialog leaves the screen: a daemon that looks for it again must not find it.
          if (this.#tty) this.#write(`\x1b[H\x1b[2J${this.#banner()}`);
          this.#nextDialogOrReady(result.rest);
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
    if (this.#phase === "ready") this.#onText(text);
  };

  readonly #onEnd = (): void => {
    if (this.#phase !== "ready" && this.#phase !== "dialog") return;
    if (this.#lineBuffer !== "") {
      const last = this.#lineBuffer;
      this.#lineBuffer = "";
      this.#acceptLine(last);
    }
    this.#log("eof", { tty: this.#tty });
    // A terminal's EOF means the pane is going away; a pipe's EOF leaves the lifetime to signals.
    if (this.#tty) {
      this.#queue = this.#queue.then(() => {
        this.#finish("exit", 0, "end of input");
      });
    }
  };

  #onText(text: string): void {
    this.#lineBuffer += text;
    let newline = this.#lineBuffer.indexOf("\n");
    while (newline !== -1) {
      const line = this.#lineBuffer.slice(0, newline).replace(/\r$/, "");
      this.#lineBuffer = this.#lineBuffer.slice(newline + 1);
      this.#acceptLine(line);
      newline = this.#lineBuffer.indexOf("\n");
    }
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
    // Shown without control characters (the nudge's Escape would start an escape sequence that eats the
    // prompt after it); the log keeps the line verbatim.
    const command = parseSimCommand(line);
    // Busy (a turn that never ends): like Claude mid-turn, typed prompts are queued, not answered.
    if (this.#options.busy && command === undefined) return;
    const prompt = command === undefined && printable(line).trim() !== "";
    if (prompt) await this.#fire("UserPromptSubmit", { prompt: line });
    this.#write(`received: ${printable(line)}\n`);
    if (command !== undefined) await this.#execute(command);
    if (prompt && this.#listening()) await this.#turnEnd();
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
      case "run":
        await this.#runChild(command.argv);
        return;
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

  /** The end of a turn: Stop, then the statusline refresh. */
  async #turnEnd(): Promise<void> {
    await this.#fire("Stop", { stop_hook_active: false });
    if (this.#phase !== "done") await this.#hooks?.statusline();
  }

  /** Runs a program without a shell, with the agent's environment, and shows what it printed. */
  async #runChild(argv: readonly [string, ...string[]]): Promise<void> {
    const [file, ...args] = argv;
    try {
      const result = await run(file, args, {
        timeoutMs: RUN_TIMEOUT_MS,
        signal: this.#children.signal,
        env: this.#options.env,
        input: "",
      });
      if (this.#phase === "done") return;
      this.#write(withNewline(result.stdout) + withNewline(result.stderr));
      this.#write(`[exit ${result.exitCode}]\n`);
      this.#log("run", { argv, code: result.exitCode });
    } catch (error) {
      if (this.#phase === "done") return;
      this.#write(`sim run: ${errorMessage(error)}\n`);
      this.#log("run", { argv, error: errorMessage(error) });
    }
  }

  // ── plumbing ────────────────────────────────────────────────────────────────────────────────

  #startReading(): void {
    if (this.#reading) return;
    this.#reading = true;
    this.#io.stdin.setEncoding("utf8");
    this.#io.stdin.on("data", this.#onData);
    this.#io.stdin.on("end", this.#onEnd);
    this.#io.stdin.on("error", this.#onEnd);
    this.#io.stdin.resume();
  }

  #stopReading(): void {
    if (!this.#reading) return;
    this.#reading = false;
    this.#io.stdin.off("data", this.#onData);
    this.#io.stdin.off("end", this.#onEnd);
    this.#io.stdin.off("error", this.#onEnd);
    this.#io.stdin.pause();
  }

  #setRaw(raw: boolean): void {
    if (!this.#tty || this.#raw === raw || this.#io.stdin.setRawMode === undefined) return;
    this.#io.stdin.setRawMode(raw);
    this.#raw = raw;
  }

  #redrawDialogOptions(dialog: SimDialog): void {
    // Below the options: a blank line and the hint; the cursor is on the line after the hint.
    const up = dialog.optionCount + 2;
    const lines = dialog
      .renderOptions()
      .split("\n")
      .map((line) => `\x1b[2K${line}`)
      .join("\n");
    this.#write(`\x1b[${up}A\r${lines}\x1b[3B\r`);
  }

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
    if (this.#phase === "done" || this.#stdoutBroken) return;
    try {
      this.#io.stdout.write(text);
    } catch {
      // A closed terminal: the "error" event ends the agent.
    }
  }

  #log(type: string, fields: Record<string, unknown>): void {
    try {
      this.#appendLog(type, fields);
    } catch (error) {
      if (this.#logFailed) return;
      this.#logFailed = true;
      this.#write(`sim-agent: cannot write the log file: ${errorMessage(error)}\n`);
    }
  }

  /** One JSON line per event, appended synchronously: the log is complete even when the process is killed. */
  #appendLog(type: string, fields: Record<string, unknown>): void {
    const file = this.#options.logFile;
    if (file === undefined) return;
    const entry = {
      ts: this.#now().toISOString(),
      type,
      ...fields,
      generation: this.#options.generation,
      pid: process.pid,
    };
    appendFileSync(file, `${JSON.stringify(entry)}\n`);
  }
}

/** The process name tmux reads on Linux (the first string of /proc/self/cmdline); undefined elsewhere. */
function visibleTitle(): string | undefined {
  try {
    return readFileSync("/proc/self/cmdline", "latin1").split("\0")[0];
  } catch {
    return undefined;
  }
}

/** The text without C0 control characters and DEL. */
function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, "");
}

function withNewline(text: string): string {
  return text === "" || text.endsWith("\n") ? text : `${text}\n`;
}
