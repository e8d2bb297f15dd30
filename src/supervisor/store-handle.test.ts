import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { makeTempDir } from "../../test/helpers/tmp.js";
import type { Logger } from "../daemon/logger.js";
import { inbox, sendMail } from "../store/mail.js";
import { StoreHandle } from "./store-handle.js";

/**
 * Issue 14 item 12: the daemon's store handle and the store's files removed under it. Real SQLite files;
 * what is at the path afterwards is read by a separate connection, as the CLI would.
 */

function logger(): { log: Logger; warnings: string[]; errors: string[] } {
  const warnings: string[] = [];
  const errors: string[] = [];
  const log = {
    warn: (message: string) => warnings.push(message),
    error: (message: string) => errors.push(message),
    info: () => undefined,
  } as unknown as Logger;
  return { log, warnings, errors };
}

/** The subjects in `to`'s mailbox of the store now at `file`. */
function subjectsAt(file: string, to: string): string[] {
  const db = new Database(file, { timeout: 5000, fileMustExist: true });
  try {
    return inbox(db, to).map((m) => m.subject);
  } finally {
    db.close();
  }
}

describe("StoreHandle and a store replaced under it", () => {
  let tmp: { dir: string; cleanup: () => void };
  before(() => {
    tmp = makeTempDir("store-handle-");
  });
  after(() => {
    tmp.cleanup();
  });

  const send = (handle: StoreHandle, log: Logger, subject: string): void => {
    handle.use(log, "sending", (db) => sendMail(db, { from: "daemon", to: "op", subject, body: "b" }));
  };

  it("town.db removed: the next use opens a new store at the path, logged once", () => {
    const file = join(tmp.dir, "removed.db");
    const { log, warnings, errors } = logger();
    const handle = new StoreHandle(file);
    send(handle, log, "before");
    rmSync(file);
    send(handle, log, "after");
    send(handle, log, "after again");
    assert.deepEqual(subjectsAt(file, "op"), ["after", "after again"], "written where the CLI looks");
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(warnings[0] ?? "", /removed\.db.* was removed or replaced while open; reopening/);
    assert.deepEqual(errors, []);
    handle.close();
  });

  it("town.db-wal removed: what the open handle had written is kept, and the store reopens", () => {
    const file = join(tmp.dir, "wal.db");
    const { log, warnings, errors } = logger();
    const handle = new StoreHandle(file);
    send(handle, log, "before");
    rmSync(`${file}-wal`);
    assert.equal(handle.checkFiles(log), true, "noticed between uses");
    send(handle, log, "after");
    assert.deepEqual(subjectsAt(file, "op"), ["before", "after"]);
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(warnings[0] ?? "", /wal\.db-wal was removed or replaced/);
    assert.deepEqual(errors, []);
    handle.close();
  });

  it("files left alone: nothing is reopened", () => {
    const { log, warnings } = logger();
    const handle = new StoreHandle(join(tmp.dir, "steady.db"));
    send(handle, log, "one");
    assert.equal(handle.checkFiles(log), false);
    send(handle, log, "two");
    assert.deepEqual(warnings, []);
    handle.close();
  });
});
