import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ActivityBook } from "./book.js";
import { IDLE_PROMPT_DETAIL } from "./hooks/states.js";

describe("ActivityBook", () => {
  it("keeps a logged-out or walled agent so through Claude's idle reminder; a new turn moves it", () => {
    for (const state of ["auth-required", "rate-limited"] as const) {
      const book = new ActivityBook();
      book.note("a", "g1", { state, source: "hook", detail: "StopFailure" }, 1000);
      assert.equal(
        book.note("a", "g1", { state: "idle", source: "hook", detail: IDLE_PROMPT_DETAIL }, 61_000),
        null,
      );
      assert.equal(book.get("a")?.state, state);
      assert.equal(book.get("a")?.since, 1000);
      assert.equal(book.lastHookAt("a", "g1"), 61_000, "the hooks live");
      book.note("a", "g1", { state: "working", source: "hook", detail: "UserPromptSubmit" }, 70_000);
      assert.equal(book.get("a")?.state, "working");
    }
  });

  it("lets the idle reminder through for any other state", () => {
    const book = new ActivityBook();
    book.note("a", "g1", { state: "working", source: "hook", detail: "PreToolUse" }, 1000);
    book.note("a", "g1", { state: "idle", source: "hook", detail: IDLE_PROMPT_DETAIL }, 61_000);
    assert.equal(book.get("a")?.state, "idle");
  });
});
