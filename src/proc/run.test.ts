import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { run } from "./run.js";

describe("run", () => {
  it("survives a child that exits without reading its input (EPIPE on its stdin)", async () => {
    // Far more than a pipe holds: the write is still going when `true` has exited and closed the pipe.
    for (let i = 0; i < 20; i += 1) {
      const result = await run("true", [], { timeoutMs: 5000, input: "x".repeat(4 * 1024 * 1024) });
      assert.equal(result.exitCode, 0);
    }
  });
});
