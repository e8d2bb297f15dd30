import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { makeTempDir } from "../../test/helpers/tmp.js";
import { isAppError } from "../errors.js";
import { parseLifecycleMessage } from "../lifecycle/parse.js";
import { emptyRecord } from "../policy/record.js";
import { openDb } from "../store/db.js";
import { listEvents, recordEvent } from "../store/events.js";
import { fitMail, inbox, sendMail, type Message } from "../store/mail.js";
import { recordToStatus } from "../supervisor/agents-file.js";
import {
  MAX_BODY_BYTES,
  MAX_REASON_BYTES,
  MAX_STATUS_TEXT_BYTES,
  MAX_SUBJECT_BYTES,
  byteLength,
  checkLength,
  clipBytes,
} from "./text-limits.js";

/** Issue 14 item 7: every string an agent or operator hands in is bounded, at every entry. */

describe("text limits", () => {
  it("clipBytes cuts on a character boundary and marks the cut", () => {
    assert.equal(clipBytes("short", 10), "short");
    const cut = clipBytes("é".repeat(100), 11);
    assert.ok(byteLength(cut) <= 11, cut);
    assert.ok(cut.endsWith("…"));
    assert.ok(!cut.includes("\uFFFD"), "no half character");
    assert.ok(byteLength(clipBytes("x".repeat(20_000_000), 512)) <= 512);
  });

  it("checkLength names the argument, the size and the limit on one line", () => {
    assert.throws(
      () => {
        checkLength("--reason", "x".repeat(5000), MAX_REASON_BYTES);
      },
      (error: unknown) =>
        isAppError(error) && error.message === "Invalid --reason: 5000 bytes, the limit is 4096 bytes",
    );
    checkLength("--reason", "x".repeat(MAX_REASON_BYTES), MAX_REASON_BYTES);
  });

  it("the store refuses an oversized subject or body, and fitMail makes the daemon's own mail fit", () => {
    const tmp = makeTempDir("limits-");
    const db = openDb(join(tmp.dir, "town.db"));
    try {
      assert.throws(
        () => sendMail(db, { from: "a", to: "b", subject: "s".repeat(MAX_SUBJECT_BYTES + 1), body: "" }),
        /Invalid mail subject: 257 bytes, the limit is 256 bytes/,
      );
      assert.throws(
        () => sendMail(db, { from: "a", to: "b", subject: "s", body: "b".repeat(MAX_BODY_BYTES + 1) }),
        /Invalid mail body: 65537 bytes, the limit is 65536 bytes/,
      );
      assert.deepEqual(inbox(db, "b"), [], "nothing half-written");
      sendMail(db, fitMail({ from: "a", to: "b", subject: "ü".repeat(1000), body: "b".repeat(10_000_000) }));
      const [message] = inbox(db, "b");
      assert.ok(message !== undefined);
      assert.ok(byteLength(message.subject) <= MAX_SUBJECT_BYTES);
      assert.ok(byteLength(message.body) <= MAX_BODY_BYTES);
      recordEvent(db, { type: "decision", reason: "r".repeat(1_000_000) });
      assert.ok(byteLength(listEvents(db)[0]?.reason ?? "") <= MAX_REASON_BYTES);
    } finally {
      db.close();
      tmp.cleanup();
    }
  });

  it("lifecycle mail written straight into the store: an oversized body or reason is rejected", () => {
    const mail = (body: string): Message => ({
      id: "msg-1",
      from: "deacon",
      to: "deacon",
      subject: "LIFECYCLE: deacon requesting cycle",
      body,
      timestamp: new Date().toISOString(),
      read: false,
      priority: "normal",
      type: "message",
    });
    const now = Date.now();
    assert.deepEqual(parseLifecycleMessage(mail(`cycle${" ".repeat(MAX_BODY_BYTES)}`), now, 60_000), {
      kind: "rejected",
      why: "body is 65541 bytes, the limit is 65536 bytes",
    });
    const long = JSON.stringify({ action: "cycle", reason: "r".repeat(MAX_REASON_BYTES + 1) });
    assert.deepEqual(parseLifecycleMessage(mail(long), now, 60_000), {
      kind: "rejected",
      why: "reason is 4097 bytes, the limit is 4096 bytes",
    });
    const fine = JSON.stringify({ action: "cycle", reason: "r".repeat(MAX_REASON_BYTES) });
    assert.equal(parseLifecycleMessage(mail(fine), now, 60_000).kind, "request");
  });

  it("agents.json keeps reasons short", () => {
    const record = {
      ...emptyRecord("deacon", "hq-deacon"),
      lastReason: `restart requested: ${"r".repeat(MAX_REASON_BYTES)}`,
      lastExit: "x".repeat(100_000),
      stoppedReason: "s".repeat(100_000),
    };
    const status = recordToStatus(record, { role: "deacon", rig: null, state: "running", pid: null });
    for (const text of [status.last_reason, status.last_exit, status.stopped_reason])
      assert.ok(byteLength(text ?? "") <= MAX_STATUS_TEXT_BYTES, `${byteLength(text ?? "")} bytes`);
  });
});
