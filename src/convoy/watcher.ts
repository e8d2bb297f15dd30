import { spawn } from "node:child_process";
import { join } from "node:path";
import { findCommand } from "../agents/command-path.js";
import { errorMessage } from "../errors.js";
import { run } from "../proc/run.js";
import { killProcessTree } from "../proc/tree.js";
import { sleep } from "../util/sleep.js";
import { LineSplitter, closedIssue } from "./activity.js";
import { openConvoysTracking } from "./convoys.js";

/** What the watcher says to the daemon's log. */
export interface WatcherLog {
  info(message: string): void;
  warn(message: string): void;
}

export interface ConvoyWatcherOptions {
  readonly townRoot: string;
  readonly log: WatcherLog;
  /** The environment `bd` and `gt` run with, and whose PATH is searched (the daemon's own by default). */
  readonly env?: NodeJS.ProcessEnv;
  /** After `bd activity` exits or fails, it is started again this much later (reference: 5 s, B123). */
  readonly restartDelayMs?: number;
  /** `gt convoy check` is killed after this long. */
  readonly checkTimeoutMs?: number;
}

export const BD_ACTIVITY_ARGS: readonly string[] = ["activity", "--follow", "--town", "--json"];
export const RESTART_DELAY_MS = 5000;
/** A `bd activity` line longer than this is no event: it is dropped, not buffered. */
const MAX_LINE_BYTES = 1024 * 1024;
/** How long `bd` gets to exit on SIGTERM when the daemon stops, before SIGKILL. */
const STOP_GRACE_MS = 2000;
/** How much of `bd`'s stderr is kept to say why it ended. */
const STDERR_KEPT = 2048;
/** A `bd` that keeps ending the same way would log it every 5 s: once an hour says as much. */
const REPEAT_LOG_MS = 60 * 60_000;

/**
 * The convoy watcher (reference §11, B123–B125): while the daemon runs, it follows
 * `bd activity --follow --town --json` (in the town root) and, for each issue closed, runs
 * `gt convoy check` when an open convoy tracks that issue. `bd` exiting or failing is logged and it is
 * started again 5 s later. Without `bd` on the daemon's PATH the watcher says so once and stays off.
 * Every child and every wait ends when the daemon stops.
 */
export class ConvoyWatcher {
  private readonly options: ConvoyWatcherOptions;
  private readonly controller = new AbortController();
  private running: Promise<void> | undefined;
  /** Closed issues are handled one after another, in the order bd reported them. */
  private queue: Promise<void> = Promise.resolve();
  private lookupProblem = "";
  /** The last ending logged and when (epoch ms): the same ending again is logged at most hourly. */
  private lastEnding = { text: "", at: 0 };

  constructor(options: ConvoyWatcherOptions) {
    this.options = options;
  }

  /** Starts following `bd activity`; false (logged once) when `bd` is not on the PATH. */
  start(): boolean {
    const env = this.options.env ?? process.env;
    const bd = findCommand("bd", env["PATH"]);
    if (bd === null) {
      this.options.log.info("Convoy watcher off: bd is not on the daemon's PATH");
      return false;
    }
    this.options.log.info(`Convoy watcher started (${bd} ${BD_ACTIVITY_ARGS.join(" ")})`);
    this.running = this.loop(bd, this.controller.signal);
    return true;
  }

  async stop(): Promise<void> {
    this.controller.abort(new Error("daemon stopping"));
    await this.running;
    await this.queue;
  }

  private async loop(bd: string, signal: AbortSignal): Promise<void> {
    const delay = this.options.restartDelayMs ?? RESTART_DELAY_MS;
    const stopping = (): boolean => signal.aborted;
    while (!stopping()) {
      const ended = await this.follow(bd, signal);
      if (stopping()) return;
      const now = Date.now();
      if (ended !== this.lastEnding.text || now - this.lastEnding.at >= REPEAT_LOG_MS) {
        this.lastEnding = { text: ended, at: now };
        this.options.log.warn(`convoy watcher: bd activity ${ended}, restarting in ${delay / 1000}s`);
      }
      try {
        await sleep(delay, signal);
      } catch {
        return;
      }
    }
  }

