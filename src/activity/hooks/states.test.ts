import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseHookLine, type HookEvent } from "./intake.js";
import { nextActivity } from "../state.js";
import { hookReading, hookSession, resetTime } from "./states.js";

const FIXTURE = join(
  import.meta.dirname,
  "../../../test/fixtures/claude-2.1.332/hook-events-before-login.jsonl",
);

/** The recorded payloads (Claude Code 2.1.332, before login) as townd's hook would have written them. */
function recorded(): HookEvent[] {
  return readFileSync(FIXTURE, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((json, i) => {
      const name = (JSON.parse(json) as { hook_event_name: string }).hook_event_name;
      const event = parseHookLine(`0mbx3k2a1q7zk0f\t${name}\t${json}`, 1000 + i);
      assert.ok(event !== null);
      return event;
    });
}

function event(name: string, payload: Record<string, unknown> | null): HookEvent {
  return { generation: "g1", event: name, payload, receivedAt: 1 };
}

describe("parseHookLine", () => {
  it("splits generation, event and payload", () => {
    assert.deepEqual(parseHookLine('g-1_a\tStop\t{"a":1}', 5), {
      generation: "g-1_a",
      event: "Stop",
      payload: { a: 1 },
      receivedAt: 5,
    });
  });

  it("keeps a cut or malformed payload as null, with its generation and event", () => {
    assert.deepEqual(parseHookLine('g\tStop\t{"session_id":"ab', 5)?.payload, null);
    assert.deepEqual(parseHookLine("g\tStop\t", 5)?.payload, null);
    assert.deepEqual(parseHookLine("g\tStop\t[1]", 5)?.payload, null);
    assert.equal(parseHookLine("g\tStop\tx", 5)?.event, "Stop");
  });

  it("refuses lines whose generation or event is not a plain name", () => {
    for (const line of ["", "no tabs", "g\tStop", "\tStop\t{}", "g h\tStop\t{}", "g\tSto p\t{}", "g\t\t{}"])
      assert.equal(parseHookLine(line, 0), null, JSON.stringify(line));
    assert.equal(parseHookLine(`${"g".repeat(65)}\tStop\t{}`, 0), null);
    assert.equal(parseHookLine(`g\tStop\t"${"x".repeat(70_000)}"`, 0), null);
  });
});

describe("hookReading with Claude Code 2.1.332's recorded payloads", () => {
  it("reads SessionStart as idle, UserPromptSubmit as working, StopFailure authentication_failed as auth-required", () => {
    const readings = recorded().map((e) => hookReading(e));
    assert.deepEqual(readings.slice(0, 3), [
      { state: "idle", source: "hook", detail: "SessionStart: startup" },
      { state: "working", source: "hook", detail: "UserPromptSubmit" },
      {
        state: "auth-required",
        source: "hook",
        detail: "StopFailure: authentication_failed — Not logged in · Please run /login",
      },
    ]);
    assert.equal(readings[3], null, "SessionEnd prompt_input_exit says nothing (the process does)");
    assert.equal(readings[4]?.state, "idle");
  });

  it("finds the session id and transcript", () => {
    const first = recorded()[0];
    assert.ok(first !== undefined);
    assert.deepEqual(hookSession(first), {
      sessionId: "928f3fc6-0754-439f-be2f-b2c64b2503a4",
      transcriptPath:
        "/tmp/ccfx/home-main/.claude/projects/-tmp-ccfx-proj/928f3fc6-0754-439f-be2f-b2c64b2503a4.jsonl",
    });
    assert.deepEqual(hookSession(event("Stop", { session_id: "a b", transcript_path: "rel/x" })), {});
    assert.deepEqual(hookSession(event("Stop", { transcript_path: "/a\nb" })), {});
    assert.deepEqual(hookSession(event("Stop", null)), {});
  });
});

describe("hookReading", () => {
  const state = (name: string, payload: Record<string, unknown> | null = {}): string | undefined =>
    hookReading(event(name, payload))?.state;

  it("maps the turn's events", () => {
    for (const name of [
      "UserPromptSubmit",
      "PreToolUse",
      "PostToolUse",
      "PostToolUseFailure",
      "SubagentStart",
    ])
      assert.equal(state(name), "working", name);
    assert.equal(state("Stop"), "idle");
    assert.equal(state("Stop", null), "idle", "a cut payload still names its event");
    assert.equal(state("PreCompact", { trigger: "auto" }), "compacting");
    assert.equal(state("PostCompact", { trigger: "auto" }), "working");
    assert.equal(state("PostCompact", { trigger: "manual" }), "idle");
    assert.equal(state("SessionEnd", { reason: "logout" }), "auth-required");
    assert.equal(state("SessionEnd", { reason: "other" }), undefined);
    assert.equal(state("SubagentStop"), undefined);
    assert.equal(state("TaskCreated"), undefined);
  });

  it("shows the tool and one line of its command for a permission wait", () => {
    const command = `npm test -- ${"x".repeat(200)}\nsecond line`;
    const reading = hookReading(
      event("PermissionRequest", { tool_name: "Bash", tool_input: { command: "npm test" } }),
    );
    assert.deepEqual(reading, { state: "awaiting-permission", source: "hook", detail: "Bash: npm test" });
    const long = hookReading(event("PermissionRequest", { tool_name: "Bash", tool_input: { command } }));
    assert.ok(long !== null);
    assert.equal(long.detail.length, "Bash: ".length + 120);
    assert.ok(!long.detail.includes("\n") && long.detail.endsWith("…"));
    assert.equal(
      hookReading(event("PreToolUse", { tool_name: "Edit", tool_input: { file_path: "/a/b.ts" } }))?.detail,
      "PreToolUse: Edit: /a/b.ts",
    );
  });

  it("reads notifications by type", () => {
    const permission = {
      notification_type: "permission_prompt",
      message: "Claude needs your permission to use Bash",
    };
    assert.deepEqual(hookReading(event("Notification", permission)), {
      state: "awaiting-permission",
      source: "hook",
      detail: "Claude needs your permission to use Bash",
      repeatsState: true,
    });
    assert.equal(state("Notification", { notification_type: "idle_prompt" }), "idle");
    // Logged in at last: back at its prompt.
    assert.equal(state("Notification", { notification_type: "auth_success" }), "idle");
  });

  it("keeps the PermissionRequest's tool and command when Claude's permission_prompt notification follows", () => {
    const asked = hookReading(
      event("PermissionRequest", { tool_name: "Bash", tool_input: { command: "rm -rf build" } }),
    );
    const notified = hookReading(
      event("Notification", {
        notification_type: "permission_prompt",
        message: "Claude needs your permission to use Bash",
      }),
    );
    assert.ok(asked !== null && notified !== null);
    const waiting = nextActivity(nextActivity(undefined, asked, 1000), notified, 2000);
    assert.deepEqual(waiting, {
      state: "awaiting-permission",
      source: "hook",
      detail: "Bash: rm -rf build",
      since: 1000,
      observedAt: 2000,
    });
    // Alone (no PermissionRequest before it), the notification says what it can.
    assert.equal(nextActivity(undefined, notified, 5).detail, "Claude needs your permission to use Bash");
    assert.ok(!("repeatsState" in nextActivity(undefined, notified, 5)));
  });

  it("reads a rate-limit StopFailure from either field, its limit and reset from Claude's banner", () => {
    const message = "You've hit your session limit · resets 3:42pm (UTC)";
    const receivedAt = Date.parse("2026-05-04T15:40:31.000Z");
    for (const field of ["error", "error_type"]) {
      const payload = { [field]: "rate_limit", last_assistant_message: message };
      assert.deepEqual(hookReading({ ...event("StopFailure", payload), receivedAt }), {
        state: "rate-limited",
        source: "hook",
        detail: `StopFailure: rate_limit — ${message}`,
        limit: "session",
        resetsAt: Date.parse("2026-05-04T15:42:00.000Z"),
      });
    }
    // A bare time is its next occurrence: past 3:42pm, tomorrow's.
    const late = hookReading({
      ...event("StopFailure", { error: "rate_limit", last_assistant_message: message }),
      receivedAt: Date.parse("2026-05-04T15:43:00.000Z"),
    });
    assert.equal(late?.resetsAt, Date.parse("2026-05-05T15:42:00.000Z"));
    // No time in the banner, or no banner: none invented.
    const bare = { error: "rate_limit", last_assistant_message: "You've hit your session limit" };
    assert.deepEqual(
      { ...hookReading(event("StopFailure", bare)) },
      {
        state: "rate-limited",
        source: "hook",
        detail: "StopFailure: rate_limit — You've hit your session limit",
        limit: "session",
        resetsAt: null,
      },
    );
    assert.equal(hookReading(event("StopFailure", { error: "rate_limit" }))?.resetsAt, null);
    assert.equal(hookReading(event("StopFailure", { error: "rate_limit" }))?.limit, "unknown");
    // A structured reset in the payload wins over the banner's words.
    const withReset = hookReading(
      event("StopFailure", {
        error: "rate_limit",
        resets_at: 1_900_000_000,
        last_assistant_message: message,
      }),
    );
    assert.equal(withReset?.resetsAt, 1_900_000_000_000);
  });

  it("tells a server throttle from an account limit", () => {
    const throttle = "API Error: Server is temporarily limiting requests (not your usage limit)";
    assert.equal(state("StopFailure", { error: "rate_limit", last_assistant_message: throttle }), "idle");
    assert.equal(state("StopFailure", { error: "billing_error" }), "needs-human");
    assert.equal(state("StopFailure", { error: "server_error" }), "idle");
    assert.equal(state("StopFailure", null), "idle");
  });

  it("parses reset times in seconds, milliseconds or ISO, and nothing else", () => {
    assert.equal(resetTime({ resets_at: 1_900_000_000 }), 1_900_000_000_000);
    assert.equal(resetTime({ resetsAt: 1_900_000_000_123 }), 1_900_000_000_123);
    assert.equal(
      resetTime({ resets_at: "2030-03-17T10:46:40.000Z" }),
      Date.parse("2030-03-17T10:46:40.000Z"),
    );
    assert.equal(resetTime({ resets_at: "7am" }), null);
    assert.equal(resetTime({ resets_at: 5 }), null);
    assert.equal(resetTime({}), null);
  });
});
