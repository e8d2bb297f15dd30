import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readDialog, DEFAULT_DIALOG_ANSWERS } from "../activity/dialogs.js";
import { runtimeProfile } from "../activity/profiles.js";
import { parseScreen } from "../activity/screen.js";
import { BYPASS_DIALOG_MARKER, parseKeys, startupDialog } from "./dialog.js";

describe("parseKeys", () => {
  it("recognises arrows, Enter and Ctrl-C, ignores digits, and keeps an unfinished escape sequence", () => {
    assert.deepEqual(
      parseKeys("\x1b[B\x1bOA\r\n2x\x03").keys.map((k) => k.key),
      ["down", "up", "enter", "interrupt"],
    );
    assert.deepEqual(parseKeys("\x1b[").pending, "\x1b[");
    assert.deepEqual(parseKeys("\x1b").pending, "\x1b");
    assert.deepEqual(
      parseKeys("\x1bx").keys.map((k) => k.key),
      ["escape"],
    );
  });
});

describe("SimDialog", () => {
  it("draws the trust dialog as Claude Code 2.1.332 does, with No, exit highlighted", () => {
    const dialog = startupDialog("trust", "/w/gastown/witness");
    const text = dialog.render();
    assert.match(text, /Accessing workspace:/);
    assert.match(text, /\/w\/gastown\/witness/);
    assert.match(text, / ❯ No, exit\n {3}Yes, I trust this folder/);
    assert.match(text, /Enter to confirm · Esc to cancel\n$/);
    assert.equal(dialog.selectedOption, "No, exit");
  });

  it("exits on Enter without moving, on Esc, and on a beacon typed into it (digits do nothing)", () => {
    assert.equal(startupDialog("trust", "/").feed("\r").outcome, "exit");
    assert.equal(startupDialog("trust", "/").feed("\x1b\n").outcome, "exit");
    assert.equal(startupDialog("trust", "/").feed("[GAS TOWN] 2026-12-04 2\r").outcome, "exit");
    assert.equal(startupDialog("bypass", "/").feed("2\n").outcome, "exit");
    assert.equal(startupDialog("trust", "/").feed("\x03").outcome, "interrupted");
  });

  it("is answered by Down then Enter, as tmux send-keys delivers them in raw mode", () => {
    const dialog = startupDialog("bypass", "/");
    assert.ok(dialog.render().includes(BYPASS_DIALOG_MARKER));
    assert.deepEqual(dialog.feed("\x1b[B"), { outcome: "pending", moved: true, rest: "" });
    assert.match(dialog.renderOptions(), /❯ Yes, I accept/);
    assert.deepEqual(dialog.feed("\rhello\n"), { outcome: "chosen", moved: false, rest: "hello\n" });
  });

  it("joins an arrow key split across chunks and stops at the last option", () => {
    const dialog = startupDialog("trust", "/");
    assert.equal(dialog.feed("\x1b").outcome, "pending");
    assert.equal(dialog.feed("[").outcome, "pending");
    assert.deepEqual(dialog.feed("B"), { outcome: "pending", moved: true, rest: "" });
    assert.deepEqual(dialog.feed("\x1b[B"), { outcome: "pending", moved: false, rest: "" });
    assert.equal(dialog.selectedOption, "Yes, I trust this folder");
  });

  it("keeps the MCP dialog's default (continue without) on Enter or Esc", () => {
    const mcp = startupDialog("mcp", "/");
    assert.equal(mcp.selectedOption, "Continue without using this MCP server");
    assert.equal(mcp.feed("\x1b\n").outcome, "chosen");
  });

  // The simulated agent must be read as the real CLI is: every dialog it draws is one townd's Claude
  // profile knows (or, for "unknown", one it must leave alone).
  const profileDialog = {
    trust: "claude.workspace-trust",
    mcp: "claude.mcp-server",
    "api-key": "claude.custom-api-key",
    bypass: "claude.bypass-permissions",
    unknown: null,
  } as const;
  for (const [kind, id] of Object.entries(profileDialog) as [keyof typeof profileDialog, string | null][]) {
    it(`draws a ${kind} dialog that townd's Claude profile reads as the real one`, () => {
      const screen = parseScreen(startupDialog(kind, "/w").render());
      const reading = readDialog(screen.lines, runtimeProfile("claude").dialogs, DEFAULT_DIALOG_ANSWERS);
      if (id === null) assert.equal(reading.kind, "unknown");
      else assert.equal(reading.kind === "answer" ? reading.dialog.id : reading.kind, id);
    });
  }
});
