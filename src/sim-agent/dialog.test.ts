import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BYPASS_DIALOG_MARKER, BypassDialog, parseKeys } from "./dialog.js";

describe("parseKeys", () => {
  it("recognises arrows, Enter, digits and Ctrl-C, and keeps an unfinished escape sequence", () => {
    assert.deepEqual(
      parseKeys("\x1b[B\x1bOA\r\n2x\x03").keys.map((k) => k.key),
      ["down", "up", "enter", "two", "interrupt"],
    );
    assert.deepEqual(parseKeys("\x1b[").pending, "\x1b[");
    assert.deepEqual(parseKeys("\x1b").pending, "\x1b");
    assert.deepEqual(
      parseKeys("\x1bx").keys.map((k) => k.key),
      ["escape"],
    );
  });
});

describe("BypassDialog", () => {
  it("shows the text the daemon looks for, with No highlighted", () => {
    const dialog = new BypassDialog();
    const text = dialog.render();
    assert.ok(text.includes(BYPASS_DIALOG_MARKER));
    assert.ok(text.includes("Bypass Permissions mode"));
    assert.ok(text.includes("1. No, exit"));
    assert.ok(text.includes("2. Yes, I accept"));
    assert.ok(text.endsWith("\n"));
    assert.equal(dialog.selected, 0);
    assert.match(dialog.renderOptions(), /❯ 1\. No, exit/);
  });

  it("is accepted by Down then Enter (as tmux send-keys delivers them in raw mode)", () => {
    const dialog = new BypassDialog();
    assert.deepEqual(dialog.feed("\x1b[B"), { outcome: "pending", moved: true, rest: "" });
    assert.match(dialog.renderOptions(), /❯ 2\. Yes, I accept/);
    assert.deepEqual(dialog.feed("\r"), { outcome: "accepted", moved: false, rest: "" });
  });

  it("is accepted by a line '2' or an arrow line through a pipe, and passes on what follows", () => {
    assert.deepEqual(new BypassDialog().feed("2\nhello\n"), {
      outcome: "accepted",
      moved: true,
      rest: "hello\n",
    });
    assert.equal(new BypassDialog().feed("\x1b[B\n").outcome, "accepted");
  });

  it("joins an arrow key split across chunks", () => {
    const dialog = new BypassDialog();
    assert.equal(dialog.feed("\x1b").outcome, "pending");
    assert.equal(dialog.feed("[").outcome, "pending");
    assert.deepEqual(dialog.feed("B"), { outcome: "pending", moved: true, rest: "" });
    assert.equal(dialog.feed("\r").outcome, "accepted");
  });

  it("declines on Enter without moving, on 1, Up or Esc; Ctrl-C interrupts", () => {
    assert.equal(new BypassDialog().feed("\r").outcome, "declined");
    assert.equal(new BypassDialog().feed("1\n").outcome, "declined");
    assert.equal(new BypassDialog().feed("\x1b[B\x1b[A\r").outcome, "declined");
    assert.equal(new BypassDialog().feed("\x1b\n").outcome, "declined");
    assert.equal(new BypassDialog().feed("\x03").outcome, "interrupted");
  });
});
