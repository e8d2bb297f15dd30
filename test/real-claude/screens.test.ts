import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT } from "../helpers/supervised-town.js";
import { CLAUDE_VERSION, isDialog, showsEmptyPrompt, submittedPrompts } from "./_claude.js";

/**
 * The real-CLI suite reads Claude's screens with the predicates in _claude.ts; here they are checked against
 * the screens recorded from the same version (test/fixtures/claude-<version>/), so a wrong predicate shows up
 * without starting claude.
 */

const fixture = (name: string): string =>
  readFileSync(join(REPO_ROOT, "test", "fixtures", `claude-${CLAUDE_VERSION}`, `${name}.txt`), "utf8");

const PROMPTS = [
  "idle-prompt-not-logged-in",
  "idle-prompt-after-slash-menu",
  "after-submit-not-logged-in",
  "second-start-idle-prompt",
  "custom-api-key-declined-idle-prompt",
  "mcp-declined-idle-prompt",
  "narrow-80x24-idle-prompt",
];
const DIALOGS = [
  "trust-dialog",
  "trust-dialog-cursor-on-yes",
  "trust-dialog-with-mcp-json",
  "bypass-dialog",
  "bypass-dialog-cursor-on-accept",
  "bypass-dialog-after-mcp-server-dialog",
  "custom-api-key-dialog",
  "custom-api-key-dialog-cursor-on-yes",
  "mcp-server-dialog",
  "narrow-80x24-trust-dialog",
  "narrow-80x24-bypass-dialog",
];
const NEITHER = ["prompt-with-typed-text", "slash-menu", "root-refusal", "no-claude-json-offline-exit"];

describe(`reading Claude Code ${CLAUDE_VERSION} screens`, () => {
  it("sees the empty prompt (blank or with the after-error placeholder) on every idle prompt screen", () => {
    for (const name of PROMPTS) {
      assert.equal(showsEmptyPrompt(fixture(name)), true, name);
      assert.equal(isDialog(fixture(name)), false, name);
    }
  });

  it("sees a dialog, and no prompt, on every dialog screen", () => {
    for (const name of DIALOGS) {
      assert.equal(isDialog(fixture(name)), true, name);
      assert.equal(showsEmptyPrompt(fixture(name)), false, name);
      assert.deepEqual(submittedPrompts(fixture(name)), [], name);
    }
  });

  it("sees no empty prompt while text is typed, the slash menu is open, or claude has exited", () => {
    for (const name of NEITHER) {
      assert.equal(showsEmptyPrompt(fixture(name)), false, name);
      assert.equal(isDialog(fixture(name)), false, name);
    }
  });

  it("finds submitted prompts in the conversation, not in the input line", () => {
    assert.deepEqual(submittedPrompts(fixture("after-submit-not-logged-in")), ["Say hello"]);
    assert.deepEqual(submittedPrompts(fixture("prompt-with-typed-text")), []);
    assert.deepEqual(submittedPrompts(fixture("idle-prompt-not-logged-in")), []);
  });
});
