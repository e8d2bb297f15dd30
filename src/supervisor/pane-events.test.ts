import assert from "node:assert/strict";
import { appendFileSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { makeTempDir } from "../../test/helpers/tmp.js";
import type { Logger } from "../daemon/logger.js";
import { waitFor } from "../util/sleep.js";
import { PANE_EVENTS_MAX_BYTES, trimPaneEvents, watchPaneEvents } from "./pane-events.js";

/** Issue 14 item 20: daemon/pane-events, appended to at every death, is cut back and still wakes the daemon. */
describe("daemon/pane-events", () => {
  let tmp: { dir: string; cleanup: () => void };
  const log = { warn: () => undefined } as unknown as Logger;
  before(() => {
    tmp = makeTempDir("pane-events-");
  });
  after(() => {
    tmp.cleanup();
  });

  it("is emptied in place once past the bound, and the watch still sees the next death", async () => {
    const file = join(tmp.dir, "pane-events");
    let changes = 0;
    const watcher = watchPaneEvents(file, log, () => {
      changes += 1;
    });
    try {
      const inode = statSync(file).ino;
      for (let i = 0; i * 5 <= PANE_EVENTS_MAX_BYTES / 2; i++) appendFileSync(file, `%${i % 1000}\n`);
      assert.equal(trimPaneEvents(file), false, "under the bound: left alone");
      for (let i = 0; i * 5 <= PANE_EVENTS_MAX_BYTES; i++) appendFileSync(file, `%${i % 1000}\n`);
      assert.equal(trimPaneEvents(file), true);
      assert.equal(statSync(file).size, 0);
      assert.equal(statSync(file).ino, inode, "the same file: the watch follows it");
      await new Promise((resolve) => setTimeout(resolve, 100));
      const before = changes;
      appendFileSync(file, "%7\n"); // what the pane-died hook's `>>` does
      const seen = await waitFor(() => (changes > before ? true : undefined), { timeoutMs: 5000 });
      assert.equal(seen, true, "the watch saw the append after the cut");
      assert.equal(readFileSync(file, "utf8"), "%7\n", "appended at the new end");
    } finally {
      watcher.close();
    }
  });

  it("never follows a symbolic link, and a missing file is no error", () => {
    const target = join(tmp.dir, "elsewhere");
    writeFileSync(target, "x".repeat(PANE_EVENTS_MAX_BYTES + 10));
    const link = join(tmp.dir, "linked");
    symlinkSync(target, link);
    assert.equal(trimPaneEvents(link), false);
    assert.equal(statSync(target).size, PANE_EVENTS_MAX_BYTES + 10, "the link's target is untouched");
    assert.equal(trimPaneEvents(join(tmp.dir, "missing")), false);
  });
});
