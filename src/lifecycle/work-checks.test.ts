import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { makeTempDir } from "../../test/helpers/tmp.js";
import { openDb } from "../store/db.js";
import { firstNotice } from "../store/lifecycle.js";
import { workNotices, type PolecatView } from "./work-checks.js";

const NOW = Date.parse("2026-03-01T12:00:00.000Z");
const GUPP = 30 * 60_000;
const ago = (ms: number): string => new Date(NOW - ms).toISOString();

function polecat(fields: Partial<PolecatView> = {}): PolecatView {
  return {
    rig: "gastown",
    name: "toast",
    identity: "gastown/polecats/toast",
    hookedWork: "gt-123",
    state: "working",
    updatedAt: ago(5 * 60_000),
    verdict: "alive",
    abandoned: false,
    generation: "g1",
    spawnError: null,
    ...fields,
  };
}

describe("workNotices: GUPP violations (B99–B102)", () => {
  it("B100: hooked work on a live agent idle longer than the GUPP timeout mails the rig's witness", () => {
    const notices = workNotices([polecat({ updatedAt: ago(45 * 60_000) })], NOW, GUPP);
    assert.deepEqual(notices, [
      {
        kind: "GUPP_VIOLATION",
        identity: "gastown/polecats/toast",
        episode: `idle-since:${ago(45 * 60_000)}`,
        to: "gastown/witness",
        subject: "GUPP_VIOLATION: gastown/polecats/toast stuck for 45m0s",
        body:
          "Agent gastown/polecats/toast has work on hook but isn't progressing.\n\nhook_bead: gt-123\n" +
          "stuck_duration: 45m0s\n\nAction needed: Check if agent is alive and responsive. Consider restarting if stuck.",
      },
    ]);
  });

  it("B100: the stuck duration is rounded down to the minute (seconds only below a minute)", () => {
    const [long] = workNotices([polecat({ updatedAt: ago(90 * 60_000 + 59_000) })], NOW, GUPP);
    assert.match(long?.subject ?? "", /stuck for 1h30m0s$/);
    const [short] = workNotices([polecat({ updatedAt: ago(42_500) })], NOW, 10_000);
    assert.match(short?.subject ?? "", /stuck for 42s$/);
  });

  it("B101: idle for at most the timeout, no GUPP mail", () => {
    assert.deepEqual(workNotices([polecat({ updatedAt: ago(GUPP) })], NOW, GUPP), []);
    assert.deepEqual(workNotices([polecat({ updatedAt: ago(GUPP - 1) })], NOW, GUPP), []);
    assert.equal(workNotices([polecat({ updatedAt: ago(GUPP + 1000) })], NOW, GUPP).length, 1);
  });

  it("B101: an unknown or unparseable updated_at is skipped, never a violation", () => {
    assert.deepEqual(workNotices([polecat({ updatedAt: null })], NOW, GUPP), []);
    assert.deepEqual(workNotices([polecat({ updatedAt: "not a time" })], NOW, GUPP), []);
    const { updatedAt: _omitted, ...withoutUpdatedAt } = polecat();
    assert.deepEqual(workNotices([withoutUpdatedAt], NOW, GUPP), []);
  });

  it("B104: a polecat without hooked work never triggers GUPP or orphan mail", () => {
    const idle = { hookedWork: null, updatedAt: ago(10 * 60 * 60_000) };
    assert.deepEqual(
      workNotices(
        [
          polecat(idle),
          polecat({ ...idle, verdict: "dead", abandoned: true }),
          polecat({ ...idle, verdict: "missing", abandoned: true, spawnError: "tmux refused" }),
        ],
        NOW,
        GUPP,
      ),
      [],
    );
  });

  it("B102 fixed: the episode is the idle-since time, so it is the same every pass until the agent acts", () => {
    const stuck = polecat({ updatedAt: ago(45 * 60_000) });
    const first = workNotices([stuck], NOW, GUPP)[0];
    const later = workNotices([stuck], NOW + 10 * 60_000, GUPP)[0];
    assert.equal(first?.episode, later?.episode);
    assert.notEqual(first?.subject, later?.subject, "the subject carries the current duration");
    const acted = workNotices(
      [polecat({ updatedAt: ago(31 * 60_000 - 10 * 60_000) })],
      NOW + 10 * 60_000,
      GUPP,
    )[0];
    assert.notEqual(acted?.episode, first?.episode, "a new idle stretch is a new episode");
  });

  it("B102 fixed: with the store's firstNotice, a violation is mailed once per episode, not every pass", () => {
    const tmp = makeTempDir("notices-");
    const db = openDb(join(tmp.dir, "town.db"));
    try {
      const stuck = polecat({ updatedAt: ago(45 * 60_000) });
      let mailed = 0;
      for (let pass = 0; pass < 10; pass++) {
        for (const n of workNotices([stuck], NOW + pass * 180_000, GUPP)) {
          if (firstNotice(db, n.identity, n.kind, n.episode, new Date(NOW))) mailed += 1;
        }
      }
      assert.equal(mailed, 1);
    } finally {
      db.close();
      tmp.cleanup();
    }
  });
});

