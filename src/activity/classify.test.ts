import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { classifyScreen } from "./classify.js";
import { runtimeProfile, type ProfileName } from "./profiles.js";
import { parseScreen } from "./screen.js";
import type { ActivityReading } from "./state.js";

const SEEN = Date.parse("2026-05-10T10:00:00Z");

/** Screens recorded from the real Claude Code CLI (test/fixtures/claude-2.1.332/README.md says how). */
const fixture = (name: string): string =>
  readFileSync(new URL(`../../test/fixtures/claude-2.1.332/${name}.ansi`, import.meta.url), "utf8");

const classify = (captured: string, profile: ProfileName = "claude"): ActivityReading | null =>
  classifyScreen(parseScreen(captured), runtimeProfile(profile), SEEN, { localZone: "UTC" });

const state = (captured: string, profile: ProfileName = "claude"): string | null =>
  classify(captured, profile)?.state ?? null;

const RULE = "─".repeat(80);
const LOGGED_IN_FOOTER = "  ⏵⏵ bypass permissions on (shift+tab to cycle)";
const LOGGED_OUT_FOOTER = `${LOGGED_IN_FOOTER}                Not logged in · run /login`;

/** A Claude screen: the conversation's last lines, the input box, the footer. */
function claudeScreen(above: readonly string[], input = "", footer = LOGGED_IN_FOOTER): string {
  // The empty input line is `❯`, a no-break space and the reverse-video cursor, as the real CLI draws it.
  const inputLine = input === "" ? "❯\u00a0\x1b[7m \x1b[0m" : `❯\u00a0${input}\x1b[7m \x1b[0m`;
  return [
    ...above,
    "",
    RULE,
    inputLine,
    RULE,
    footer,
    "                                   ◐ medium · /effort",
    "",
  ].join("\n");
}

