import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { safeJson, visible } from "./safe-text.js";

/** Issue 14 item 9: untrusted text is shown, never obeyed, by the terminal. */

describe("visible", () => {
  it("shows ESC, BEL, CR, NUL and DEL in caret notation, C1 as \\u escapes", () => {
    const osc52 = "\u001b]52;c;cHduZWQ=\u0007";
    assert.equal(visible(osc52), "^[]52;c;cHduZWQ=^G");
    assert.equal(visible("a\rb\u0000c\u007fd"), "a^Mb^@c^?d");
    assert.equal(visible("\u009b31m"), "\\u009b31m");
  });

  it("keeps newlines and tabs only for multi-line text", () => {
    assert.equal(visible("a\nb\tc"), "a^Jb^Ic");
    assert.equal(visible("a\nb\tc\u001b[2J", { multiline: true }), "a\nb\tc^[[2J");
  });

  it("leaves ordinary text, including non-ASCII, alone", () => {
    const text = "deacon: respawn (cycle requested: context full — ünïcødé ✓)";
    assert.equal(visible(text), text);
  });

  it("safeJson escapes DEL and C1 too, and stays the same JSON", () => {
    const value = { reason: "\u001b]52;c;x\u0007 \u009b2J \u007f" };
    const text = safeJson(value);
    assert.doesNotMatch(text, /[\u0000-\u001f\u007f-\u009f]/);
    assert.deepEqual(JSON.parse(text), value);
  });
});
