import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { sleep } from "../util/sleep.js";
import {
  checkArgv,
  checkDirectory,
  checkOptionValue,
  envArgs,
  paneArgv,
  paneTarget,
  sessionTarget,
} from "./args.js";
import { TmuxNoServerError, TmuxSessionNotFoundError } from "./errors.js";
import { escapeFormat, PANE_FORMAT, parsePaneRows, type PaneRow } from "./format.js";
import { kickServer } from "./reap-kick.js";
import { ArmedHookCalls } from "./armed-calls.js";
import { prepareSocketDir, type SocketDirPolicy } from "./socket-dir.js";
import { TmuxTransport, type CallOptions } from "./transport.js";
import type { TmuxSnapshot } from "./types.js";

export type { CallOptions } from "./transport.js";

/** start-server meeting a server that exits under it is tried again, after 50, 100, 150 … ms. */
const ENSURE_SERVER_ATTEMPTS = 5;
const ENSURE_SERVER_RETRY_MS = 50;

/** What ensureServer found (see there). */
export interface ServerStart {
  /** The server it first met exited under it: the one running now is new. */
  readonly replacedExitingServer: boolean;
  /** When the running server started, epoch ms in whole seconds; null if tmux did not say. */
  readonly startedAt: number | null;
}

export interface TmuxClientOptions {
  /** Absolute path of the server's socket, always passed as `-S`: townd never uses the default server. */
  socket: string;
  /** Passed as `-f`; the default `/dev/null` keeps the user's ~/.tmux.conf out of townd's server. */
  configFile?: string;
  /** Per tmux invocation. */
  timeoutMs?: number;
  tmuxBin?: string;
  /**
   * Checked (and the directory created 0700) before a server is started: see SocketDirPolicy. Without it
   * the directory is only created (tests' private sockets in their own temp directories).
   */
  socketDir?: { policy: SocketDirPolicy; uid: number };
  /**
   * Send commands through one persistent control-mode client (`tmux -C`) while it can be connected, falling
   * back to a process per invocation (see TmuxTransport). For the daemon; a CLI command leaves it off.
   */
  persistent?: boolean;
}

/** Screens captured with one chained command line; beyond this, through a command file (see captureScreens). */
const CHAINED_CAPTURES_MAX = 100;

export interface SessionSpec {
  name: string;
  cwd: string;
  /** The agent's command, run as the pane's first process without a shell. */
  argv: readonly string[];
  env: Readonly<Record<string, string>>;
  generation: string;
  identity: string;
  width?: number;
  height?: number;
}

export interface RespawnSpec {
  cwd: string;
  argv: readonly string[];
  env: Readonly<Record<string, string>>;
  generation: string;
  /** Labels the session as townd's (a replaced foreign session has none yet). */
  identity?: string;
}

const KICK_ATTEMPTS = 2;
const KICK_WAIT_MS = 15;

/**
 * townd's only way to talk to tmux. Every call runs with the town's socket and config file, a timeout, and
 * exact targets (`=name`, `=name:`): tmux otherwise prefix-matches, and `pfx1` would find `pfx10`. Calls
 * reach the server through TmuxTransport: one `tmux` process each (run without a shell), or, with
 * `persistent`, a line to one control-mode client.
 */
export class TmuxClient {
  readonly socket: string;
  readonly configFile: string;
  readonly timeoutMs: number;
  readonly tmuxBin: string;
  private readonly socketDir: { policy: SocketDirPolicy; uid: number } | undefined;
  readonly transport: TmuxTransport;
  /** The tmux calls of pre-armed respawns. */
  readonly armed: ArmedHookCalls;
  /** The server's pid as the last snapshot saw it (null: no server, or no pane to read it from). */
  lastServerPid: number | null = null;

  constructor(options: TmuxClientOptions) {
    this.socket = options.socket;
    this.configFile = options.configFile ?? "/dev/null";
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.tmuxBin = options.tmuxBin ?? "tmux";
    this.socketDir = options.socketDir;
    this.transport = new TmuxTransport({
      socket: this.socket,
      configFile: this.configFile,
      timeoutMs: this.timeoutMs,
      tmuxBin: this.tmuxBin,
      persistent: options.persistent ?? false,
    });
    this.armed = new ArmedHookCalls(this.transport);
  }