describe("the recorded Claude Code 2.1.332 screens", () => {
  it("reads every idle prompt of the logged-out CLI as auth-required", () => {
    for (const name of [
      "idle-prompt-not-logged-in",
      "after-submit-not-logged-in",
      "second-start-idle-prompt",
      "narrow-80x24-idle-prompt",
      "mcp-declined-idle-prompt",
      "custom-api-key-declined-idle-prompt",
      "idle-prompt-after-slash-menu",
    ]) {
      assert.deepEqual(
        classify(fixture(name)),
        { state: "auth-required", source: "screen", detail: "Not logged in · run /login" },
        name,
      );
    }
  });

  it("reads the start-up dialogs as dialogs", () => {
    const dialogs: Record<string, string> = {
      "trust-dialog": "the workspace trust dialog",
      "trust-dialog-cursor-on-yes": "the workspace trust dialog",
      "trust-dialog-with-mcp-json": "the workspace trust dialog",
      "narrow-80x24-trust-dialog": "the workspace trust dialog",
      "bypass-dialog": "the Bypass Permissions warning dialog",
      "bypass-dialog-cursor-on-accept": "the Bypass Permissions warning dialog",
      "bypass-dialog-after-mcp-server-dialog": "the Bypass Permissions warning dialog",
      "narrow-80x24-bypass-dialog": "the Bypass Permissions warning dialog",
      "custom-api-key-dialog": 'the "Detected a custom API key" dialog',
      "custom-api-key-dialog-cursor-on-yes": 'the "Detected a custom API key" dialog',
      "mcp-server-dialog": 'the "New MCP server found" dialog',
    };
    for (const [name, detail] of Object.entries(dialogs)) {
      assert.deepEqual(classify(fixture(name)), { state: "dialog", source: "screen", detail }, name);
    }
  });

  it("leaves the slash-command menu to a person", () => {
    const reading = classify(fixture("slash-menu"));
    assert.equal(reading?.state, "needs-human");
    assert.ok(reading.detail.length <= 200);
    assert.match(reading.detail, /^an unknown menu \("\/add-dir\s+Add a working directory", /);
  });

  it("says nothing of typed text or of a pane whose CLI has exited", () => {
    for (const name of [
      "prompt-with-typed-text",
      "root-refusal",
      "no-claude-json-offline-exit",
      "onboarding-false-offline-exit",
    ]) {
      assert.equal(classify(fixture(name)), null, name);
    }
  });
});

describe("a working Claude", () => {
  it("is working with a live spinner and its timer", () => {
    const reading = classify(claudeScreen(["● Reading the tests.", "", "✶ Pondering… (12s · ↓ 340 tokens)"]));
    assert.deepEqual(reading, {
      state: "working",
      source: "screen",
      detail: "✶ Pondering… (12s · ↓ 340 tokens)",
    });
  });

  it("is working with a task list hanging below the spinner", () => {
    const todos = ["  ⎿  ☒ Read the code", ...Array.from({ length: 6 }, (_, i) => `     ☐ Step ${i + 2}`)];
    assert.equal(state(claudeScreen(["✢ Frolicking… (1m 3s · ↓ 2.1k tokens)", ...todos])), "working");
  });

  it("is working when the footer says esc to interrupt", () => {
    assert.equal(
      state(claudeScreen(["● Running."], "", `${LOGGED_IN_FOOTER} · esc to interrupt`)),
      "working",
    );
  });

  it("is idle, not working, after the post-turn summary", () => {
    const screen = (footer: string): string => claudeScreen(["● Done.", "", "✻ Crunched for 1s"], "", footer);
    assert.deepEqual(classify(screen(LOGGED_IN_FOOTER)), {
      state: "idle",
      source: "screen",
      detail: "the empty input line",
    });
    assert.equal(state(screen(LOGGED_OUT_FOOTER)), "auth-required");
  });

  it("is compacting while the conversation is compacted", () => {
    const reading = classify(claudeScreen(["✻ Compacting conversation… (34s · esc to interrupt)"]));
    assert.equal(reading?.state, "compacting");
    assert.equal(reading.detail, "✻ Compacting conversation… (34s · esc to interrupt)");
  });

  it("is not idle with messages queued", () => {
    assert.equal(state(claudeScreen(["● Done."], "\x1b[2mPress up to edit queued messages\x1b[0m")), null);
  });
});

describe("permission prompts", () => {
  const bash = [
    "● Running the tests.",
    "",
    RULE,
    " Bash command",
    "",
    "   npm test -- --watch=false",
    "   Run the test suite",
    "",
    " Do you want to proceed?",
    " ❯ 1. Yes",
    "   2. Yes, and don't ask again for npm test commands in /work/proj",
    "   3. No, and tell Claude what to do differently (esc)",
    "",
    " Esc to cancel · Tab to amend",
  ].join("\n");

  it("names the Bash command waited on", () => {
    assert.deepEqual(classify(bash), {
      state: "awaiting-permission",
      source: "screen",
      detail: "Bash command: npm test -- --watch=false",
    });
  });

  it("names the edit waited on, and reads a boxed prompt with the cursor moved", () => {
    const edit = [
      RULE,
      " Edit file",
      " src/app.ts",
      " 12 -  const a = 1;",
      " 12 +  const a = 2;",
      " Do you want to make this edit to app.ts?",
      "   1. Yes",
      " ❯ 2. Yes, allow all edits during this session (shift+tab)",
      "   3. No, and tell Claude what to do differently (esc)",
    ].join("\n");
    assert.deepEqual(classify(edit), {
      state: "awaiting-permission",
      source: "screen",
      detail: "Edit file: Do you want to make this edit to app.ts?",
    });
    const boxed = [
      "╭──────────────────────────────────────────╮",
      "│ Bash command                             │",
      "│                                          │",
      "│   rm -rf build                           │",
      "│                                          │",
      "│ Do you want to proceed?                  │",
      "│ ❯ 1. Yes                                 │",
      "│   2. No, and tell Claude what to do (esc) │",
      "╰──────────────────────────────────────────╯",
    ].join("\n");
    assert.equal(classify(boxed)?.detail, "Bash command: rm -rf build");
  });

  it("does not take the question in the agent's own words for a prompt", () => {
    assert.equal(state(claudeScreen(["● Do you want to proceed with the refactor?"])), "idle");
  });
});

describe("usage limits on a Claude screen", () => {
  for (const [banner, limit] of [
    ["You've hit your session limit · resets 4:20pm (Asia/Tbilisi)", "session"],
    ["You're out of extra usage · resets 5pm (America/Los_Angeles)", "spend"],
    ["Claude usage limit reached. Your limit will reset at 12am.", "unknown"],
    ["You've hit your weekly limit · resets Dec 8, 2026, 4pm (UTC)", "weekly"],
    [
      "You've reached your Fable 5 limit. Run /usage-credits to continue or switch models with /model.",
      "model",
    ],
  ] as const) {
    it(`is rate-limited: ${banner}`, () => {
      const reading = classify(claudeScreen(["❯ go on", `  ⎿  ${banner}`]));
      assert.equal(reading?.state, "rate-limited");
      assert.equal(reading.limit, limit);
      assert.equal(reading.detail, `⎿  ${banner}`);
    });
  }

  it("reads the reset time into the reading", () => {
    const reading = classify(
      claudeScreen([`  ⎿  You've hit your session limit · resets 4:20pm (Asia/Tbilisi)`]),
    );
    assert.equal(reading?.resetsAt, Date.parse("2026-05-10T12:20:00Z"));
  });

  it("is rate-limited at the /rate-limit-options menu, not needs-human", () => {
    const menu = [
      "  What do you want to do?",
      "",
      "  ❯ 1. Stop and wait for limit to reset",
      "    2. Upgrade your plan",
      "",
      "  Enter to confirm · Esc to cancel",
    ].join("\n");
    assert.deepEqual(classify(menu), {
      state: "rate-limited",
      source: "screen",
      detail: "What do you want to do?",
      resetsAt: null,
      limit: "unknown",
    });
  });

  it("stays idle (or auth-required) when the agent's own output speaks of rate limits", () => {
    const output = [
      "● Bash(curl -i https://api.example.com)",
      "  ⎿  HTTP/1.1 429 Too Many Requests",
      "     rate limit exceeded",
    ];
    assert.equal(state(claudeScreen(output)), "idle");
    assert.equal(state(claudeScreen(output, "", LOGGED_OUT_FOOTER)), "auth-required");
    assert.equal(state(claudeScreen([...output, "", "✶ Investigating… (8s · ↓ 1.2k tokens)"])), "working");
    const conditional = ["● If you hit your limit, wait for it to reset at 4pm."];
    assert.equal(state(claudeScreen(conditional)), "idle");
  });
});

describe("menus above the input line", () => {
  it("are scrollback, not a menu waiting for a key", () => {
    const above = [
      "  Pick a bead to work on next:",
      "",
      "  ❯ gt-101 Fix the flaky test",
      "    gt-102 Write the docs",
    ];
    assert.equal(state(claudeScreen(above)), "idle");
  });
});

describe("other CLIs: generic rules only", () => {
  it("never guesses idle or working from a screen it does not know", () => {
    for (const profile of ["codex", "gemini", "generic"] as const) {
      assert.equal(state(claudeScreen(["● Done."]), profile), null, profile);
      assert.equal(state(claudeScreen(["✶ Pondering… (12s · ↓ 340 tokens)"]), profile), null, profile);
    }
  });

  it("reads Codex's and Gemini's usage-limit walls", () => {
    const codex =
      "■ You've hit your usage limit. Upgrade to Pro or try again at 3:05 PM.\n\n› Ask Codex to do anything\n";
    assert.deepEqual(classify(codex, "codex"), {
      state: "rate-limited",
      source: "screen",
      detail: "■ You've hit your usage limit. Upgrade to Pro or try again at 3:05 PM.",
      resetsAt: Date.parse("2026-05-10T15:05:00Z"),
      limit: "unknown",
    });
    const gemini = "✕ Usage limit reached for gemini-2.5-pro.\n\n● 1. Keep trying\n  2. Stop\n";
    assert.equal(state(gemini, "gemini"), "rate-limited");
  });

  it("leaves an unknown menu to a person", () => {
    const menu = "  Choose a model:\n\n  ❯ gpt-5\n    gpt-5-mini\n\n  Enter to confirm · Esc to cancel\n";
    assert.equal(state(menu, "generic"), "needs-human");
  });
});