  /** Runs `bd activity` until it ends (or the daemon stops); resolves with how it ended. */
  private follow(bd: string, signal: AbortSignal): Promise<string> {
    return new Promise((resolve) => {
      // Its own process group, so stopping it also ends anything it started.
      const child = spawn(bd, BD_ACTIVITY_ARGS, {
        cwd: this.options.townRoot,
        env: this.options.env ?? process.env,
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
      });
      let stderr = "";
      const lines = new LineSplitter(
        MAX_LINE_BYTES,
        (line) => {
          const issue = closedIssue(line);
          if (issue !== null) this.enqueue(issue, signal);
        },
        () => {
          this.options.log.warn(
            `convoy watcher: a bd activity line over ${MAX_LINE_BYTES} bytes was dropped`,
          );
        },
      );
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        lines.push(chunk);
      });
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        stderr = (stderr + chunk).slice(-STDERR_KEPT);
      });
      const onAbort = (): void => {
        const pid = child.pid;
        if (pid !== undefined) void killProcessTree(pid, { graceMs: STOP_GRACE_MS }).catch(() => undefined);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      let settled = false;
      const end = (how: string): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener("abort", onAbort);
        const said = stderr.trim().split("\n").at(-1) ?? "";
        resolve(said === "" ? how : `${how}: ${said}`);
      };
      child.on("error", (error) => {
        end(`failed: ${errorMessage(error)}`);
      });
      child.on("close", (code, killedBy) => {
        end(killedBy !== null ? `was ended by ${killedBy}` : `exited with code ${code ?? "?"}`);
      });
    });
  }

  private enqueue(issue: string, signal: AbortSignal): void {
    this.queue = this.queue.then(() => this.closed(issue, signal)).catch(() => undefined);
  }

  /** B124–B125: an issue closed; if an open convoy tracks it, the convoys are checked for completion. */
  private async closed(issue: string, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const { log, townRoot } = this.options;
    log.info(`convoy watcher: detected close of ${issue}`);
    const database = join(townRoot, ".beads", "beads.db");
    let convoys: string[];
    try {
      convoys = openConvoysTracking(database, issue);
      this.lookupProblem = "";
    } catch (error) {
      const message = `convoy watcher: cannot read ${database}: ${errorMessage(error)}`;
      if (message !== this.lookupProblem) log.warn(message);
      this.lookupProblem = message;
      return;
    }
    if (convoys.length === 0) return;
    log.info(
      `convoy watcher: ${issue} is tracked by ${convoys.length} open convoy(s): ${convoys.join(", ")}`,
    );
    for (const convoy of convoys) log.info(`convoy watcher: running completion check for ${convoy}`);
    // `gt convoy check` checks every convoy, so one run covers all of them (the reference ran it once per
    // convoy, repeating the same check).
    await this.check(signal);
  }

  private async check(signal: AbortSignal): Promise<void> {
    const { log, townRoot } = this.options;
    try {
      const result = await run("gt", ["convoy", "check"], {
        cwd: townRoot,
        env: this.options.env ?? process.env,
        timeoutMs: this.options.checkTimeoutMs ?? 60_000,
        signal,
      });
      if (result.exitCode !== 0) {
        log.warn(
          `convoy watcher: gt convoy check failed (exit ${result.exitCode}): ${bounded(result.stderr)}`,
        );
        return;
      }
      const output = result.stdout.trim();
      if (output !== "" && !output.includes("No convoys ready"))
        log.info(`convoy watcher: ${bounded(output)}`);
    } catch (error) {
      if (!signal.aborted) log.warn(`convoy watcher: gt convoy check failed: ${errorMessage(error)}`);
    }
  }
}

function bounded(text: string): string {
  const trimmed = text.trim();
  return trimmed.length > 2000 ? `${trimmed.slice(0, 2000)}…` : trimmed;
}
