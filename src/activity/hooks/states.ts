import type { ActivityReading, ActivityStateName } from "../state.js";
import { readUsageLimit } from "../usage-limits.js";
import type { HookEvent } from "./intake.js";

/**
 * What one Claude Code hook event says about its agent's activity (agent-states.md §3(b)–(d), §4): the
 * turn's start and tools mean working, Stop idle, a permission request awaiting-permission, a compaction
 * compacting, a failed turn rate-limited or auth-required by its error. Events that say nothing about the
 * main agent's state (SubagentStop, most SessionEnds, unknown events) give null.
 */

/** The detail of Claude's "waiting for your input" reminder, which comes a minute after every turn. */
export const IDLE_PROMPT_DETAIL = "Notification: idle_prompt";

/** The longest command shown in a permission wait's detail. */
export const COMMAND_MAX_CHARS = 120;
/** The longest detail of any reading. */
export const DETAIL_MAX_CHARS = 240;

/** Texts of a server-side throttle, which is no account limit (agent-states.md §3(c)). */
const SERVER_THROTTLE = [/not your usage limit/i, /temporarily limiting requests/i, /\b429\b/, /overloaded/i];

export function hookReading(event: HookEvent): ActivityReading | null {
  const p = event.payload ?? {};
  switch (event.event) {
    case "SessionStart":
      return reading("idle", label("SessionStart", str(p["source"])));
    case "SessionEnd":
      return str(p["reason"]) === "logout" ? reading("auth-required", "SessionEnd: logout") : null;
    case "UserPromptSubmit":
      return reading("working", "UserPromptSubmit");
    case "PreToolUse":
    case "PostToolUse":
    case "PostToolUseFailure":
      return reading("working", label(event.event, toolDetail(p)));
    case "SubagentStart":
      return reading("working", label("SubagentStart", str(p["agent_type"])));
    case "Stop":
      return reading("idle", "Stop");
    case "PermissionRequest":
      return reading("awaiting-permission", toolDetail(p) ?? "PermissionRequest");
    case "Notification":
      return notification(p);
    case "PreCompact":
      return reading("compacting", label("PreCompact", str(p["trigger"])));
    case "PostCompact":
      // A manual /compact ends at the prompt; an automatic one happens mid-turn, which goes on.
      return str(p["trigger"]) === "manual"
        ? reading("idle", "PostCompact: manual")
        : reading("working", label("PostCompact", str(p["trigger"])));
    case "StopFailure":
      return stopFailure(p, event.receivedAt);
    default:
      return null;
  }
}

function notification(p: Record<string, unknown>): ActivityReading | null {
  const type = str(p["notification_type"]);
  const message = str(p["message"]);
  switch (type) {
    case "permission_prompt":
      // Claude names only the tool here ("Claude needs your permission to use Bash"), after the
      // PermissionRequest that named the command too: that detail is kept.
      return {
        ...reading("awaiting-permission", message ?? "Notification: permission_prompt"),
        repeatsState: true,
      };
    case "idle_prompt":
      return reading("idle", IDLE_PROMPT_DETAIL);
    case "auth_success":
      // Logged in at last: back at its prompt, waiting for work.
      return reading("idle", "Notification: auth_success");
    case "elicitation_dialog":
      return reading("dialog", label("Notification: elicitation_dialog", message));
    case undefined:
    default:
      return null;
  }
}

function stopFailure(p: Record<string, unknown>, receivedAt: number): ActivityReading | null {
  // Claude's docs call the field error_type; Claude Code 2.1.332 sends `error`. Both are read.
  const error = str(p["error"]) ?? str(p["error_type"]) ?? "unknown";
  const message = str(p["last_assistant_message"]);
  const detail = label(`StopFailure: ${error}`, message, " — ");
  switch (error) {
    case "rate_limit": {
      if (message !== undefined && SERVER_THROTTLE.some((re) => re.test(message)))
        return reading("idle", detail);
      // The banner Claude ended the turn with says which limit and when it resets, as on its screen
      // ("You've hit your session limit · resets 3:42pm (UTC)"): read like the screen's, seen on arrival.
      const banner = message === undefined ? null : readUsageLimit(bannerLines(message), receivedAt);
      return {
        state: "rate-limited",
        source: "hook",
        detail: oneLine(detail, DETAIL_MAX_CHARS),
        limit: banner?.limit ?? "unknown",
        resetsAt: resetTime(p) ?? banner?.resetsAt ?? null,
      };
    }
    case "authentication_failed":
      return reading("auth-required", detail);
    case "billing_error":
      return reading("needs-human", detail);
    default:
      // The turn ended on an error Claude reports at its prompt: the agent waits for input.
      return reading("idle", detail);
  }
}

