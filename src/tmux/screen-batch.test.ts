import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ScreenBatcher } from "./screen-batch.js";

/** A client whose screens are "screen of <session>", recording every call. */
function fakeClient(options: { batchFails?: boolean; missing?: string } = {}) {
  const calls: string[] = [];
  return {
    calls,
    client: {
      captureScreen: (session: string) => {
        calls.push(`one ${session}`);
        return session === options.missing
          ? Promise.reject(new Error(`can't find session: ${session}`))
          : Promise.resolve(`screen of ${session}`);
      },
      captureScreens: (sessions: readonly string[]) => {
        calls.push(`batch ${sessions.join(",")}`);
        if (options.batchFails === true) return Promise.reject(new Error("can't find session"));
        return Promise.resolve(new Map(sessions.map((s) => [s, `screen of ${s}`])));
      },
      sendKey: (session: string, key: string) => {
        calls.push(`key ${session} ${key}`);
        return Promise.resolve();
      },
    },
  };
}

describe("ScreenBatcher", () => {
  it("answers requests made together with one tmux call, each with its own screen", async () => {
    const { client, calls } = fakeClient();
    const batcher = new ScreenBatcher(client);
    const screens = await Promise.all(["a", "b", "a", "c"].map((s) => batcher.captureScreen(s)));
    assert.deepEqual(screens, ["screen of a", "screen of b", "screen of a", "screen of c"]);
    assert.deepEqual(calls, ["batch a,b,c"]);
    assert.equal(await batcher.captureScreen("d"), "screen of d");
    assert.deepEqual(calls, ["batch a,b,c", "one d"], "a lone request is one plain capture");
  });

  it("asks one by one when the batch fails, so only the vanished session's callers get the error", async () => {
    const { client, calls } = fakeClient({ batchFails: true, missing: "gone" });
    const batcher = new ScreenBatcher(client);
    const results = await Promise.allSettled(["a", "gone", "b"].map((s) => batcher.captureScreen(s)));
    assert.deepEqual(
      results.map((r) => (r.status === "fulfilled" ? r.value : "rejected")),
      ["screen of a", "rejected", "screen of b"],
    );
    assert.deepEqual(calls.sort(), ["batch a,gone,b", "one a", "one b", "one gone"].sort());
  });

  it("rejects an aborted request at once and leaves it out of the call", async () => {
    const { client, calls } = fakeClient();
    const batcher = new ScreenBatcher(client);
    const controller = new AbortController();
    const aborted = batcher.captureScreen("x", { signal: controller.signal });
    const kept = batcher.captureScreen("y");
    controller.abort(new Error("agent died"));
    await assert.rejects(aborted, /agent died/);
    assert.equal(await kept, "screen of y");
    assert.deepEqual(calls, ["one y"]);
    await batcher.sendKey("y", "Enter");
    assert.deepEqual(calls, ["one y", "key y Enter"]);
  });
});
