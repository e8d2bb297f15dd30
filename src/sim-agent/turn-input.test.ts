import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TurnInput } from "./turn-input.js";

describe("TurnInput (Claude's input box during a turn)", () => {
  it("queues what Enter submits and echoes the keys, as raw mode does not", () => {
    const input = new TurnInput();
    assert.deepEqual(input.feed("npm te"), { events: [], echo: "npm te" });
    assert.deepEqual(input.feed("st\r\nnext\n"), {
      events: [
        { kind: "line", text: "npm test" },
        { kind: "line", text: "next" },
      ],
      echo: "st\r\nnext\r\n",
    });
    assert.equal(input.draft, "");
  });

  it("interrupts on an Escape with an empty box, not with a draft in it (Claude Code ≥ 2.1.69)", () => {
    const empty = new TurnInput();
    // A lone Escape at the end of what was read may be an arrow key's start: it waits for what follows.
    assert.deepEqual(empty.feed("\x1b").events, []);
    assert.ok(empty.escapePending);
    assert.deepEqual(empty.flushEscape().events, [{ kind: "interrupt" }]);
    assert.ok(!empty.escapePending);
    assert.deepEqual(new TurnInput().feed("\x1b\r").events, [
      { kind: "interrupt" },
      { kind: "line", text: "" },
    ]);

    // The nudge protocol (B116): text, Escape, Enter. The draft keeps the turn running; Enter queues it.
    const nudged = new TurnInput();
    nudged.feed("Continue your task");
    nudged.feed("\x1b");
    assert.deepEqual(nudged.flushEscape().events, []);
    assert.deepEqual(nudged.feed("\r").events, [{ kind: "line", text: "Continue your task" }]);
  });

  it("ignores arrows and other sequences, even split across reads; edits with Backspace and Ctrl-U", () => {
    const input = new TurnInput();
    assert.deepEqual(input.feed("\x1b[A\x1bOB\x1b[1;5C").events, []);
    assert.deepEqual(input.feed("\x1b[").events, []);
    assert.ok(!input.escapePending, "an unfinished sequence is no Escape");
    assert.deepEqual(input.feed("B").events, []);
    assert.deepEqual(input.feed("ab✓\x7f\x7f").echo, "ab✓\b \b\b \b");
    assert.equal(input.draft, "a");
    input.feed("xyz\x15");
    assert.equal(input.draft, "");
    assert.deepEqual(input.feed("\x03").events, [{ kind: "ctrl-c" }]);
    assert.equal(input.feed("\t\x01").echo, "", "other control keys do nothing");
  });
});
