import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FeedCurator } from "./curator.js";
import { saveCuratorState } from "./position.js";
import { EMPTY_CURATION } from "./curate.js";

/**
 * The curator on real files: it tails `.events.jsonl` and appends to `.feed.jsonl`, survives the events
 * file being truncated, replaced or rewritten, and never appends a line twice across restarts, including a
 * restart after a kill between saving a batch and appending it.
 */

let dir: string;
let events: string;
let feed: string;
let stateFile: string;
let logged: string[];
const running: FeedCurator[] = [];

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const line = (type: string, actor: string, atSeconds: number, visibility = "feed"): string =>
  `${JSON.stringify({
    ts: new Date(T0 + atSeconds * 1000).toISOString().replace(/\.\d+Z$/, "Z"),
    source: "gt",
    type,
    actor,
    payload: { bead: `gt-${atSeconds}` },
    visibility,
  })}\n`;

/** A curator that looks only when told (step()), as the daemon's would every 100 ms. */
function curator(maxFeedBytes?: number): FeedCurator {
  const made = new FeedCurator({
    townRoot: dir,
    stateFile,
    log: {
      info: (m) => logged.push(m),
      warn: (m) => logged.push(m),
    },
    pollMs: 3_600_000,
    ...(maxFeedBytes === undefined ? {} : { maxFeedBytes }),
  });
  made.start();
  running.push(made);
  return made;
}

/** The feed's lines as `type actor` strings. */
function feedLines(): string[] {
  if (!existsSync(feed)) return [];
  return readFileSync(feed, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const event = JSON.parse(l) as { type: string; actor: string; ts: string };
      return `${event.type} ${event.actor} ${(Date.parse(event.ts) - T0) / 1000}`;
    });
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "feed-"));
  events = join(dir, ".events.jsonl");
  feed = join(dir, ".feed.jsonl");
  stateFile = join(dir, "feed-curator.json");
  logged = [];
});

