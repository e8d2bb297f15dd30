import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_DIALOG_ANSWERS, readDialog } from "./dialogs.js";
import { PERMISSION_MENU, WALL_MENUS } from "./midsession.js";
import { screenPrint } from "./progress.js";
import { parseScreen } from "./screen.js";

const lines = (text: string) => parseScreen(text).lines;

describe("mid-session menus townd may answer", () => {
  it("chooses the wait option of Claude's usage-limit menu, wherever the cursor is", () => {
    const menu = [
      "You've hit your session limit · resets 3:42pm (UTC)",
      "",
      " What do you want to do?",
      "",
      "   1. Stop and wait for limit to reset",
      " ❯ 2. Upgrade your plan",
      "",
      " Enter to confirm · Esc to cancel",
    ].join("\n");
    const view = readDialog(lines(menu), WALL_MENUS, DEFAULT_DIALOG_ANSWERS);
    assert.equal(view.kind, "answer");
    assert.equal(view.target, 0);
    assert.equal(view.menu.cursor, 1);
    assert.equal(view.says, "Stop and wait for limit to reset");
  });

  it("chooses the plain Yes of a tool permission prompt, never 'don't ask again'", () => {
    const prompt = [
      " Bash command",
      "",
      "   npm test",
      "",
      " Do you want to proceed?",
      "   1. Yes",
      " ❯ 2. Yes, and don't ask again for npm test commands in /work/proj",
      "   3. No, and tell Claude what to do differently (esc)",
    ].join("\n");
    const view = readDialog(lines(prompt), [PERMISSION_MENU], DEFAULT_DIALOG_ANSWERS);
    assert.equal(view.kind, "answer");
    assert.deepEqual([view.target, view.says], [0, "Yes"]);
  });

  it("leaves every other menu alone", () => {
    const other = [" Pick a bead", " ❯ 1. gt-123", "   2. gt-456"].join("\n");
    assert.equal(
      readDialog(lines(other), [...WALL_MENUS, PERMISSION_MENU], DEFAULT_DIALOG_ANSWERS).kind,
      "unknown",
    );
  });
});

describe("screen progress", () => {
  it("ignores the spinner and its timer, and sees tokens and new output", () => {
    const at = (spinner: string, tokens: string, extra = "") =>
      screenPrint(
        parseScreen(`● Reading files${extra}\n\n${spinner} Cogitating… (${tokens} · esc to interrupt)\n❯ `),
      );
    assert.equal(at("✻", "12s · ↓ 0 tokens"), at("✽", "1m 13s · ↓ 0 tokens"));
    assert.notEqual(at("✻", "12s · ↓ 0 tokens"), at("✻", "13s · ↓ 1.2k tokens"));
    assert.notEqual(at("✻", "12s"), at("✻", "12s", " and writing"));
  });
});
