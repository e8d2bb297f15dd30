import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { answerKeys, DEFAULT_DIALOG_ANSWERS, type DialogAnswers } from "./dialogs.js";
import { matchStartFailure, runtimeProfile } from "./profiles.js";
import { parseScreen } from "./screen.js";
import { dialogShown, readStartupScreen, startupReader, type StartupView } from "./startup-screen.js";

/** Screens recorded from the real Claude Code CLI (test/fixtures/claude-2.1.332/README.md says how). */
const fixture = (name: string): string =>
  readFileSync(new URL(`../../test/fixtures/claude-2.1.332/${name}.ansi`, import.meta.url), "utf8");

const claude = (answers: DialogAnswers = DEFAULT_DIALOG_ANSWERS) =>
  startupReader(runtimeProfile("claude"), null, [], answers);

const read = (name: string, answers?: DialogAnswers): StartupView =>
  readStartupScreen(parseScreen(fixture(name)), claude(answers));

/** The view's dialog id and the keys townd would press, for compact assertions. */
function plan(view: StartupView): { kind: string; dialog?: string; keys?: string[] } {
  if (view.kind === "answer")
    return { kind: view.kind, dialog: view.dialog.id, keys: answerKeys(view.menu, view.target) };
  if (view.kind === "leave") return { kind: view.kind, dialog: view.dialog.id };
  return { kind: view.kind };
}

describe("Claude's start-up screens, as recorded from the real CLI", () => {
  it("answers the workspace trust dialog by moving from 'No, exit' down to 'Yes, I trust this folder'", () => {
    for (const name of ["trust-dialog", "trust-dialog-with-mcp-json", "narrow-80x24-trust-dialog"]) {
      assert.deepEqual(
        plan(read(name)),
        { kind: "answer", dialog: "claude.workspace-trust", keys: ["Down", "Enter"] },
        name,
      );
    }
    // Once the cursor is on the trust row, Enter alone.
    assert.deepEqual(plan(read("trust-dialog-cursor-on-yes")).keys, ["Enter"]);
  });

  it("leaves the trust dialog to a person when agent_dialogs.workspace_trust is false", () => {
    const view = read("trust-dialog", { ...DEFAULT_DIALOG_ANSWERS, workspaceTrust: false });
    assert.deepEqual(plan(view), { kind: "leave", dialog: "claude.workspace-trust" });
  });

  it("accepts the Bypass Permissions warning", () => {
    for (const name of [
      "bypass-dialog",
      "narrow-80x24-bypass-dialog",
      "bypass-dialog-after-mcp-server-dialog",
    ]) {
      assert.deepEqual(
        plan(read(name)),
        { kind: "answer", dialog: "claude.bypass-permissions", keys: ["Down", "Enter"] },
        name,
      );
    }
    assert.deepEqual(plan(read("bypass-dialog-cursor-on-accept")).keys, ["Enter"]);
  });

  it("keeps the custom API key dialog's default unless a setting chooses", () => {
    assert.deepEqual(plan(read("custom-api-key-dialog")), {
      kind: "answer",
      dialog: "claude.custom-api-key",
      keys: ["Enter"],
    });
    const use = read("custom-api-key-dialog", { ...DEFAULT_DIALOG_ANSWERS, customApiKey: "use" });
    assert.deepEqual(plan(use).keys, ["Up", "Enter"]);
    // From the recording with the cursor moved to "Yes": keeping the default means keeping what is shown.
    const decline = read("custom-api-key-dialog-cursor-on-yes", {
      ...DEFAULT_DIALOG_ANSWERS,
      customApiKey: "decline",
    });
    assert.deepEqual(plan(decline).keys, ["Down", "Enter"]);
  });

  it("declines a new MCP server (its default, the third option)", () => {
    assert.deepEqual(plan(read("mcp-server-dialog")), {
      kind: "answer",
      dialog: "claude.mcp-server",
      keys: ["Enter"],
    });
  });

  it("reads the empty ❯ input line as ready, with or without the dim placeholder", () => {
    for (const name of [
      "idle-prompt-not-logged-in",
      "after-submit-not-logged-in",
      "second-start-idle-prompt",
      "narrow-80x24-idle-prompt",
      "mcp-declined-idle-prompt",
      "custom-api-key-declined-idle-prompt",
      "idle-prompt-after-slash-menu",
    ]) {
      assert.equal(read(name).kind, "ready", name);
    }
  });

  it("does not call typed text ready, and never answers the slash-command menu", () => {
    assert.equal(read("prompt-with-typed-text").kind, "waiting");
    assert.notEqual(read("slash-menu").kind, "ready");
    assert.notEqual(read("slash-menu").kind, "answer");
  });

  it("without escape sequences, the placeholder is taken for text: the screen must be captured with -e", () => {
    const plain = readFileSync(
      new URL("../../test/fixtures/claude-2.1.332/after-submit-not-logged-in.txt", import.meta.url),
      "utf8",
    );
    assert.equal(readStartupScreen(parseScreen(plain), claude()).kind, "waiting");
  });

  it("finds the root refusal and the offline first run in a dead pane's text, with their fixes", () => {
    const profile = runtimeProfile("claude");
    const root = matchStartFailure(profile, parseText("root-refusal"));
    assert.match(root?.cause ?? "", /as root/);
    assert.match(root?.fix ?? "", /IS_SANDBOX/);
    assert.match(matchStartFailure(profile, parseText("no-claude-json-offline-exit"))?.cause ?? "", /reach/);
    assert.equal(matchStartFailure(profile, parseText("idle-prompt-not-logged-in")), null);
  });
});

function parseText(name: string): string {
  return parseScreen(fixture(name))
    .lines.map((line) => line.text)
    .join("\n");
}

describe("unknown dialogs", () => {
  it("leaves a menu no profile knows alone, and names its options", () => {
    const screen = parseScreen(
      [
        "  Pick a bead to work on next:",
        "",
        "  ❯ gt-101 Fix the flaky test",
        "    gt-102 Write the docs",
        "",
      ].join("\n"),
    );
    const view = readStartupScreen(screen, claude());
    assert.ok(view.kind === "unknown", view.kind);
    assert.match(view.why, /"gt-101 Fix the flaky test", "gt-102 Write the docs"/);
  });

  it("leaves a known dialog alone when its options are not the expected ones", () => {
    const screen = parseScreen(
      [
        " Accessing workspace:",
        " Quick safety check: Is this a project you created or one you trust?",
        " ❯ 1. Yes, I trust this folder (and its parents)",
        "   2. Yes, I trust this folder once",
        "   3. No, exit",
      ].join("\n"),
    );
    const view = readStartupScreen(screen, claude());
    assert.equal(view.kind, "leave");
  });

  it("never reads 'rate limit' or '429' in an agent's own output as a dialog", () => {
    const screen = parseScreen("❯ curl api\n  HTTP 429 Too Many Requests: rate limit\n\n❯ \n");
    assert.equal(readStartupScreen(screen, claude()).kind, "ready");
  });
});

describe("dialogShown (the guard before every nudge)", () => {
  it("names a known or unknown dialog on screen, and nothing at the prompt", () => {
    const reader = claude();
    assert.equal(dialogShown(parseScreen(fixture("trust-dialog")), reader), "the workspace trust dialog");
    assert.match(dialogShown(parseScreen(fixture("slash-menu")), reader) ?? "", /unknown menu/);
    assert.equal(dialogShown(parseScreen(fixture("idle-prompt-not-logged-in")), reader), null);
  });
});
