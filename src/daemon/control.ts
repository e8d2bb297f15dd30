import { spawn } from "node:child_process";
import { closeSync, readSync } from "node:fs";
import { selfCommand } from "../agents/self.js";
import { DAEMON_NODE_FLAGS } from "./node-flags.js";
import { AppError, errorMessage } from "../errors.js";
import type { TownPaths } from "../town/paths.js";
import type { DaemonStateFile } from "../town/schemas.js";
import { sleep } from "../util/sleep.js";
import { EXIT_ALREADY_RUNNING } from "./daemon.js";
import { findDaemon, holdsDaemonLock } from "./find-daemon.js";
import { isProcessAlive, probeDaemon } from "./instance.js";
import { readPidFile, removePidFile } from "./pid-file.js";
import { readState, writeState } from "./state-file.js";
import { ensureDaemonDir } from "./daemon-dir.js";
import { openPrivateFile } from "../util/private-file.js";
import { openRegularFileSafe } from "../util/safe-read.js";

export type StartOutcome =
  { outcome: "started"; pid: number } | { outcome: "already-running"; pid: number | undefined };

/** How much of a log's end tailLines reads: far more than the lines anyone asks for. */
const TAIL_BYTES = 4 * 1024 * 1024;

/**
 * The last `lines` lines of a text file, or [] when it does not exist. Only its last TAIL_BYTES are read,
 * and only from a regular file reached without a symlink: a FIFO or a link to /dev/zero in daemon/ must not
 * hang or exhaust `townd logs`.
 */
export function tailLines(file: string, lines: number): string[] {
  let text: string;
  let partialFirst = false;
  try {
    const opened = openRegularFileSafe(file, { noFollow: true });
    if (opened === undefined) return [];
    try {
      const length = Math.min(opened.size, TAIL_BYTES);
      partialFirst = length < opened.size;
      const buffer = Buffer.alloc(length);
      let read = 0;
      while (read < length) {
        const n = readSync(opened.fd, buffer, read, length - read, opened.size - length + read);
        if (n === 0) break;
        read += n;
      }
      text = buffer.subarray(0, read).toString("utf8");
    } finally {
      closeSync(opened.fd);
    }
  } catch (error) {
    return [`(cannot read ${file}: ${errorMessage(error)})`];
  }
  const all = text.split("\n");
  if (all.at(-1) === "") all.pop();
  // A tail that starts mid-file starts mid-line: drop that partial first line.
  if (partialFirst) all.shift();
  return lines <= 0 ? [] : all.slice(-lines);
}

function startFailure(paths: TownPaths, why: string): AppError {
  const tail = [...tailLines(paths.startupLog, 10), ...tailLines(paths.logFile, 10)];
  const detail = tail.length === 0 ? "" : `\n--- last log lines ---\n${tail.join("\n")}`;
  return new AppError("E_START_FAILED", `Daemon failed to start: ${why}${detail}`);
}

/**
 * Starts the daemon detached (its own session, so closing the terminal does not stop it) and returns once
 * it is up: it holds the lock and has written its PID and state. Idempotent: a running daemon is reported,
 * and of many concurrent starts exactly one daemon survives and every caller is told which PID it is.
 */
export async function startDaemon(
  paths: TownPaths,
  options: { timeoutMs?: number } = {},
): Promise<StartOutcome> {
  const before = probeDaemon(paths);
  // A daemon that has just taken the lock writes its PID file a moment later.
  if (before.running)
    return { outcome: "already-running", pid: before.pid ?? (await waitForPid(paths, 5000)) };

  ensureDaemonDir(paths);
  const out = openPrivateFile(paths.startupLog, "truncate").fd;
  const [node, ...args] = selfCommand();
  let exitCode: number | null | undefined;
  const child = spawn(
    node ?? process.execPath,
    [...DAEMON_NODE_FLAGS, ...args, "--town", paths.root, "run"],
    {
      cwd: paths.root,
      detached: true,
      stdio: ["ignore", out, out],
      env: process.env,
    },
  );
  closeSync(out);
  child.on("exit", (code, signal) => {
    exitCode = code ?? (signal === null ? -1 : -2);
  });
  const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw startFailure(paths, errorMessage(await spawnError));

  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  while (Date.now() < deadline) {
    if (exitCode !== undefined) {
      if (exitCode === EXIT_ALREADY_RUNNING) {
        const winner = await waitForPid(paths, 5000);
        return { outcome: "already-running", pid: winner };
      }
      throw startFailure(paths, `process ${pid} exited with code ${exitCode}`);
    }
    if (readPidFile(paths) === pid) {
      const state = safeReadState(paths);
      if (state?.running === true && state.pid === pid) return { outcome: "started", pid };
    }
    await sleep(25);
  }
  throw startFailure(paths, `process ${pid} did not report ready within ${options.timeoutMs ?? 15_000} ms`);
}

async function waitForPid(paths: TownPaths, timeoutMs: number): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const probe = probeDaemon(paths);
    if (probe.pid !== undefined || Date.now() > deadline) return probe.pid;
    await sleep(25);
  }
}

export function safeReadState(paths: TownPaths): DaemonStateFile | undefined {
  try {
    return readState(paths);
  } catch {
    return undefined;
  }
}

export interface StopResult {
  pid: number;
  /** True when SIGTERM was not enough and SIGKILL was sent. */
  forced: boolean;
  waitedMs: number;
}

/**
 * SIGTERM, a bounded wait, then SIGKILL, to the process that holds the town's lock and no other (the PID
 * file may name a process that has nothing to do with townd). The wait ends when the lock is free, not when
 * a PID is gone, since a reused PID may live on. After a SIGKILL the daemon could not clean up, so its files
 * are set right here: state running=false and no PID file.
 */
export async function stopDaemon(
  paths: TownPaths,
  options: { timeoutMs?: number } = {},
): Promise<StopResult> {
  const found = await findDaemon(paths);
  if (found.state === "not-running") {
    removePidFile(paths);
    throw new AppError("E_NOT_RUNNING", "Daemon is not running");
  }
  if (found.state === "unverified") {
    throw new AppError("E_PID_UNVERIFIED", `Cannot tell which process is the daemon: ${found.why}`);
  }
  const { pid } = found;
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? 10_000;
  // Stopped once the process is gone; a process that has let go of the lock gets two seconds to exit (it
  // may not be ours any more if its PID was reused, so it is not waited for beyond that).
  let releasedAt: number | undefined;
  const stopped = (): boolean => {
    if (!isProcessAlive(pid)) return true;
    if (holdsDaemonLock(paths, pid)) return false;
    releasedAt ??= Date.now();
    return Date.now() - releasedAt > 2000;
  };
  process.kill(pid, "SIGTERM");
  while (Date.now() - started < timeoutMs) {
    if (stopped()) return { pid, forced: false, waitedMs: Date.now() - started };
    await sleep(25);
  }
  // Checked again: in the meantime the daemon may have exited and its PID been reused.
  if (stopped()) return { pid, forced: false, waitedMs: Date.now() - started };
  process.kill(pid, "SIGKILL");
  const killDeadline = Date.now() + 5000;
  while (!stopped() && Date.now() < killDeadline) await sleep(25);
  const state = safeReadState(paths);
  if (state !== undefined && state.pid === pid) writeState(paths, { ...state, running: false });
  removePidFile(paths);
  return { pid, forced: true, waitedMs: Date.now() - started };
}