function bannerLines(message: string): { text: string; solid: string }[] {
  return message
    .split(/\r?\n/)
    .slice(0, 20)
    .map((line) => {
      const text = line.replace(/[\u0000-\u001f\u007f]/g, " ").trimEnd();
      return { text, solid: text };
    });
}

/** A reset time the payload carries (unix seconds or ms, or an ISO date); null when none: never invented. */
export function resetTime(p: Record<string, unknown>): number | null {
  for (const key of ["resets_at", "resetsAt", "reset_at", "resetAt"]) {
    const value = p[key];
    let ms: number | undefined;
    if (typeof value === "number" && Number.isFinite(value)) ms = value < 1e12 ? value * 1000 : value;
    else if (typeof value === "string" && /^\d{10,13}$/.test(value)) {
      const n = Number(value);
      ms = n < 1e12 ? n * 1000 : n;
    } else if (typeof value === "string" && value.length <= 64) ms = Date.parse(value);
    // Between 2001 and 2286: anything else is not a reset time.
    if (ms !== undefined && Number.isFinite(ms) && ms >= 1e12 && ms < 1e13) return Math.round(ms);
  }
  return null;
}

/** `Bash: npm test` — the tool and, for a command, its first line, cut to COMMAND_MAX_CHARS. */
export function toolDetail(p: Record<string, unknown>): string | undefined {
  const tool = str(p["tool_name"]);
  if (tool === undefined) return undefined;
  const input = p["tool_input"];
  const fields = typeof input === "object" && input !== null ? (input as Record<string, unknown>) : {};
  const what =
    str(fields["command"]) ?? str(fields["file_path"]) ?? str(fields["url"]) ?? str(fields["pattern"]);
  return what === undefined ? tool : `${tool}: ${oneLine(what, COMMAND_MAX_CHARS)}`;
}

export interface HookSession {
  sessionId?: string;
  transcriptPath?: string;
}

const SESSION_ID = /^[A-Za-z0-9._-]{1,128}$/;
const PATH_MAX_CHARS = 4096;

/** The Claude session an event belongs to: its id and transcript, each only when well-formed. */
export function hookSession(event: HookEvent): HookSession {
  const p = event.payload ?? {};
  const session: HookSession = {};
  const id = p["session_id"];
  if (typeof id === "string" && SESSION_ID.test(id)) session.sessionId = id;
  const path = p["transcript_path"];
  if (
    typeof path === "string" &&
    path.startsWith("/") &&
    path.length <= PATH_MAX_CHARS &&
    !/[\u0000-\u001f\u007f]/.test(path)
  )
    session.transcriptPath = path;
  return session;
}

function reading(state: ActivityStateName, detail: string): ActivityReading {
  return { state, source: "hook", detail: oneLine(detail, DETAIL_MAX_CHARS) };
}

function label(head: string, tail: string | undefined, separator = ": "): string {
  return tail === undefined ? head : `${head}${separator}${tail}`;
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value : undefined;
}

/** The text's first non-empty line without control characters, cut to `max` characters (with `…`). */
export function oneLine(text: string, max: number): string {
  const first =
    text
      .split(/\r?\n/)
      .map((line) => line.trim())
      .find((line) => line !== "") ?? "";
  const clean = first.replace(/[\u0000-\u001f\u007f]/g, " ");
  const chars = Array.from(clean);
  return chars.length <= max ? clean : `${chars.slice(0, max - 1).join("")}…`;
}
