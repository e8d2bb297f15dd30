import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, describe, it } from "node:test";
import { makeTempDir } from "../../test/helpers/tmp.js";
import { parseHookLine } from "../activity/hooks/intake.js";
import { claudeSettingsPaths, renderClaudeSettings } from "../activity/hooks/settings-file.js";
import { waitFor } from "../util/sleep.js";
import { runSimAgent } from "./agent.js";
import { INTERRUPTED } from "./conversation.js";
import { resolveSimAgentOptions, type SimAgentFlags } from "./options.js";

/**
 * The simulated Claude mid-session, in-process with piped input and output, running townd's own hook
 * settings (every event appends a line to hook-events, the statusline keeps its JSON): usage-limit walls,
 * permission prompts, a busy turn's input box and Escape, and a resumed conversation.
 */

interface Hooked {
  readonly event: string;
  readonly payload: Record<string, unknown>;
}

describe("the simulated Claude mid-session", () => {
  const tmp = makeTempDir("sim-conv-");
  const running: { stop(): Promise<void> }[] = [];
  let n = 0;

  after(async () => {
    for (const agent of running) await agent.stop();
    tmp.cleanup();
  });

  function start(flags: SimAgentFlags = {}) {
    n += 1;
    const dir = join(tmp.dir, `a${n}`);
    mkdirSync(dir);
    const paths = claudeSettingsPaths(dir);
    writeFileSync(paths.settingsFile, renderClaudeSettings(paths, null));
    // The daemon makes the statusline's directory.
    mkdirSync(paths.statuslineDir);
    const log = join(dir, "sim.jsonl");
    const env = { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: dir, TOWND_GENERATION: "g1" };
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    let output = "";
    stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    let clock = Date.parse("2026-05-04T15:40:31.000Z");
    const signals = new EventEmitter();
    const done = runSimAgent(
      resolveSimAgentOptions({ settings: paths.settingsFile, log, ...flags }, env, dir),
      {
        stdin,
        stdout,
        now: () => new Date(clock),
        exit: () => undefined,
        signals,
        setTitle: () => undefined,
      },
    );
    const hooks = (): Hooked[] =>
      existsSync(paths.eventsFile)
        ? readFileSync(paths.eventsFile, "utf8")
            .split("\n")
            .flatMap((line) => {
              const event = parseHookLine(line, 0);
              return event === null ? [] : [{ event: event.event, payload: event.payload ?? {} }];
            })
        : [];
    const agent = {
      type: (text: string) => stdin.write(text),
      output: () => output,
      hooks,
      events: () => hooks().map((h) => h.event),
      logged: () =>
        readFileSync(log, "utf8")
          .split("\n")
          .filter((line) => line !== "")
          .map((line) => JSON.parse(line) as Record<string, unknown>),
      /** The statusline's last JSON, once `check` holds for it. */
      statusline: async (check: (json: Record<string, unknown>) => boolean) => {
        const file = join(paths.statuslineDir, "g1.json");
        const json = await waitFor(
          () => {
            if (!existsSync(file)) return undefined;
            const parsed = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
            return check(parsed) ? parsed : undefined;
          },
          { timeoutMs: 5000, intervalMs: 10 },
        );
        assert.ok(json !== undefined, `no statusline as expected in ${file}`);
        return json;
      },
      advance: (ms: number) => {
        clock += ms;
      },
      /** Waits until the output shows `text` (at least `count` times). */
      shows: async (text: string, count = 1) => {
        const seen = await waitFor(() => (output.split(text).length > count ? true : undefined), {
          timeoutMs: 5000,
          intervalMs: 10,
        });
        assert.ok(seen, `no ${JSON.stringify(text)} (×${count}) in:\n${output}`);
      },
      /** Waits until the hooks fired include `event` (at least `count` times). */
      fired: async (event: string, count = 1) => {
        const seen = await waitFor(
          () => (hooks().filter((h) => h.event === event).length >= count ? true : undefined),
          { timeoutMs: 5000, intervalMs: 10 },
        );
        assert.ok(
          seen,
          `no ${event} (×${count}) among ${hooks()
            .map((h) => h.event)
            .join(", ")}`,
        );
      },
      stop: async () => {
        signals.emit("SIGTERM");
        await done;
      },
    };
    running.push(agent);
    return agent;
  }

  it("walls each turn until the reset, then works again (StopFailure with the banner, the spent window)", async () => {
    const agent = start();
    await agent.fired("SessionStart");
    agent.type("/sim wall 90s\n");
    const banner = "You've hit your session limit · resets 3:43pm (UTC)";
    await agent.shows(`  ⎿  ${banner}\n❯ `);
    await agent.fired("StopFailure");
    const failure = agent.hooks().find((h) => h.event === "StopFailure");
    assert.equal(failure?.payload["error"], "rate_limit");
    assert.equal(failure.payload["last_assistant_message"], banner);
    const resetsAt = Date.parse("2026-05-04T15:43:00.000Z");
    const walled = await agent.statusline((json) => json["rate_limits"] !== undefined);
    assert.deepEqual(walled["rate_limits"], {
      five_hour: { used_percentage: 100, resets_at: resetsAt / 1000 },
    });
    assert.deepEqual(
      agent.logged().find((e) => e["type"] === "wall"),
      { ...agent.logged().find((e) => e["type"] === "wall"), resets_at: "2026-05-04T15:43:00.000Z", banner },
    );

    // Walled: a prompt is no turn, the banner and StopFailure come again.
    agent.advance(resetsAt - Date.parse("2026-05-04T15:40:31.000Z") - 1);
    agent.type("go on\n");
    await agent.shows(`received: go on\n  ⎿  ${banner}\n❯ `);
    await agent.fired("StopFailure", 2);
    assert.ok(!agent.events().includes("UserPromptSubmit"), agent.events().join(", "));

    // At the reset the wall is gone: a turn as ever.
    agent.advance(1);
    agent.type("go on\n");
    await agent.fired("Stop");
    assert.deepEqual(agent.events().slice(-2), ["UserPromptSubmit", "Stop"]);
    await agent.shows("received: go on\n❯ ", 1);
    await agent.statusline((json) => json["rate_limits"] === undefined);
  });

  it("shows Claude's /rate-limit-options menu with --menu and takes its answer by arrows and Enter", async () => {
    const agent = start();
    await agent.fired("SessionStart");
    agent.type("/sim wall 5h --menu\n");
    await agent.shows("  Enter to confirm · Esc to cancel\n");
    assert.match(
      agent.output(),
      /resets 8:41pm \(UTC\)\n─+\n {2}What do you want to do\?\n\n {2}❯ 1\. Stop and wait/,
    );
    await agent.fired("StopFailure");
    assert.ok(!agent.output().endsWith("❯ "), "the menu waits for its answer: no prompt below it");
    agent.type("\x1b[B");
    agent.type("\x1b[A\rhello\n");
    await agent.shows("received: hello\n");
    const answer = agent.logged().find((e) => e["type"] === "dialog");
    assert.equal(answer?.["dialog"], "rate-limit-options");
    assert.equal(answer["choice"], "Stop and wait for limit to reset");
  });

  it("asks for permission with PreToolUse, PermissionRequest and a notification; Yes runs the tool", async () => {
    const agent = start();
    await agent.fired("SessionStart");
    agent.type("/sim permission Bash npm test\n");
    await agent.fired("Notification");
    await agent.shows(" Esc to cancel · Tab to amend\n");
    assert.match(agent.output(), /Bash command\n\n {3}npm test\n\n Do you want to proceed\?\n ❯ 1\. Yes\n/);
    assert.deepEqual(agent.events(), ["SessionStart", "PreToolUse", "PermissionRequest", "Notification"]);
    const [, , request, notification] = agent.hooks();
    assert.deepEqual(request?.payload["tool_input"], { command: "npm test" });
    assert.equal(request.payload["tool_name"], "Bash");
    assert.equal(notification?.payload["notification_type"], "permission_prompt");
    agent.type("\r");
    await agent.fired("Stop");
    assert.deepEqual(agent.events().slice(-2), ["PostToolUse", "Stop"]);
    await agent.shows("  ⎿  ran: npm test\n❯ ");
    assert.equal(agent.logged().find((e) => e["type"] === "dialog")?.["choice"], "Yes");
  });

  it("takes Esc at a permission prompt as No: interrupted, and no hook fires", async () => {
    const agent = start();
    await agent.fired("SessionStart");
    agent.type("/sim permission Bash rm -rf build\n");
    await agent.fired("Notification");
    // A lone Escape key, as tmux sends it.
    agent.type("\x1b");
    await agent.shows(`${INTERRUPTED}\n\n❯ `);
    assert.deepEqual(agent.events().slice(-1), ["Notification"]);
    assert.match(String(agent.logged().find((e) => e["type"] === "dialog")?.["choice"]), /^No, and tell/);
  });

  it("queues prompts during a busy turn; Escape with an empty box interrupts it, with a draft it does not", async () => {
    const agent = start({ busy: true });
    await agent.fired("UserPromptSubmit");
    await agent.shows("esc to interrupt)\n❯ ");
    agent.type("first\r");
    // The nudge protocol: text, Escape, Enter (B116): queued, the turn goes on.
    agent.type("Continue your task");
    agent.type("\x1b");
    await new Promise((resolve) => setTimeout(resolve, 120));
    agent.type("\r");
    await new Promise((resolve) => setTimeout(resolve, 120));
    assert.deepEqual(agent.events(), ["SessionStart", "UserPromptSubmit"]);
    assert.ok(!agent.output().includes("Interrupted"));
    agent.type("\x1b");
    await agent.fired("Stop", 2);
    await agent.shows(`${INTERRUPTED}\n\nreceived: first\nreceived: Continue your task\n❯ `);
    // No hook for the interrupt itself: the queued prompts' turns follow it.
    assert.deepEqual(agent.events(), [
      "SessionStart",
      "UserPromptSubmit",
      "UserPromptSubmit",
      "Stop",
      "UserPromptSubmit",
      "Stop",
    ]);
    assert.equal(agent.hooks()[2]?.payload["prompt"], "first");
    assert.deepEqual(
      agent.logged().find((e) => e["type"] === "interrupt"),
      { ...agent.logged().find((e) => e["type"] === "interrupt"), queued: 2 },
    );
    // The turn is over: the input line is read line by line again.
    agent.type("after\n");
    await agent.fired("Stop", 3);
  });

  it("ignores Escape once hung: the busy turn's spinner stays", async () => {
    const agent = start({ busy: true });
    await agent.fired("UserPromptSubmit");
    agent.type("/sim hang\n");
    await waitFor(() => (agent.logged().some((e) => e["type"] === "hang") ? true : undefined), {
      timeoutMs: 5000,
    });
    agent.type("\x1b");
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.ok(!agent.output().includes("Interrupted"));
    assert.ok(!agent.logged().some((e) => e["type"] === "interrupt"));
  });

  it("resumes a conversation with --resume: its session id in every hook, SessionStart from resume", async () => {
    const agent = start({ resume: "0f1e2d3c-aaaa-4bbb-8ccc-123456789abc" });
    await agent.fired("SessionStart");
    agent.type("hello\n");
    await agent.fired("Stop");
    for (const hooked of agent.hooks())
      assert.equal(hooked.payload["session_id"], "0f1e2d3c-aaaa-4bbb-8ccc-123456789abc");
    assert.equal(agent.hooks()[0]?.payload["source"], "resume");
    assert.equal(agent.logged()[0]?.["resume"], "0f1e2d3c-aaaa-4bbb-8ccc-123456789abc");
    const fresh = start();
    await fresh.fired("SessionStart");
    assert.equal(fresh.hooks()[0]?.payload["source"], "startup");
    assert.match(String(fresh.hooks()[0]?.payload["session_id"]), /^[0-9a-f-]{36}$/);
  });
});