  async version(options: CallOptions = {}): Promise<string> {
    return this.transport.version(options);
  }

  /** Closes the persistent control client, if any (the server and its sessions are left alone). */
  async close(): Promise<void> {
    await this.transport.close();
  }

  /**
   * Starts the server if needed and applies the settings townd relies on, all in one invocation, so no
   * pane can exit before `remain-on-exit` keeps it visible. Idempotent. This is the only call allowed to
   * start a server; every other call passes `-N` and fails with TmuxNoServerError instead of silently
   * starting a server without these settings. Says whether the server it first met was exiting (so the
   * one running now is new, and its predecessor's sessions are gone), and when the running one started
   * (epoch ms, whole seconds: tmux's resolution; null if tmux did not say).
   */
  async ensureServer(options: { paneDiedHook?: string; signal?: AbortSignal } = {}): Promise<ServerStart> {
    if (this.socketDir === undefined) await mkdir(dirname(this.socket), { recursive: true, mode: 0o700 });
    else await prepareSocketDir(this.socket, this.socketDir.policy, this.socketDir.uid);
    const commands: string[][] = [
      ["start-server"],
      // The server must outlive its last session: agents come and go, the hook and options stay.
      ["set-option", "-g", "exit-empty", "off"],
      // A dead agent's pane stays with its exit status and last output instead of vanishing.
      ["set-option", "-gw", "remain-on-exit", "on"],
      // Window names follow no process: each rename is a notice to control clients, which tmux can crash
      // on while one connects (see NOTIFYING in transport.ts). Sessions carry townd's names.
      ["set-option", "-gw", "automatic-rename", "off"],
      ["set-option", "-g", "allow-rename", "off"],
    ];
    if (options.paneDiedHook !== undefined) {
      commands.push(["set-hook", "-g", "pane-died", options.paneDiedHook]);
    }
    // Last, and the only output: when the server started (epoch seconds).
    commands.push(["display-message", "-p", "#{start_time}"]);
    let attempt = 1;
    let output: string;
    for (; ; attempt += 1) {
      try {
        output = await this.exec(commands, options, { startServer: true });
        break;
      } catch (error) {
        // A server on its way down (just after kill-server) still accepts the connection, then exits under
        // the call: once it is gone, start-server starts a new one.
        if (!(error instanceof TmuxNoServerError) || attempt >= ENSURE_SERVER_ATTEMPTS) throw error;
        await sleep(ENSURE_SERVER_RETRY_MS * attempt, options.signal);
      }
    }
    this.transport.retryControlNow();
    const seconds = Number.parseInt(output.trim(), 10);
    const startedAt = Number.isSafeInteger(seconds) && seconds > 0 ? seconds * 1000 : null;
    return { replacedExitingServer: attempt > 1, startedAt };
  }

  /**
   * Every pane of every session in one call; a missing server is a normal, empty snapshot. If a dead pane's
   * exit status has not been collected (tmux lost the SIGCHLD, see PaneRow), the server is sent a SIGCHLD
   * so it reaps the pane and fires pane-died, and the list is read again, at most KICK_ATTEMPTS times.
   */
  async snapshot(options: CallOptions = {}): Promise<TmuxSnapshot> {
    for (let attempt = 0; ; attempt += 1) {
      let rows: PaneRow[];
      try {
        rows = parsePaneRows(await this.exec([["list-panes", "-a", "-F", PANE_FORMAT]], options));
      } catch (error) {
        if (error instanceof TmuxNoServerError) {
          this.lastServerPid = null;
          return { serverRunning: false, panes: [] };
        }
        // A server kept alive by exit-empty off with no sessions answers "no current target".
        if (error instanceof TmuxSessionNotFoundError) return { serverRunning: true, panes: [] };
        throw error;
      }
      this.lastServerPid = rows[0]?.serverPid ?? null;
      const stuck = rows.find((row) => !row.statusCollected);
      if (stuck?.serverPid == null || attempt >= KICK_ATTEMPTS) {
        return { serverRunning: true, panes: rows.map((row) => row.pane) };
      }
      kickServer(stuck.serverPid);
      await sleep(KICK_WAIT_MS, options.signal);
    }
  }

