import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { isAlive } from "../proc/tree.js";
import { LineSplitter, closedIssue } from "./activity.js";
import { ConvoyWatcher } from "./watcher.js";

/**
 * The convoy watcher with stand-ins for `bd` and `gt` (the real ones are Go binaries): minimal shell
 * scripts on PATH that record how they were called and print the reference's `bd activity --json` lines
 * (§11). A beads database with the reference's `issues` and `dependencies` tables says which convoys track
 * which issues.
 */

let dir: string;
let town: string;
let bin: string;
let logged: string[];
const watchers: ConvoyWatcher[] = [];

/** `bd`: records its cwd, argv and time; prints bd.out.<call> if present; keeps following if bd.follow exists. */
const BD = `#!/bin/sh
echo "$(pwd)|$*|$(date +%s%N)" >> "$REC/bd.calls"
n=$(wc -l < "$REC/bd.calls")
[ -f "$REC/bd.out.$n" ] && cat "$REC/bd.out.$n"
[ -f "$REC/bd.follow" ] || exit 0
echo $$ > "$REC/bd.pid"
exec sleep 60
`;
const GT = `#!/bin/sh
echo "$(pwd)|$*" >> "$REC/gt.calls"
echo "Convoy hq-cv1 closed: all tracked issues done"
`;

function status(issue: string, from: string, to: string): string {
  return JSON.stringify({
    timestamp: "2026-01-16T10:00:00Z",
    type: "status",
    issue_id: issue,
    symbol: to === "closed" ? "✓" : "→",
    message: `${issue} ${from} → ${to}`,
    old_status: from,
    new_status: to,
  });
}

function lines(file: string): string[] {
  return existsSync(file)
    ? readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l !== "")
    : [];
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${logged.join("\n")}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function watcher(path: string, restartDelayMs?: number): ConvoyWatcher {
  const made = new ConvoyWatcher({
    townRoot: town,
    log: { info: (m) => logged.push(m), warn: (m) => logged.push(m) },
    env: { ...process.env, PATH: path, REC: dir },
    ...(restartDelayMs === undefined ? {} : { restartDelayMs }),
  });
  watchers.push(made);
  return made;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "convoy-"));
  town = join(dir, "town");
  bin = join(dir, "bin");
  mkdirSync(join(town, ".beads"), { recursive: true });
  mkdirSync(bin);
  for (const [name, text] of [
    ["bd", BD],
    ["gt", GT],
  ] as const) {
    writeFileSync(join(bin, name), text);
    chmodSync(join(bin, name), 0o755);
  }
  logged = [];
});