afterEach(async () => {
  for (const c of running.splice(0)) await c.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("FeedCurator", () => {
  it("starts at the end of an existing file, then appends feed-visible events, deduplicating done (B126)", () => {
    writeFileSync(events, line("mail", "old", 0));
    const c = curator();
    appendFileSync(events, line("done", "a", 1) + line("done", "a", 2) + line("hook", "a", 3, "audit"));
    appendFileSync(events, line("done", "b", 4));
    c.step();
    assert.deepEqual(feedLines(), ["done a 1", "done b 4"]);
  });

  it("waits for the rest of a line still being written", () => {
    const c = curator();
    const whole = line("spawn", "a", 1);
    appendFileSync(events, whole.slice(0, 20));
    c.step();
    assert.deepEqual(feedLines(), []);
    appendFileSync(events, whole.slice(20));
    c.step();
    assert.deepEqual(feedLines(), ["spawn a 1"]);
  });

  it("survives truncation: reads the file again from its start, without repeating what it appended", () => {
    const c = curator();
    appendFileSync(events, line("spawn", "a", 1) + line("spawn", "b", 2));
    c.step();
    truncateSync(events, 0);
    c.step();
    appendFileSync(events, line("spawn", "c", 3));
    c.step();
    assert.deepEqual(feedLines(), ["spawn a 1", "spawn b 2", "spawn c 3"]);
    assert.ok(
      logged.some((m) => m.includes("was truncated")),
      logged.join("\n"),
    );
  });

  it("survives truncation followed by more lines than before, between two looks (rewritten in place)", () => {
    const c = curator();
    appendFileSync(events, line("spawn", "a", 1));
    c.step();
    writeFileSync(events, line("spawn", "x", 5) + line("spawn", "y", 6));
    c.step();
    assert.deepEqual(feedLines(), ["spawn a 1", "spawn x 5", "spawn y 6"]);
    assert.ok(
      logged.some((m) => m.includes("was rewritten")),
      logged.join("\n"),
    );
  });

  it("survives replacement (a new file renamed over it): reads the new file from its start", () => {
    const c = curator();
    appendFileSync(events, line("spawn", "a", 1));
    c.step();
    writeFileSync(`${events}.new`, line("spawn", "n", 7));
    renameSync(`${events}.new`, events);
    c.step();
    assert.deepEqual(feedLines(), ["spawn a 1", "spawn n 7"]);
    assert.ok(
      logged.some((m) => m.includes("was replaced")),
      logged.join("\n"),
    );
  });

  it("a restart neither repeats nor skips: it resumes where the last one stopped, dedupe included", async () => {
    const first = curator();
    appendFileSync(events, line("spawn", "a", 1) + line("done", "a", 2));
    first.step();
    await first.stop();
    // While no curator runs: a repeated done (within 10 s of the one in the feed) and a new event.
    appendFileSync(events, line("done", "a", 5) + line("spawn", "b", 6));
    const second = curator();
    second.step();
    second.step();
    assert.deepEqual(feedLines(), ["spawn a 1", "done a 2", "spawn b 6"]);
  });

  it("a kill between saving a batch and appending it: the next start appends it once", () => {
    const written = line("spawn", "a", 1);
    writeFileSync(events, written);
    writeFileSync(feed, "");
    const data = `${JSON.stringify({ ts: "t", source: "gt", type: "spawn", actor: "a", summary: "a: spawn" })}\n`;
    const stats = statSync(events, { bigint: true });
    const position = {
      dev: String(stats.dev),
      ino: String(stats.ino),
      offset: written.length,
      tail: Buffer.from(written).subarray(-64).toString("base64"),
    };
    // As a killed daemon leaves it: batch saved, nothing appended.
    saveCuratorState(stateFile, {
      events: position,
      pending: { feedSizeBefore: 0, data },
      curation: EMPTY_CURATION,
    });
    curator().step();
    assert.equal(readFileSync(feed, "utf8"), data, "the saved batch once, the line it came from not again");
  });

  it("a kill after the append but before the batch was cleared: the next start does not append it again", () => {
    const data = '{"type":"spawn"}\n';
    writeFileSync(feed, data);
    saveCuratorState(stateFile, {
      events: null,
      pending: { feedSizeBefore: 0, data },
      curation: EMPTY_CURATION,
    });
    curator();
    assert.equal(readFileSync(feed, "utf8"), data);
  });

  it("a torn append (half a batch) is cut back and written whole", () => {
    const data = '{"type":"spawn","actor":"a"}\n{"type":"spawn","actor":"b"}\n';
    writeFileSync(feed, `before\n${data.slice(0, 10)}`);
    saveCuratorState(stateFile, {
      events: null,
      pending: { feedSizeBefore: "before\n".length, data },
      curation: EMPTY_CURATION,
    });
    curator();
    assert.equal(readFileSync(feed, "utf8"), `before\n${data}`);
  });

  it("never writes through a symbolic link at .feed.jsonl; the events wait and follow once it is gone", () => {
    const elsewhere = join(dir, "elsewhere");
    writeFileSync(elsewhere, "");
    symlinkSync(elsewhere, feed);
    const c = curator();
    appendFileSync(events, line("spawn", "a", 1));
    c.step();
    c.step();
    assert.equal(readFileSync(elsewhere, "utf8"), "");
    assert.equal(logged.filter((m) => m.includes("symbolic link")).length, 1, "said once");
    rmSync(feed);
    c.step();
    assert.deepEqual(feedLines(), ["spawn a 1"]);
  });

  it("appends nothing while its place cannot be saved (a full disk), then catches up once", () => {
    const c = curator();
    rmSync(stateFile);
    mkdirSync(stateFile);
    appendFileSync(events, line("spawn", "a", 1));
    c.step();
    c.step();
    assert.deepEqual(feedLines(), [], "not ahead of what a restart would resume from");
    rmSync(stateFile, { recursive: true });
    c.step();
    c.step();
    assert.deepEqual(feedLines(), ["spawn a 1"]);
  });

  it("keeps the feed's newer half once it passes its size limit", () => {
    const c = curator(2000);
    for (let i = 0; i < 20; i += 1) appendFileSync(events, line("spawn", `a${i}`, i));
    c.step();
    appendFileSync(events, line("spawn", "last", 99));
    c.step();
    const lines = feedLines();
    assert.equal(lines.at(-1), "spawn last 99");
    assert.ok(lines.length < 21 && lines.length > 5, `${lines.length} lines kept`);
    assert.ok(!lines.includes("spawn a0 0"), "the oldest went");
  });
});