  /**
   * Creates a detached session whose pane runs `spec.argv` directly, and labels it with townd's options
   * in the same invocation, so no observer sees the session without its generation and identity.
   */
  async newSession(spec: SessionSpec, options: CallOptions = {}): Promise<void> {
    const target = paneTarget(spec.name);
    checkArgv(spec.name, spec.argv);
    checkOptionValue("@townd_generation", spec.generation);
    checkOptionValue("@townd_identity", spec.identity);
    const cwd = resolve(spec.cwd);
    await checkDirectory(spec.name, cwd);
    await this.exec(
      [
        [
          "new-session",
          "-d",
          "-s",
          spec.name,
          "-c",
          escapeFormat(cwd),
          "-x",
          String(spec.width ?? 200),
          "-y",
          String(spec.height ?? 50),
          ...envArgs(spec.env),
          "--",
          ...paneArgv(spec.argv),
        ],
        ["set-option", "-t", target, "--", "@townd_generation", spec.generation],
        ["set-option", "-t", target, "--", "@townd_identity", spec.identity],
      ],
      options,
    );
    // The control client needs a session to attach to: now there is one.
    if (this.transport.controlSession === null) this.transport.retryControlNow();
  }

  /**
   * Restarts the pane's command in place (new pid, same session, options and attached clients). With
   * `captureLines`, the pane's last lines are captured first in the same invocation and returned.
   */
  async respawnPane(
    session: string,
    spec: RespawnSpec,
    options: CallOptions & { captureLines?: number } = {},
  ): Promise<string | undefined> {
    const target = paneTarget(session);
    checkArgv(session, spec.argv);
    checkOptionValue("@townd_generation", spec.generation);
    if (spec.identity !== undefined) checkOptionValue("@townd_identity", spec.identity);
    const cwd = resolve(spec.cwd);
    await checkDirectory(session, cwd);
    const capture = options.captureLines === undefined ? [] : [captureCommand(session, options.captureLines)];
    const output = await this.exec(
      [
        ...capture,
        [
          "respawn-pane",
          "-k",
          "-t",
          target,
          "-c",
          escapeFormat(cwd),
          ...envArgs(spec.env),
          "--",
          ...paneArgv(spec.argv),
        ],
        ["set-option", "-t", target, "--", "@townd_generation", spec.generation],
        ...(spec.identity === undefined
          ? []
          : [["set-option", "-t", target, "--", "@townd_identity", spec.identity]]),
      ],
      options,
    );
    return capture.length === 0 ? undefined : output;
  }

  async killSession(name: string, options: CallOptions = {}): Promise<void> {
    await this.exec([["kill-session", "-t", sessionTarget(name)]], options);
  }

  async hasSession(name: string, options: CallOptions = {}): Promise<boolean> {
    try {
      await this.exec([["has-session", "-t", sessionTarget(name)]], options);
      return true;
    } catch (error) {
      if (error instanceof TmuxNoServerError || error instanceof TmuxSessionNotFoundError) return false;
      throw error;
    }
  }

  async killServer(options: CallOptions = {}): Promise<void> {
    try {
      await this.exec([["kill-server"]], options);
    } catch (error) {
      if (!(error instanceof TmuxNoServerError)) throw error;
    }
  }

  /** The pid of the session's pane process while it runs; null when the pane is dead or the session gone. */
  async livePanePid(session: string, options: CallOptions = {}): Promise<number | null> {
    let output: string;
    try {
      output = await this.exec(
        [["display-message", "-p", "-t", paneTarget(session), "#{pane_dead} #{pane_pid}"]],
        options,
      );
    } catch (error) {
      if (error instanceof TmuxNoServerError || error instanceof TmuxSessionNotFoundError) return null;
      throw error;
    }
    const match = /^0 (\d+)$/.exec(output.trim());
    return match === null ? null : Number(match[1]);
  }

