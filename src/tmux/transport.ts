import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { errnoCode, errorMessage } from "../errors.js";
import { CommandError, run } from "../proc/run.js";
import { escapeArgument, tmuxEnv } from "./args.js";
import { abortReason, ControlClient, ControlDisconnectedError, ControlTimeoutError } from "./control.js";
import { controlLine } from "./control-protocol.js";
import { classifyTmuxFailure, TmuxError, TmuxNotInstalledError } from "./errors.js";
import { tmuxQuote } from "./format.js";

export interface CallOptions {
  signal?: AbortSignal;
}

export interface TransportOptions {
  socket: string;
  configFile: string;
  /** Per command. */
  timeoutMs: number;
  tmuxBin: string;
  /** Keep one `tmux -C` client connected and send commands through it (the daemon); else one process each. */
  persistent: boolean;
}

/** Commands that only read: safe to send again through a one-shot process if the control client drops. */
const READ_ONLY = new Set(["list-panes", "list-sessions", "capture-pane", "display-message", "show-options"]);
/**
 * Always through a process: commands that end the control client's own session or server (the client is
 * closed first), and `source-file`, whose file is read by the server.
 */
const PROCESS_ONLY = new Set(["kill-session", "kill-server", "source-file"]);

/** Whether `commands` kill `session` (targets are `=name`). */
function endsSession(commands: readonly (readonly string[])[], session: string | null): boolean {
  if (session === null) return false;
  return commands.some((command) => command[0] === "kill-session" && command.includes(`=${session}`));
}

/**
 * Commands after which tmux tells every control client something (a session or window created, closed,
 * renamed, resized, selected…). tmux up to 3.6 (3.3a here) crashes the whole server, killing every agent,
 * if such a notice is written to a control client that has connected but not finished identifying itself
 * (tmux#4980, #5004: segfault at address 0x20; measured here, 1 start of 100 agents in 8 while connecting).
 * So no connection is made while one of these runs or has just run, and none of them runs while a client
 * connects (they wait). `source-file` counts: its file may hold anything.
 */
const NOTIFYING = new Set([
  "new-session",
  "kill-session",
  "kill-server",
  "rename-session",
  "new-window",
  "kill-window",
  "rename-window",
  "split-window",
  "kill-pane",
  "select-window",
  "select-pane",
  "link-window",
  "unlink-window",
  "move-window",
  "swap-window",
  "swap-pane",
  "resize-window",
  "resize-pane",
  "switch-client",
  "attach-session",
  "detach-client",
  "source-file",
]);
/** A notice is written once the command's client has been answered: let it go out before connecting. */
const NOTICE_SETTLE_MS = 50;

const FIRST_RETRY_MS = 500;
const LONGEST_RETRY_MS = 10_000;

/**
 * How commands reach the town's tmux server: a line to the persistent control client when one is connected
 * (about a millisecond, no process), else one `tmux` process per invocation, run without a shell with the
 * town's socket and config file. Both run the same chained commands with the same results; the control
 * client is reconnected on demand (it needs a session to attach to, so a server without sessions, or
 * without a server, is served by processes), with a growing pause after each failed attempt.
 */
export class TmuxTransport {
  private readonly options: TransportOptions;
  private control: ControlClient | undefined;
  private connecting: Promise<ControlClient | undefined> | undefined;
  /** Aborted by close(): a connection under way is given up. */
  private stopConnecting = new AbortController();
  private failures = 0;
  private retryAt = 0;
  /** Commands in NOTIFYING in flight, and when the last one ended (Date.now()). */
  private notifying = 0;
  private lastNotifyingAt = 0;
  /** How many invocations went each way (for tests and benchmarks). */
  readonly counts = { control: 0, process: 0 };

  constructor(options: TransportOptions) {
    this.options = options;
  }

  /** The session the control client is attached to, or null when none is connected. */
  get controlSession(): string | null {
    return this.control?.connected === true ? this.control.session : null;
  }

  /** A server or a session now exists: the next command may connect at once. */
  retryControlNow(): void {
    this.retryAt = 0;
  }

  /** Closes the control client (its pending commands are answered first). */
  async close(): Promise<void> {
    // A connection still being made is given up, not waited for (a stuck server must not hold a stop).
    this.stopConnecting.abort(new Error("tmux client closed"));
    this.stopConnecting = new AbortController();
    const control = this.control;
    this.control = undefined;
    await control?.close(this.options.timeoutMs);
  }

  async version(options: CallOptions): Promise<string> {
    const result = await this.spawn(["-V"], ["-V"], options);
    if (result.exitCode !== 0) throw classifyTmuxFailure(["-V"], result.stderr);
    return result.stdout.trim();
  }

  /** Runs `commands` (chained as with ";", stopping at the first that fails) and returns what they print. */
  async exec(
    commands: readonly (readonly string[])[],
    options: CallOptions,
    mode: { startServer: boolean } = { startServer: false },
  ): Promise<string> {
    const shown = commands.flatMap((command, index) => (index === 0 ? command : [";", ...command]));
    const notifies = commands.some((command) => NOTIFYING.has(command[0] ?? ""));
    if (notifies) {
      // Never while a control client connects (see NOTIFYING); a connection takes milliseconds.
      while (this.connecting !== undefined) await this.connecting;
      this.notifying += 1;
    }
    try {
      if (!mode.startServer) {
        const answered = await this.viaControl(commands, shown, options);
        if (answered !== undefined) return answered;
      }
      return await this.execProcess(commands, shown, options, mode);
    } finally {
      if (notifies) {
        this.notifying -= 1;
        this.lastNotifyingAt = Date.now();
      }
    }
  }

