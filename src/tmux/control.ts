import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { randomBytes } from "node:crypto";
import { StringDecoder } from "node:string_decoder";
import { blockOutput, controlLine, ControlParser, type ControlEvent } from "./control-protocol.js";
import { CONTROL_OWNER_ENV } from "./orphan-control.js";

/** The connection ended (its session was destroyed, the server exited, a timeout): the answer is unknown. */
export class ControlDisconnectedError extends Error {
  override readonly name = "ControlDisconnectedError";
}

/** A command that did not answer in time; the connection is closed, since answers come back in order. */
export class ControlTimeoutError extends Error {
  override readonly name = "ControlTimeoutError";
}

export interface ControlSpawn {
  readonly tmuxBin: string;
  readonly socket: string;
  readonly configFile: string;
  readonly env: NodeJS.ProcessEnv;
}

export interface ControlAnswer {
  readonly ok: boolean;
  /** ok: what the commands printed, as a one-shot process prints it; not ok: tmux's error message. */
  readonly text: string;
}

interface Pending {
  /** The output of the line's last command, `display-message -p <sentinel>`: the answer is complete. */
  readonly sentinel: string;
  readonly lines: string[];
  /** The caller gave up (abort): the answer is still read, to keep the rest in order, then dropped. */
  abandoned: boolean;
  readonly resolve: (answer: ControlAnswer) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * One `tmux -C` client attached to a session of the town's server, through which commands run without a
 * process each: a line in, a block out, in order. It never starts a server or a session (attach needs one
 * to exist), asks for no pane output (`no-output`) and never sizes a window (`ignore-size`).
 *
 * Every command has a timeout; one that passes closes the connection (a late answer could not be told
 * from the next one's), and so does anything unexpected. Whatever is pending when the connection ends is
 * rejected with ControlDisconnectedError. The child process and its pipes never keep the daemon alive.
 */
export class ControlClient {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly parser = new ControlParser();
  private readonly decoder = new StringDecoder("utf8");
  private readonly queue: Pending[] = [];
  private partial = "";
  private stderr = "";
  private ended: Error | undefined;
  private readonly closeListeners: ((reason: Error) => void)[] = [];
  private readonly exited: Promise<void>;
  /** Settled by the answer to the client's own `attach-session` (the first block not from our input). */
  private attachResult: ((error: Error | undefined) => void) | undefined;
  private readonly attached: Promise<void>;
  /** Sentinels are `<prefix><n>`: unique per request, and no screen shows one by chance. */
  private readonly sentinelPrefix = `@@townd-${randomBytes(6).toString("hex")}-`;
  private sent = 0;
  /** The session the client is attached to (kept up to date from `%session-changed`). */
  session: string | null = null;

  private constructor(options: ControlSpawn) {
    const { tmuxBin, socket, configFile, env } = options;
    this.child = spawn(
      tmuxBin,
      ["-u", "-S", socket, "-f", configFile, "-N", "-C", "attach-session", "-f", "no-output,ignore-size"],
      // Marked with its daemon, so the next daemon can end it should it outlive this one (orphan-control.ts).
      { stdio: ["pipe", "pipe", "pipe"], env: { ...env, [CONTROL_OWNER_ENV]: String(process.pid) } },
    );
    this.attached = new Promise((resolve, reject) => {
      this.attachResult = (error) => {
        this.attachResult = undefined;
        if (error === undefined) resolve();
        else reject(error);
      };
    });
    // Not waited on by anyone if the client never connects.
    this.attached.catch(() => undefined);
    this.exited = new Promise((resolve) => {
      this.child.once("close", () => {
        resolve();
      });
    });
    this.child.unref();
    for (const stream of [this.child.stdin, this.child.stdout, this.child.stderr])
      (stream as unknown as { unref?: () => void }).unref?.();
    this.child.stdout.on("data", (chunk: Buffer) => {
      this.read(this.decoder.write(chunk));
    });
    this.child.stderr.on("data", (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString("utf8")).slice(-2000);
    });
    this.child.stdin.on("error", () => undefined);
    this.child.once("error", (error) => {
      this.end(new ControlDisconnectedError(`tmux control client failed: ${error.message}`));
    });
    this.child.once("close", () => {
      const why = this.stderr.trim() === "" ? "tmux control client exited" : this.stderr.trim();
      this.end(new ControlDisconnectedError(why));
    });
  }

  /**
   * Starts a client and waits until it answers (its first command reads the attached session's name).
   * Rejects, and leaves nothing running, when there is no server or no session, or after `timeoutMs`.
   */
  /** Connects, or fails after `timeoutMs` or at once when `signal` aborts (the client is killed either way). */
  static async connect(
    options: ControlSpawn,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<ControlClient> {
    const client = new ControlClient(options);
    const timer = setTimeout(() => {
      client.end(new ControlTimeoutError(`tmux did not attach within ${timeoutMs} ms`));
    }, timeoutMs);
    const onAbort = (): void => {
      client.end(abortReason(signal));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    if (signal?.aborted === true) onAbort();
    try {
      // No session to attach to ("no sessions"), or no server: the client leaves at once.
      await client.attached;
      const answer = await client.run(
        controlLine([["display-message", "-p", "#{session_name}"]]) ?? "",
        timeoutMs,
      );
      if (!answer.ok) throw new ControlDisconnectedError(answer.text);
      client.session = answer.text.trim();
      return client;
    } catch (error) {
      client.kill();
      throw error;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }

  get connected(): boolean {
    return this.ended === undefined;
  }

  /**
   * Runs one line of the command language (see controlLine) and resolves with its answer. tmux answers each
   * command that runs with a block and stops a line at its first failure; the line is sent with one more
   * command, `display-message -p <sentinel>`, so its answer ends at an error or at the sentinel, however
   * many blocks its commands made (`source-file` makes one per command it reads). Rejects if the
   * connection ends first, after `timeoutMs` (ending the connection), or at once when `signal` aborts (the
   * answer is still read when it comes, and dropped).
   */
  run(line: string, timeoutMs: number, signal?: AbortSignal): Promise<ControlAnswer> {
    if (this.ended !== undefined) return Promise.reject(this.ended);
    if (signal?.aborted === true) return Promise.reject(abortReason(signal));
    return new Promise<ControlAnswer>((resolve, reject) => {
      const onAbort = (): void => {
        entry.abandoned = true;
        clearTimeout(entry.timer);
        reject(abortReason(signal));
      };
      this.sent += 1;
      const sentinel = `${this.sentinelPrefix}${this.sent}`;
      const entry: Pending = {
        sentinel,
        lines: [],
        abandoned: false,
        resolve: (answer) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(answer);
        },
        reject: (error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
        timer: setTimeout(() => {
          this.end(new ControlTimeoutError(`tmux did not answer within ${timeoutMs} ms`), entry);
        }, timeoutMs),
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.queue.push(entry);
      this.child.stdin.write(`${line} ; ${controlLine([["display-message", "-p", sentinel]]) ?? ""}\n`);
    });
  }

  /** Called once when the connection ends, with why. */
  onClose(listener: (reason: Error) => void): void {
    if (this.ended !== undefined) listener(this.ended);
    else this.closeListeners.push(listener);
  }

  /**
   * Ends the connection gracefully: tmux answers every command already sent, then sees the end of its
   * input and leaves. After `timeoutMs` the client is killed instead.
   */
  async close(timeoutMs: number): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.stdin.end();
    const timer = setTimeout(() => {
      this.kill();
    }, timeoutMs);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Ends the connection now. */
  kill(): void {
    this.end(new ControlDisconnectedError("tmux control client closed"));
  }

  private read(text: string): void {
    const lines = (this.partial + text).split("\n");
    this.partial = lines.pop() ?? "";
    for (const line of lines) {
      const event = this.parser.push(line);
      if (event !== undefined) this.handle(event);
    }
  }

  private handle(event: ControlEvent): void {
    switch (event.kind) {
      case "block": {
        // Blocks of commands that did not come from our input (flags 0) are not ours; the first is the attach.
        if (!event.ours) {
          this.attachResult?.(event.ok ? undefined : new ControlDisconnectedError(event.lines.join(" ")));
          return;
        }
        const entry = this.queue[0];
        if (entry === undefined) {
          this.end(new ControlDisconnectedError("tmux answered a command that was not sent"));
          return;
        }
        const ended = !event.ok || (event.lines.length === 1 && event.lines[0] === entry.sentinel);
        if (!ended) {
          // Out of step (another request's sentinel): nothing after this can be trusted.
          if (event.lines.some((line) => line.startsWith(this.sentinelPrefix))) {
            this.end(new ControlDisconnectedError("tmux answers out of order"));
            return;
          }
          entry.lines.push(...event.lines);
          return;
        }
        this.queue.shift();
        clearTimeout(entry.timer);
        if (entry.abandoned) return;
        entry.resolve(
          event.ok
            ? { ok: true, text: blockOutput(entry.lines) }
            : { ok: false, text: event.lines.join("\n") },
        );
        return;
      }
      case "exit":
        this.end(
          new ControlDisconnectedError(
            `tmux control client left${event.reason === "" ? "" : `: ${event.reason}`}`,
          ),
        );
        return;
      case "notification": {
        const changed = /^%session-changed \$\d+ (.*)$/.exec(event.line);
        if (changed !== null) this.session = changed[1] ?? null;
        return;
      }
    }
  }

  /** Ends the connection once: pending commands are rejected (`culprit` with `reason` itself). */
  private end(reason: Error, culprit?: Pending): void {
    if (this.ended !== undefined) return;
    this.ended = reason;
    this.attachResult?.(reason);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
    const gone = new ControlDisconnectedError(`tmux control client disconnected: ${reason.message}`);
    for (const entry of this.queue.splice(0)) {
      clearTimeout(entry.timer);
      if (!entry.abandoned) entry.reject(entry === culprit ? reason : gone);
    }
    for (const listener of this.closeListeners.splice(0)) listener(reason);
  }
}

export function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error("aborted");
}