describe("workNotices: orphaned work and crashed polecats (B103, B108–B110)", () => {
  it("B103: hooked work on a dead agent the daemon will not restart now is ORPHANED_WORK", () => {
    const notices = workNotices([polecat({ verdict: "dead", abandoned: true, generation: "g7" })], NOW, GUPP);
    assert.deepEqual(notices, [
      {
        kind: "ORPHANED_WORK",
        identity: "gastown/polecats/toast",
        episode: "dead:g7",
        to: "gastown/witness",
        subject: "ORPHANED_WORK: gastown/polecats/toast has hooked work but is dead",
        body:
          "Agent gastown/polecats/toast is dead but has work on its hook.\n\nhook_bead: gt-123\n\n" +
          "Action needed: Either restart the agent or reassign the work.",
      },
    ]);
  });

  it("B103: a missing session or a zombie counts as dead; a never-started agent has its own episode", () => {
    for (const verdict of ["missing", "zombie"] as const) {
      const [n] = workNotices([polecat({ verdict, abandoned: true, generation: null })], NOW, GUPP);
      assert.equal(n?.kind, "ORPHANED_WORK", verdict);
      assert.equal(n.episode, "dead:never-started");
    }
  });

  it("a dead agent the daemon is about to restart is not orphaned (no mail flood while it recovers)", () => {
    assert.deepEqual(workNotices([polecat({ verdict: "dead", abandoned: false })], NOW, GUPP), []);
    assert.deepEqual(workNotices([polecat({ verdict: "missing", abandoned: false })], NOW, GUPP), []);
  });

  it("B109/B110: a failed restart mails CRASHED_POLECAT with the error, once per generation", () => {
    const notices = workNotices(
      [polecat({ verdict: "dead", spawnError: "polecat worktree does not exist", generation: "g2" })],
      NOW,
      GUPP,
    );
    assert.deepEqual(notices, [
      {
        kind: "CRASHED_POLECAT",
        identity: "gastown/polecats/toast",
        episode: "restart-failed:g2",
        to: "gastown/witness",
        subject: "CRASHED_POLECAT: gastown/toast restart failed",
        body:
          "Polecat toast crashed and automatic restart failed.\n\nhook_bead: gt-123\n" +
          "restart_error: polecat worktree does not exist\n\nManual intervention may be required.",
      },
    ]);
  });

  it("a crashed polecat gets only the CRASHED_POLECAT notice in that pass, not ORPHANED_WORK too", () => {
    const notices = workNotices(
      [polecat({ verdict: "dead", abandoned: true, spawnError: "boom", updatedAt: ago(60 * 60_000) })],
      NOW,
      GUPP,
    );
    assert.deepEqual(
      notices.map((n) => n.kind),
      ["CRASHED_POLECAT"],
    );
  });

  it("a live agent is never orphaned, even if held; each polecat mails its own rig's witness", () => {
    const notices = workNotices(
      [
        polecat({ abandoned: true }),
        polecat({
          rig: "other",
          identity: "other/polecats/nux",
          name: "nux",
          verdict: "dead",
          abandoned: true,
          generation: "g3",
        }),
        polecat({ rig: "third", identity: "third/polecats/x", name: "x", updatedAt: ago(2 * GUPP) }),
      ],
      NOW,
      GUPP,
    );
    assert.deepEqual(
      notices.map((n) => [n.kind, n.to]),
      [
        ["ORPHANED_WORK", "other/witness"],
        ["GUPP_VIOLATION", "third/witness"],
      ],
    );
  });
});

describe("workNotices: without polecats", () => {
  it("nothing to check, nothing mailed", () => {
    assert.deepEqual(workNotices([], NOW, GUPP), []);
  });
});
