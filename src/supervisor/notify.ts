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

/**
 * Runs the operator's notify_command with the event as JSON on stdin. The event never reaches the command
 * line, so no agent-controlled text is ever interpreted by a shell. Bounded by a timeout; never awaited by a
 * pass (a slow notifier must not hold up supervision).
 */
export function runNotifyCommand(
  command: string | readonly string[],
  event: Notification,
  log: Logger,
): void {
  const [file, ...args] = typeof command === "string" ? ["/bin/sh", "-c", command] : command;
  if (file === undefined) return;
  let child;
  try {
    // Its own process group, so a timeout kills the whole command (a pipeline, a curl), not just the shell.
    child = spawn(file, args, { stdio: ["pipe", "ignore", "pipe"], detached: true });
  } catch (error) {
    log.error(`notify_command could not start: ${errorMessage(error)}`);
    return;
  }
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    if (stderr.length < 2000) stderr += chunk.toString("utf8");
  });
  child.on("error", (error) => {
    log.error(`notify_command failed: ${error.message}`);
  });
  const running = child;
  const timer = setTimeout(() => {
    if (running.pid !== undefined) {
      try {
        process.kill(-running.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  }, NOTIFY_TIMEOUT_MS);
  timer.unref();
  child.on("exit", (code, signal) => {
    clearTimeout(timer);
    if (code === 0) return;
    const how = signal === null ? `exit status ${code ?? "?"}` : `signal ${signal}`;
    log.error(
      `notify_command for ${event.type} ended with ${how}${stderr === "" ? "" : `: ${stderr.trim().slice(0, 500)}`}`,
    );
  });
  child.stdin.on("error", () => undefined);
  child.stdin.end(`${JSON.stringify(event)}\n`);
}
