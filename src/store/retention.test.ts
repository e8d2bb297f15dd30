import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { makeTempDir } from "../../test/helpers/tmp.js";
import { DEFAULT_RETENTION, daemonSettings } from "../town/settings.js";
import { openDb, type Db } from "./db.js";
import { checkpointWal, pruneStore } from "./retention.js";

const DAY = 24 * 60 * 60_000;
const START = Date.parse("2026-01-01T00:00:00Z");

/** One simulated day of a busy town: mail (most of it read), lifecycle requests, notices and events. */
const PER_DAY = { mail: 150, requests: 20, notices: 20, events: 400 };

function addDay(db: Db, day: number): void {
  const mail = db.prepare(
    `INSERT INTO mail (id, from_id, to_id, subject, body, created_at, read, priority, type)
     VALUES (?, 'r1/witness', ?, 'status', ?, ?, ?, 'normal', 'message')`,
  );
  const request = db.prepare(
    `INSERT INTO lifecycle_requests (id, identity, action, requested_by, status, claimed_at, finished_at, detail)
     VALUES (?, 'r1/witness', 'cycle', 'r1/witness', ?, ?, ?, 'cycle requested: context full')`,
  );
  const notice = db.prepare("INSERT INTO notices (identity, kind, episode, sent_at) VALUES (?, ?, ?, ?)");
  const event = db.prepare(
    "INSERT INTO events (ts, type, identity, generation, reason, data) VALUES (?, 'respawn_done', 'r1/witness', ?, ?, '{}')",
  );
  const at = (i: number, n: number): string => new Date(START + day * DAY + (i * DAY) / n).toISOString();
  db.transaction(() => {
    for (let i = 0; i < PER_DAY.mail; i++)
      mail.run(
        `m-${day}-${i}`,
        `r1/polecats/p${i % 7}`,
        "x".repeat(300),
        at(i, PER_DAY.mail),
        i % 10 === 0 ? 0 : 1,
      );
    for (let i = 0; i < PER_DAY.requests; i++) {
      const t = at(i, PER_DAY.requests);
      request.run(`q-${day}-${i}`, i % 5 === 0 ? "failed" : "done", t, t);
    }
    for (let i = 0; i < PER_DAY.notices; i++)
      notice.run(`r1/polecats/p${i}`, "GUPP_VIOLATION", `idle-since:${day}-${i}`, at(i, PER_DAY.notices));
    for (let i = 0; i < PER_DAY.events; i++)
      event.run(
        at(i, PER_DAY.events),
        `g-${day}-${i}`,
        "pane died: exit 1 (crash), restarting after backoff",
      );
  })();
}

const count = (db: Db, table: string, where = "1"): number =>
  (db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`).get() as { n: number }).n;

describe("store retention (issue 14 item 20)", () => {
  let tmp: { dir: string; cleanup: () => void };
  before(() => {
    tmp = makeTempDir("retention-");
  });
  after(() => {
    tmp.cleanup();
  });

  it("a year of traffic, pruned daily as the daemon does, leaves the store bounded", () => {
    const file = join(tmp.dir, "town.db");
    const db = openDb(file);
    // A request the daemon claimed but never finished is kept whatever its age: it is settled, not pruned.
    db.prepare(
      `INSERT INTO lifecycle_requests (id, identity, action, requested_by, status, claimed_at)
       VALUES ('q-claimed', 'deacon', 'restart', 'deacon', 'claimed', ?)`,
    ).run(new Date(START).toISOString());
    const sizes = new Map<number, number>();
    for (let day = 0; day < 365; day++) {
      addDay(db, day);
      const now = new Date(START + (day + 1) * DAY);
      pruneStore(db, DEFAULT_RETENTION, now);
      assert.equal(checkpointWal(db), true, "the WAL is checkpointed and truncated");
      sizes.set(day, statSync(file).size);
    }
    assert.equal(statSync(`${file}-wal`).size, 0, "the WAL is empty after the checkpoint");

    const end = START + 365 * DAY;
    const since = (days: number): string => new Date(end - days * DAY).toISOString();
    assert.equal(
      count(db, "mail", `read = 1 AND created_at < '${since(30)}'`),
      0,
      "no read mail over 30 days",
    );
    assert.equal(
      count(db, "mail", `read = 0 AND created_at < '${since(90)}'`),
      0,
      "no unread mail over 90 days",
    );
    assert.ok(
      count(db, "mail", `read = 0 AND created_at < '${since(60)}'`) > 0,
      "unread mail is kept longer",
    );
    assert.ok(count(db, "mail") <= 30 * PER_DAY.mail + 90 * (PER_DAY.mail / 10), `${count(db, "mail")} mail`);
    assert.ok(count(db, "lifecycle_requests") <= 30 * PER_DAY.requests + 1);
    assert.equal(count(db, "lifecycle_requests", "id = 'q-claimed'"), 1, "a claimed request is never pruned");
    assert.ok(count(db, "notices") <= 30 * PER_DAY.notices);
    assert.equal(count(db, "events"), DEFAULT_RETENTION.eventsKept);

    // Once every kind is at its bound (events reach theirs at day 250), the file grows no more: pruned
    // pages are reused.
    const steady = sizes.get(280) ?? 0;
    const last = sizes.get(364) ?? 0;
    assert.ok(last <= steady * 1.05, `the file grew from ${steady} to ${last} bytes after day 280`);
    db.close();
  });

  it("retention settings: Go-style durations, '0' keeps for ever, defaults otherwise", () => {
    assert.deepEqual(daemonSettings(undefined).retention, DEFAULT_RETENTION);
    const set = daemonSettings({
      operational: { daemon: { retention: { mail: "168h", unread_mail: "0", requests: "2160h" } } },
    }).retention;
    assert.equal(set.readMailMs, 7 * DAY);
    assert.equal(set.unreadMailMs, 0);
    assert.equal(set.requestsMs, 90 * DAY, "not held to the 24.8-day timer limit");
    assert.equal(set.noticesMs, DEFAULT_RETENTION.noticesMs);

    const db = openDb(join(tmp.dir, "forever.db"));
    addDay(db, 0);
    const pruned = pruneStore(db, { ...set, readMailMs: 0 }, new Date(START + 1000 * DAY));
    assert.equal(pruned.mail, 0, "0 keeps mail for ever");
    assert.equal(pruned.requests, PER_DAY.requests);
    db.close();
  });
});
