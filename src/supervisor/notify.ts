import { spawn } from "node:child_process";
import type { Logger } from "../daemon/logger.js";
import { errorMessage } from "../errors.js";

export interface Notification {
  readonly type: string;
  readonly ts: string;
  readonly message: string;
  readonly agents: readonly string[];
  readonly town: string;
}

const NOTIFY_TIMEOUT_MS = 10_000;

/** Process groups of notifiers still running (their leaders' PIDs), so the daemon can end them when it stops. */
const running = new Set<number>();

/** Kills a notifier's whole process group: a pipeline, a curl, anything it started in the background. */
function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {
    // The group is empty already.
  }
}

/**
 * Runs the operator's notify_command with the event as JSON on stdin. The event never reaches the command
 * line, so no agent-controlled text is ever interpreted by a shell. Never awaited by a pass (a slow notifier
 * must not hold up supervision). The command runs in its own process group, and the group is killed on the
 * timeout, as soon as the command itself exits (what it left running in the background), and when the daemon
 * stops: a notifier never outlives its alert.
 */
export function runNotifyCommand(
  command: string | readonly string[],
  event: Notification,
  log: Logger,
  options: { timeoutMs?: number } = {},
): void {
  const [file, ...args] = typeof command === "string" ? ["/bin/sh", "-c", command] : command;
  if (file === undefined) return;
  let child;
  try {
    child = spawn(file, args, { stdio: ["pipe", "ignore", "pipe"], detached: true });
  } catch (error) {
    log.error(`notify_command could not start: ${errorMessage(error)}`);
    return;
  }
  const pgid = child.pid;
  if (pgid !== undefined) running.add(pgid);
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    if (stderr.length < 2000) stderr += chunk.toString("utf8");
  });
  child.on("error", (error) => {
    log.error(`notify_command failed: ${error.message}`);
  });
  const timer = setTimeout(() => {
    if (pgid !== undefined) killGroup(pgid);
  }, options.timeoutMs ?? NOTIFY_TIMEOUT_MS);
  timer.unref();
  child.on("exit", (code, signal) => {
    clearTimeout(timer);
    if (pgid !== undefined) {
      // Whatever the command left behind in its group goes with it.
      killGroup(pgid);
      running.delete(pgid);
    }
    if (code === 0) return;
    const how = signal === null ? `exit status ${code ?? "?"}` : `signal ${signal}`;
    log.error(
      `notify_command for ${event.type} ended with ${how}${stderr === "" ? "" : `: ${stderr.trim().slice(0, 500)}`}`,
    );
  });
  child.stdin.on("error", () => undefined);
  child.stdin.end(`${JSON.stringify(event)}\n`);
}

/** Ends every notifier still running (the daemon is stopping): none is left orphaned. */
export function stopNotifiers(): number {
  const count = running.size;
  for (const pgid of running) killGroup(pgid);
  running.clear();
  return count;
}
