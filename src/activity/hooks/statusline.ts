import { closeSync, fstatSync, lstatSync, readdirSync, readSync, rmSync } from "node:fs";
import type { ActivityReading } from "../state.js";
import { join } from "node:path";
import { openRegularFileSafe } from "../../util/safe-read.js";
import { HOOK_PAYLOAD_MAX_BYTES } from "./settings-file.js";

/**
 * An agent's last statusline JSON, as townd's statusline command keeps it in daemon/statusline/<generation>.json
 * (agent-states.md §4): how full its context is, what it has cost, and its account's usage windows.
 */

export interface UsageWindow {
  /** 0–100. */
  readonly usedPercent: number;
  /** When the window resets (epoch ms); null when the JSON gives none. */
  readonly resetsAt: number | null;
}

export interface StatuslineReading {
  readonly contextPercent: number | null;
  readonly costUsd: number | null;
  /** The session's tokens so far (`context_window.total_input_tokens` / `total_output_tokens`). */
  readonly inputTokens: number | null;
  readonly outputTokens: number | null;
  /** `rate_limits.five_hour` (Claude.ai subscriptions only, after the first API response). */
  readonly fiveHour: UsageWindow | null;
  readonly sevenDay: UsageWindow | null;
  readonly sessionId: string | null;
  readonly transcriptPath: string | null;
  /** When the statusline last wrote the file (its mtime, epoch ms). */
  readonly observedAt: number;
}

const GENERATION = /^[A-Za-z0-9_-]{1,64}$/;

/** Reads `<dir>/<generation>.json`; null when it is missing, not a regular file, too large or not JSON. Never throws. */
export function readStatusline(dir: string, generation: string): StatuslineReading | null {
  if (!GENERATION.test(generation)) return null;
  const file = join(dir, `${generation}.json`);
  let opened: { fd: number; size: number } | undefined;
  try {
    opened = openRegularFileSafe(file, { noFollow: true });
  } catch {
    return null;
  }
  if (opened === undefined) return null;
  try {
    if (opened.size > HOOK_PAYLOAD_MAX_BYTES + 1) return null;
    const buffer = Buffer.alloc(opened.size);
    const read = readSync(opened.fd, buffer, 0, buffer.length, 0);
    const observedAt = fstatSync(opened.fd).mtimeMs;
    return parseStatusline(buffer.subarray(0, read).toString("utf8"), Math.floor(observedAt));
  } catch {
    return null;
  } finally {
    closeSync(opened.fd);
  }
}

/** The fields townd uses from one statusline JSON text; null when it is not a JSON object. */
export function parseStatusline(text: string, observedAt: number): StatuslineReading | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  const root = obj(json);
  if (root === undefined) return null;
  const limits = obj(root["rate_limits"]);
  const context = obj(root["context_window"]);
  const sessionId = root["session_id"];
  const transcriptPath = root["transcript_path"];
  return {
    contextPercent: percent(context?.["used_percentage"]),
    costUsd: money(obj(root["cost"])?.["total_cost_usd"]),
    inputTokens: count(context?.["total_input_tokens"]),
    outputTokens: count(context?.["total_output_tokens"]),
    fiveHour: usageWindow(limits?.["five_hour"]),
    sevenDay: usageWindow(limits?.["seven_day"]),
    sessionId: typeof sessionId === "string" && /^[A-Za-z0-9._-]{1,128}$/.test(sessionId) ? sessionId : null,
    transcriptPath:
      typeof transcriptPath === "string" &&
      transcriptPath.startsWith("/") &&
      transcriptPath.length <= 4096 &&
      !/[\u0000-\u001f\u007f]/.test(transcriptPath)
        ? transcriptPath
        : null,
    observedAt,
  };
}

function usageWindow(value: unknown): UsageWindow | null {
  const window = obj(value);
  const usedPercent = percent(window?.["used_percentage"]);
  if (window === undefined || usedPercent === null) return null;
  return { usedPercent, resetsAt: epochMs(window["resets_at"]) };
}

function obj(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function percent(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 && value <= 100 ? value : null;
}

function count(value: unknown): number | null {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : null;
}

function money(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : null;
}

/** Unix seconds, ms, or an ISO date, as epoch ms; null for anything else or a time outside 2001–2286. */
function epochMs(value: unknown): number | null {
  let ms: number | undefined;
  if (typeof value === "number" && Number.isFinite(value)) ms = value < 1e12 ? value * 1000 : value;
  else if (typeof value === "string" && value.length <= 64) ms = Date.parse(value);
  return ms !== undefined && Number.isFinite(ms) && ms >= 1e12 && ms < 1e13 ? Math.round(ms) : null;
}

/** A statusline at or above this share of a usage window is a wall: it lags a tick behind the API. */
export const WALL_PERCENT = 99;

/**
 * What the statusline says of the agent's usage windows (a structured source: it wins over screen text):
 * rate-limited with the window's reset when one is spent and has not reset yet; null otherwise.
 */
export function statuslineWall(reading: StatuslineReading, now: number): ActivityReading | null {
  const windows = [
    ["session", "five-hour", reading.fiveHour],
    ["weekly", "seven-day", reading.sevenDay],
  ] as const;
  for (const [limit, name, window] of windows) {
    if (window === null || window.usedPercent < WALL_PERCENT) continue;
    if (window.resetsAt !== null && window.resetsAt <= now) continue;
    return {
      state: "rate-limited",
      source: "statusline",
      detail: `${name} usage at ${Math.round(window.usedPercent)}%`,
      resetsAt: window.resetsAt,
      limit,
    };
  }
  return null;
}

/** A statusline write is one small printf and a rename: a temp file this old was left by a writer that died. */
export const STALE_STATUSLINE_TEMP_MS = 30_000;

/** The statusline command's temp file: `.<generation>.<shell pid>.tmp` (settings-file.ts). */
const TEMP_FILE = /^\.(.+)\.\d+\.tmp$/;

/**
 * Removes the statusline files of generations that no longer run (the daemon calls it once per pass), and
 * the temp files a statusline command left when it was killed, or its disk went read-only, between its
 * write and its rename: those of other generations at once, those of a running one once stale.
 * Best effort: never throws.
 */
export function pruneStatuslines(dir: string, current: ReadonlySet<string>, now = Date.now()): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const temp = TEMP_FILE.exec(name)?.[1];
    const generation = temp ?? (name.endsWith(".json") ? name.slice(0, -".json".length) : null);
    if (generation === null || !GENERATION.test(generation)) continue;
    if (current.has(generation) && (temp === undefined || !staleSince(join(dir, name), now))) continue;
    try {
      rmSync(join(dir, name), { force: true });
    } catch {
      // A read-only or full disk: the file waits for a later pass; supervision must not fail for it.
    }
  }
}

function staleSince(file: string, now: number): boolean {
  try {
    return now - lstatSync(file).mtimeMs > STALE_STATUSLINE_TEMP_MS;
  } catch {
    return false;
  }
}
