import assert from "node:assert/strict";
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import {
  createSupervisedTown,
  isAlive,
  tempDir,
  type Json,
  type SupervisedTown,
} from "../../helpers/supervised-town.js";
import { until } from "../../helpers/wait.js";

/**
 * What the daemon runs beside its passes (reference §4, §11, B9, B123–B126): the feed curator and the
 * convoy watcher, started and stopped with it. `bd` and `gt` are stand-ins on the daemon's PATH (the real
 * ones are Go binaries): `bd activity` prints the reference's JSON line for a closed issue and exits the
 * first time, and follows (sleeps) after that; `gt` records how it was called.
 */

const BD = `#!/bin/sh
echo "$(pwd)|$*|$(date +%s%N)" >> "$REC/bd.calls"
if [ "$(wc -l < "$REC/bd.calls")" -eq 1 ]; then
  echo '{"timestamp":"2026-01-16T10:00:00Z","type":"status","issue_id":"gt-1","symbol":"✓","message":"gt-1 closed","old_status":"in_progress","new_status":"closed"}'
  exit 0
fi
echo $$ > "$REC/bd.pid"
exec sleep 120
`;
const GT = `#!/bin/sh
echo "$(pwd)|$*" >> "$REC/gt.calls"
echo "No convoys ready"
`;

interface FeedLine {
  ts: string;
  type: string;
  actor: string;
  summary: string;
}

function lines(file: string): string[] {
  return existsSync(file)
    ? readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l !== "")
    : [];
}

describe("the feed curator and convoy watcher beside the daemon", { timeout: 60_000 }, () => {
  let town: SupervisedTown;
  const stand = tempDir("/tmp/fc-");
  const rec = stand.dir;
  let feed: string;
  let events: string;
  const feedLines = (): FeedLine[] => lines(feed).map((l) => JSON.parse(l) as FeedLine);
  const raw = (type: string, actor: string, at: Date): string =>
    `${JSON.stringify({ ts: at.toISOString().replace(/\.\d+Z$/, "Z"), source: "gt", type, actor, payload: { bead: "gt-9" }, visibility: "feed" })}\n`;

  before(async () => {
    const bin = join(rec, "bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "bd"), BD);
    writeFileSync(join(bin, "gt"), GT);
    chmodSync(join(bin, "bd"), 0o755);
    chmodSync(join(bin, "gt"), 0o755);
    town = await createSupervisedTown({
      env: { PATH: `${bin}:${process.env["PATH"] ?? ""}`, REC: rec },
      // No agent can start: the Deacon's CLI is missing, which townd alerts about (failed_to_start).
      settings: (s) => {
        s["agents"] = { ...(s["agents"] as Json), ghost: { command: "/nonexistent/ghost-cli" } };
        s["role_agents"] = { deacon: "ghost" };
      },
    });
    mkdirSync(join(town.root, ".beads"));
    const db = new Database(join(town.root, ".beads", "beads.db"));
    db.exec(`
      CREATE TABLE issues (id TEXT PRIMARY KEY, title TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'open');
      CREATE TABLE dependencies (issue_id TEXT NOT NULL, depends_on_id TEXT NOT NULL,
        type TEXT NOT NULL DEFAULT 'blocks', created_by TEXT NOT NULL DEFAULT '', PRIMARY KEY (issue_id, depends_on_id));
      INSERT INTO issues VALUES ('hq-cv1', 'convoy', 'open'), ('gt-1', 'work', 'closed');
      INSERT INTO dependencies (issue_id, depends_on_id, type) VALUES ('hq-cv1', 'gt-1', 'tracks');
    `);
    db.close();
    feed = join(town.root, ".feed.jsonl");
    events = join(town.root, ".events.jsonl");
    await town.start();
  });
  after(async () => {
    // The town's cleanup ends every process carrying its mark, the stand-ins' included.
    await town.cleanup();
    stand.cleanup();
  });

  it("B125: a close that an open convoy tracks runs gt convoy check in the town", async () => {
    await until("gt convoy check", () => lines(join(rec, "gt.calls")).length >= 1, 15_000);
    assert.deepEqual(lines(join(rec, "gt.calls")), [`${town.root}|convoy check`]);
    assert.ok(town.log().some((r) => r.msg === "convoy watcher: running completion check for hq-cv1"));
  });

  it("townd's own alerts and other tools' events appear in the feed; done is deduplicated (B126)", async () => {
    await until(
      "the failed_to_start alert in the feed",
      () => feedLines().some((e) => e.type === "failed_to_start"),
      15_000,
    );
    const alert = feedLines().find((e) => e.type === "failed_to_start");
    assert.ok(alert !== undefined);
    assert.equal(alert.actor, "daemon");
    assert.match(alert.summary, /deacon failed to start/);
    const now = new Date();
    appendFileSync(
      events,
      raw("done", "r/polecats/a", now) + raw("done", "r/polecats/a", now) + raw("spawn", "mayor", now),
    );
    await until("the new events in the feed", () => feedLines().some((e) => e.type === "spawn"), 10_000);
    assert.equal(feedLines().filter((e) => e.type === "done").length, 1);
  });

  it("B123: bd activity is started again 5 s after it exited; the daemon's stop ends it", async () => {
    await until("bd to run again", () => existsSync(join(rec, "bd.pid")), 15_000);
    const calls = lines(join(rec, "bd.calls")).map((l) => l.split("|"));
    assert.equal(calls.length, 2);
    for (const [cwd, args] of calls) {
      assert.equal(cwd, town.root);
      assert.equal(args, "activity --follow --town --json");
    }
    const [first, second] = calls.map(([, , ns]) => Number(BigInt(ns ?? "0") / 1_000_000n));
    assert.ok((second ?? 0) - (first ?? 0) >= 5000, `started again after ${(second ?? 0) - (first ?? 0)} ms`);
    assert.ok(
      town.log().some((r) => r.msg === "convoy watcher: bd activity exited with code 0, restarting in 5s"),
    );
    const pid = Number(readFileSync(join(rec, "bd.pid"), "utf8"));
    assert.ok(isAlive(pid));
    const stopped = await town.townd(["stop"]);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal(isAlive(pid), false, "bd ended with the daemon");
    const messages = town.log().map((r) => r.msg);
    assert.ok(messages.includes("Feed curator stopped") && messages.includes("Convoy watcher stopped"));
  });

  it("a daemon restart appends nothing twice and catches up on what came while it was down", async () => {
    const before = lines(feed);
    const now = new Date();
    // Within 10 s of the done already in the feed: a repeat; the mail is new.
    appendFileSync(events, raw("done", "r/polecats/a", now) + raw("mail", "mayor", now));
    await town.start();
    await until("the mail in the feed", () => feedLines().some((e) => e.type === "mail"), 10_000);
    await town.forcePasses(town.snapshot().daemon.heartbeat_count + 2, 10_000);
    const after = lines(feed);
    assert.deepEqual(after.slice(0, before.length), before, "the feed only grew");
    assert.deepEqual(
      after.slice(before.length).map((l) => (JSON.parse(l) as FeedLine).type),
      ["mail"],
      "only the new mail was appended",
    );
    assert.equal(new Set(after).size, after.length, "no line twice");
  });
});