  /**
   * Runs `commands` in one invocation however long they are: through the control client when it can take
   * the line, else through `source-file` (no length limit) from a private temporary file, every argument
   * quoted for tmux's command language (a process's command line stops at 16 KiB).
   */
  async execFile(commands: readonly (readonly string[])[], options: CallOptions): Promise<string> {
    const shown = commands.flatMap((command, index) => (index === 0 ? command : [";", ...command]));
    const answered = await this.viaControl(commands, shown, options);
    if (answered !== undefined) return answered;
    const dir = await mkdtemp(join(tmpdir(), "townd-tmux-"));
    try {
      const file = join(dir, "commands");
      await writeFile(file, commands.map((command) => command.map(tmuxQuote).join(" ")).join("\n") + "\n", {
        mode: 0o600,
      });
      return await this.exec([["source-file", file]], options);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * The answer through the control client, or undefined when the commands must go through a process: no
   * persistent client, none connected, a line too long, a command that ends the client's session or server
   * (the client is closed first), `source-file` (its file is read by the server, not checked here), or a
   * read the client dropped before answering.
   */
  private async viaControl(
    commands: readonly (readonly string[])[],
    shown: readonly string[],
    options: CallOptions,
  ): Promise<string | undefined> {
    if (!this.options.persistent) return undefined;
    const names = commands.map((command) => command[0] ?? "");
    if (names.some((name) => PROCESS_ONLY.has(name))) {
      // Killing the client's own session (or server) would drop it with commands in flight: leave first.
      if (names.includes("kill-server") || endsSession(commands, this.controlSession)) await this.close();
      return undefined;
    }
    const line = controlLine(commands);
    const control = line === undefined ? undefined : await untilAborted(this.connected(), options.signal);
    if (line === undefined || control === undefined) return undefined;
    try {
      this.counts.control += 1;
      const answer = await control.run(line, this.options.timeoutMs, options.signal);
      if (!answer.ok) throw classifyTmuxFailure(shown, answer.text);
      return answer.text;
    } catch (error) {
      if (error instanceof ControlTimeoutError)
        throw new TmuxError(shown, `timed out after ${this.options.timeoutMs} ms`, { cause: error });
      if (!(error instanceof ControlDisconnectedError)) throw error;
      if (!names.every((name) => READ_ONLY.has(name)))
        throw new TmuxError(shown, `${error.message}; the command may not have run`, { cause: error });
      // A read is sent again through a process.
      return undefined;
    }
  }

  /** The connected control client, connecting if none is and the last failure is not too recent. */
  private connected(): Promise<ControlClient | undefined> {
    if (this.control?.connected === true) return Promise.resolve(this.control);
    if (this.connecting !== undefined) return this.connecting;
    const now = Date.now();
    const quiet = this.notifying === 0 && now - this.lastNotifyingAt >= NOTICE_SETTLE_MS;
    if (now < this.retryAt || !quiet) return Promise.resolve(undefined);
    this.connecting = ControlClient.connect(
      {
        tmuxBin: this.options.tmuxBin,
        socket: this.options.socket,
        configFile: this.options.configFile,
        env: tmuxEnv(),
      },
      this.options.timeoutMs,
      this.stopConnecting.signal,
    )
      .then(
        (client) => {
          this.failures = 0;
          this.control = client;
          client.onClose(() => {
            if (this.control === client) this.control = undefined;
          });
          return client;
        },
        () => {
          this.failures += 1;
          this.retryAt =
            Date.now() + Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(20, this.failures - 1));
          return undefined;
        },
      )
      .finally(() => {
        this.connecting = undefined;
      });
    return this.connecting;
  }

  private async execProcess(
    commands: readonly (readonly string[])[],
    shown: readonly string[],
    options: CallOptions,
    mode: { startServer: boolean },
  ): Promise<string> {
    this.counts.process += 1;
    const chained = commands.flatMap((command, index) => [
      ...(index === 0 ? [] : [";"]),
      ...command.map(escapeArgument),
    ]);
    const { socket, configFile } = this.options;
    const globals = ["-u", "-S", socket, "-f", configFile, ...(mode.startServer ? [] : ["-N"])];
    const result = await this.spawn([...globals, ...chained], shown, options);
    if (result.exitCode !== 0) throw classifyTmuxFailure(shown, result.stderr);
    return result.stdout;
  }

  private async spawn(argv: readonly string[], shown: readonly string[], options: CallOptions) {
    const { tmuxBin, timeoutMs } = this.options;
    try {
      return await run(tmuxBin, argv, {
        timeoutMs,
        env: tmuxEnv(),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
    } catch (error) {
      if (error instanceof CommandError && errnoCode(error.cause) === "ENOENT") {
        throw new TmuxNotInstalledError(tmuxBin, shown, error);
      }
      if (options.signal?.aborted === true) throw error;
      const detail =
        error instanceof CommandError && error.timedOut
          ? `timed out after ${timeoutMs} ms`
          : errorMessage(error);
      throw new TmuxError(shown, detail, { cause: error });
    }
  }
}

/** `promise`, or a rejection as soon as `signal` aborts (the promise goes on; its result is dropped). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(abortReason(signal));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