  /** Types `text` as-is (`-l`: no key-name lookup, so "Enter" in the text stays the word "Enter"). */
  async sendLiteral(session: string, text: string, options: CallOptions = {}): Promise<void> {
    if (text === "") return;
    await this.exec([["send-keys", "-t", paneTarget(session), "-l", "--", text]], options);
  }

  /** Presses one named key, e.g. "Enter", "Escape", "Down", "C-c". */
  async sendKey(session: string, key: string, options: CallOptions = {}): Promise<void> {
    await this.exec([["send-keys", "-t", paneTarget(session), "--", key]], options);
  }

  /** The last `lines` lines of the pane's history and screen, wrapped lines joined. */
  async capturePane(session: string, lines: number, options: CallOptions = {}): Promise<string> {
    return this.exec([captureCommand(session, lines)], options);
  }

  /**
   * The visible screen of the session's pane, with its colours and attributes as escape sequences
   * (`-e`): classifiers tell a dim placeholder from typed text by them. No history, no joined lines.
   */
  async captureScreen(session: string, options: CallOptions = {}): Promise<string> {
    return this.exec([["capture-pane", "-p", "-e", "-t", paneTarget(session)]], options);
  }

  /**
   * The visible screens of several sessions in ONE tmux invocation (as captureScreen does for one): each
   * capture is preceded by a marker line carrying a per-call nonce, which no screen can contain by chance.
   * A session that vanished in the meantime fails the whole chain; the caller may then look one by one.
   */
  async captureScreens(sessions: readonly string[], options: CallOptions = {}): Promise<Map<string, string>> {
    const screens = new Map<string, string>();
    if (sessions.length === 0) return screens;
    const nonce = randomBytes(8).toString("hex");
    const marker = (index: number): string => `@@townd-screen-${nonce}-${index}@@`;
    const commands = sessions.flatMap((session, index) => [
      ["display-message", "-p", marker(index)],
      ["capture-pane", "-p", "-e", "-t", paneTarget(session)],
    ]);
    // tmux refuses a command line over 16 KiB ("command too long"), about 200 sessions' worth: more go
    // through a command file, still ONE tmux invocation.
    const output =
      sessions.length <= CHAINED_CAPTURES_MAX
        ? await this.exec(commands, options)
        : await this.execFile(commands, options);
    const starts = sessions.map((_, index) => output.indexOf(`${marker(index)}\n`));
    sessions.forEach((session, index) => {
      const start = starts[index] ?? -1;
      if (start === -1) return;
      const from = start + marker(index).length + 1;
      const next = starts[index + 1];
      screens.set(session, output.slice(from, next === undefined || next === -1 ? undefined : next));
    });
    return screens;
  }

  /** Sets a session-scope option (`=name:` is required: tmux reads `-t` here as a pane target). */
  async setOption(session: string, name: string, value: string, options: CallOptions = {}): Promise<void> {
    await this.exec([["set-option", "-t", paneTarget(session), "--", name, value]], options);
  }

  /** The argv a CLI execs to attach the user's terminal to `session`. */
  attachArgs(session: string): string[] {
    return [this.tmuxBin, "-S", this.socket, "attach-session", "-t", sessionTarget(session)];
  }

  private execFile(commands: readonly (readonly string[])[], options: CallOptions): Promise<string> {
    return this.transport.execFile(commands, options);
  }

  private exec(
    commands: readonly (readonly string[])[],
    options: CallOptions,
    mode: { startServer: boolean } = { startServer: false },
  ): Promise<string> {
    return this.transport.exec(commands, options, mode);
  }
}

/** `capture-pane` of the last `lines` lines of the pane's history and screen, wrapped lines joined. */
function captureCommand(session: string, lines: number): string[] {
  if (!Number.isInteger(lines) || lines < 1) {
    throw new RangeError(
      `Line count for capturing session "${session}" must be a positive integer: ${lines}`,
    );
  }
  return ["capture-pane", "-p", "-J", "-t", paneTarget(session), "-S", `-${lines}`];
}