afterEach(async () => {
  for (const w of watchers.splice(0)) await w.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("ConvoyWatcher", () => {
  it("without bd on the PATH: says so once and stays off", async () => {
    const w = watcher(`${join(dir, "empty")}:/usr/bin:/bin`);
    assert.equal(w.start(), false);
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(logged, ["Convoy watcher off: bd is not on the daemon's PATH"]);
    assert.equal(existsSync(join(dir, "bd.calls")), false);
  });

  it("B123: runs bd activity --follow --town --json in the town and starts it again after it exits", async () => {
    const w = watcher(`${bin}:/usr/bin:/bin`, 400);
    assert.equal(w.start(), true);
    await until("three runs of bd", () => lines(join(dir, "bd.calls")).length >= 3);
    await w.stop();
    const calls = lines(join(dir, "bd.calls")).map((l) => l.split("|"));
    for (const [cwd, args] of calls) {
      assert.equal(cwd, town);
      assert.equal(args, "activity --follow --town --json");
    }
    const times = calls.map(([, , ns]) => Number(BigInt(ns ?? "0") / 1_000_000n));
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0));
    assert.ok(
      gaps.every((gap) => gap >= 400),
      `each run at least 400 ms after the last ended: ${gaps.join(", ")}`,
    );
    assert.deepEqual(
      logged.filter((m) => m.includes("restarting")),
      ["convoy watcher: bd activity exited with code 0, restarting in 0.4s"],
      "the same ending is logged once, not on every restart",
    );
    const count = calls.length;
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(lines(join(dir, "bd.calls")).length, count, "no run after stop()");
  });

  it("B124/B125: runs gt convoy check for a closed issue an open convoy tracks, and nothing for the rest", async () => {
    const db = new Database(join(town, ".beads", "beads.db"));
    db.exec(`
      CREATE TABLE issues (id TEXT PRIMARY KEY, title TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'open');
      CREATE TABLE dependencies (issue_id TEXT NOT NULL, depends_on_id TEXT NOT NULL,
        type TEXT NOT NULL DEFAULT 'blocks', created_by TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (issue_id, depends_on_id));
      INSERT INTO issues VALUES ('hq-cv1', 'open convoy', 'open'), ('hq-cv2', 'done convoy', 'closed'),
        ('hq-cv3', 'cross-rig convoy', 'open'), ('gt-1', 'a', 'closed'), ('gt-2', 'b', 'closed');
      INSERT INTO dependencies (issue_id, depends_on_id, type) VALUES
        ('hq-cv1', 'gt-1', 'tracks'), ('hq-cv2', 'gt-2', 'tracks'), ('hq-cv1', 'gt-4', 'tracks'),
        ('hq-cv3', 'rig2:gt-6', 'tracks'), ('hq-cv1', 'gt-7', 'blocks');
    `);
    db.close();
    writeFileSync(
      join(dir, "bd.out.1"),
      [
        status("gt-1", "in_progress", "closed"),
        status("gt-2", "in_progress", "closed"),
        status("gt-3", "open", "closed"),
        status("gt-4", "open", "in_progress"),
        JSON.stringify({
          timestamp: "2026-01-16T10:00:01Z",
          type: "create",
          issue_id: "gt-5",
          message: "new",
        }),
        "not json",
        status("gt-7", "open", "closed"),
        status("gt-6", "in_progress", "closed"),
        "",
      ].join("\n"),
    );
    writeFileSync(join(dir, "bd.follow"), "");
    const w = watcher(`${bin}:/usr/bin:/bin`);
    w.start();
    await until("bd to follow", () => existsSync(join(dir, "bd.pid")));
    await until("the closes to be handled", () => logged.includes("convoy watcher: detected close of gt-6"));
    await until("the second check", () => lines(join(dir, "gt.calls")).length >= 2);
    assert.deepEqual(lines(join(dir, "gt.calls")), [`${town}|convoy check`, `${town}|convoy check`]);
    assert.deepEqual(
      logged.filter((m) => m.includes("detected close")),
      ["gt-1", "gt-2", "gt-3", "gt-7", "gt-6"].map((id) => `convoy watcher: detected close of ${id}`),
    );
    assert.ok(logged.includes("convoy watcher: running completion check for hq-cv1"));
    assert.ok(logged.includes("convoy watcher: running completion check for hq-cv3"));
    assert.ok(logged.includes("convoy watcher: Convoy hq-cv1 closed: all tracked issues done"));
    // stop() ends the following bd by its PID.
    const pid = Number(readFileSync(join(dir, "bd.pid"), "utf8"));
    assert.ok(isAlive(pid));
    await w.stop();
    assert.equal(isAlive(pid), false, "bd ended with the watcher");
  });
});

describe("closedIssue()", () => {
  it("reads only status changes to closed, with a plain issue id", () => {
    assert.equal(closedIssue(status("gt-1", "open", "closed")), "gt-1");
    assert.equal(closedIssue(status("gt-1", "closed", "open")), null);
    assert.equal(
      closedIssue(JSON.stringify({ type: "status", new_status: "closed", issue_id: "a\u001bb" })),
      null,
    );
    assert.equal(closedIssue(JSON.stringify({ type: "status", new_status: "closed", issue_id: "" })), null);
    assert.equal(closedIssue("{"), null);
  });

  it("LineSplitter joins chunks into lines and drops a line over its limit whole", () => {
    const got: string[] = [];
    let overlong = 0;
    const splitter = new LineSplitter(
      8,
      (l) => got.push(l),
      () => (overlong += 1),
    );
    splitter.push("ab");
    splitter.push("c\r\nde");
    splitter.push("0123456789");
    splitter.push("xyz\nok\n");
    assert.deepEqual(got, ["abc", "ok"]);
    assert.equal(overlong, 1);
  });
});
