import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { makeTempDir } from "../../../test/helpers/tmp.js";
import {
  parseStatusline,
  pruneStatuslines,
  readStatusline,
  STALE_STATUSLINE_TEMP_MS,
  statuslineWall,
} from "./statusline.js";

const SAMPLE = {
  session_id: "s-1",
  transcript_path: "/home/u/.claude/projects/-w/s-1.jsonl",
  cwd: "/w",
  cost: { total_cost_usd: 1.25 },
  context_window: {
    used_percentage: 42.5,
    remaining_percentage: 57.5,
    total_input_tokens: 15_234,
    total_output_tokens: 4_521,
  },
  rate_limits: {
    five_hour: { used_percentage: 99, resets_at: 1_900_000_000 },
    seven_day: { used_percentage: 10 },
  },
};

describe("statusline", () => {
  let tmp: { dir: string; cleanup: () => void };
  before(() => {
    tmp = makeTempDir("statusline-");
  });
  after(() => {
    tmp.cleanup();
  });

  it("reads context, cost and both usage windows", () => {
    assert.deepEqual(parseStatusline(JSON.stringify(SAMPLE), 7), {
      contextPercent: 42.5,
      costUsd: 1.25,
      inputTokens: 15_234,
      outputTokens: 4_521,
      fiveHour: { usedPercent: 99, resetsAt: 1_900_000_000_000 },
      sevenDay: { usedPercent: 10, resetsAt: null },
      sessionId: "s-1",
      transcriptPath: "/home/u/.claude/projects/-w/s-1.jsonl",
      observedAt: 7,
    });
  });

  it("gives null for what is absent or out of range", () => {
    assert.deepEqual(
      parseStatusline(JSON.stringify({ context_window: { used_percentage: 150 }, cost: {} }), 1),
      {
        contextPercent: null,
        costUsd: null,
        inputTokens: null,
        outputTokens: null,
        fiveHour: null,
        sevenDay: null,
        sessionId: null,
        transcriptPath: null,
        observedAt: 1,
      },
    );
    assert.equal(parseStatusline("not json", 1), null);
    assert.equal(parseStatusline("[]", 1), null);
  });

  it("reads the generation's file, never a link, a directory or a huge file, and never throws", () => {
    const dir = join(tmp.dir, "statusline");
    mkdirSync(dir);
    writeFileSync(join(dir, "g1.json"), `${JSON.stringify(SAMPLE)}\n`);
    const reading = readStatusline(dir, "g1");
    assert.ok(reading !== null);
    assert.equal(reading.costUsd, 1.25);
    assert.ok(Math.abs(reading.observedAt - Date.now()) < 60_000);
    assert.equal(readStatusline(dir, "missing"), null);
    assert.equal(readStatusline(dir, "../g1"), null);
    symlinkSync(join(dir, "g1.json"), join(dir, "link.json"));
    assert.equal(readStatusline(dir, "link"), null);
    mkdirSync(join(dir, "adir.json"));
    assert.equal(readStatusline(dir, "adir"), null);
    writeFileSync(join(dir, "big.json"), " ".repeat(200_000));
    assert.equal(readStatusline(dir, "big"), null);
    writeFileSync(join(dir, "bad.json"), "{");
    assert.equal(readStatusline(dir, "bad"), null);
    assert.equal(readStatusline(join(tmp.dir, "nowhere"), "g1"), null);
  });
});

describe("statuslineWall", () => {
  const reading = (fiveHour: number, sevenDay: number, resetsAt: number | null) => ({
    contextPercent: 10,
    costUsd: 1,
    inputTokens: null,
    outputTokens: null,
    fiveHour: { usedPercent: fiveHour, resetsAt },
    sevenDay: { usedPercent: sevenDay, resetsAt },
    sessionId: null,
    transcriptPath: null,
    observedAt: 0,
  });

  it("is a wall with the window's own reset once a window is spent, and none below it or after the reset", () => {
    const now = Date.UTC(2026, 11, 4, 12);
    const reset = now + 3_600_000;
    assert.deepEqual(statuslineWall(reading(100, 40, reset), now), {
      state: "rate-limited",
      source: "statusline",
      detail: "five-hour usage at 100%",
      resetsAt: reset,
      limit: "session",
    });
    assert.equal(statuslineWall(reading(50, 99.5, reset), now)?.limit, "weekly");
    assert.equal(statuslineWall(reading(98, 40, reset), now), null);
    assert.equal(statuslineWall(reading(100, 40, now - 1), now), null, "already reset");
    assert.equal(
      statuslineWall(reading(100, 40, null), now)?.resetsAt,
      null,
      "no reset given: none invented",
    );
  });
});

describe("pruneStatuslines", () => {
  it("removes only the files of generations that no longer run", () => {
    const dir = mkdtempSync(join(tmpdir(), "statusline-"));
    try {
      for (const name of ["g1.json", "g2.json", "notes.txt"]) writeFileSync(join(dir, name), "{}");
      pruneStatuslines(dir, new Set(["g2"]));
      assert.deepEqual(readdirSync(dir).sort(), ["g2.json", "notes.txt"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("removes a dead writer's temp files: another generation's at once, a running one's once stale", () => {
    const dir = mkdtempSync(join(tmpdir(), "statusline-"));
    try {
      const now = Date.now();
      const names = [".g1.101.tmp", ".g2.102.tmp", ".g2.103.tmp", ".g1.txt"];
      for (const name of names) writeFileSync(join(dir, name), "{");
      const old = (now - STALE_STATUSLINE_TEMP_MS - 1000) / 1000;
      utimesSync(join(dir, ".g2.103.tmp"), old, old);
      pruneStatuslines(dir, new Set(["g2"]), now);
      assert.deepEqual(readdirSync(dir).sort(), [".g1.txt", ".g2.102.tmp"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
