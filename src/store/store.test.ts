import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  closeSync as fsClose,
  chmodSync,
  mkdirSync,
  openSync as fsOpen,
  statSync,
  symlinkSync,
  writeFileSync,
  writeSync as fsWrite,
} from "node:fs";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { AppError } from "../errors.js";
import { makeTempDir } from "../../test/helpers/tmp.js";
import { getAgentWork, agentsWithHookedWork, setAgentState, setHook, touchAgent } from "./agents.js";
import { openDb, type Db } from "./db.js";
import { listEvents, recordEvent } from "./events.js";
import {
  claimRequest,
  dropRequestMail,
  finishRequest,
  firstNotice,
  settleLeftoverClaims,
  noteRequestGeneration,
  listRequests,
} from "./lifecycle.js";
import { deleteMail, getMail, inbox, markRead, sendMail, type Message } from "./mail.js";
import { MIGRATIONS } from "./migrations.js";

/** The reference's BeadsMessage fields (§7.1), in its order. */
const MESSAGE_KEYS = ["id", "from", "to", "subject", "body", "timestamp", "read", "priority", "type"];

const at = (iso: string): Date => new Date(iso);

describe("the town store (real SQLite in a temp dir)", () => {
  let tmp: { dir: string; cleanup: () => void };
  let file: string;
  let db: Db;

  before(() => {
    tmp = makeTempDir("store-");
  });
  after(() => {
    tmp.cleanup();
  });
  beforeEach(() => {
    file = join(tmp.dir, `town-${randomBytes(4).toString("hex")}.db`);
    db = openDb(file);
  });
  const closeAfter = (): void => {
    db.close();
  };

  describe("openDb", () => {
    it("applies every migration and records it in user_version; WAL is on", () => {
      assert.equal(db.pragma("user_version", { simple: true }), MIGRATIONS.length);
      assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
      const tables = (
        db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
          name: string;
        }[]
      ).map((t) => t.name);
      for (const table of ["agents", "events", "lifecycle_requests", "mail", "notices"]) {
        assert.ok(tables.includes(table), `table ${table} exists (${tables.join(", ")})`);
      }
      closeAfter();
    });

    it("opening again applies nothing twice and keeps the data", () => {
      sendMail(db, { from: "a", to: "b", subject: "s", body: "b" });
      db.close();
      db = openDb(file);
      assert.equal(db.pragma("user_version", { simple: true }), MIGRATIONS.length);
      assert.equal(inbox(db, "b").length, 1);
      closeAfter();
    });

    it("refuses a store written by a newer townd, naming the file", () => {
      db.pragma(`user_version = ${MIGRATIONS.length + 5}`);
      db.close();
      assert.throws(
        () => openDb(file),
        (error: unknown) =>
          error instanceof AppError &&
          error.code === "E_STORE" &&
          error.message.includes(file) &&
          /newer than this townd knows/.test(error.message),
      );
    });

    for (const [what, bytes] of [
      ["random bytes", randomBytes(8192)],
      ["text", Buffer.from("this is not a database\n".repeat(300))],
      ["a short file", Buffer.from("garbage")],
    ] as const) {
      it(`a corrupt town.db (${what}) throws an AppError naming the file and saying corrupt`, () => {
        db.close();
        const corrupt = join(tmp.dir, `corrupt-${randomBytes(4).toString("hex")}`, "town.db");
        makeDirFor(corrupt);
        writeFileSync(corrupt, bytes);
        assert.throws(
          () => openDb(corrupt),
          (error: unknown) => {
            assert.ok(error instanceof AppError, `an AppError, got ${String(error)}`);
            assert.equal(error.code, "E_STORE");
            assert.ok(error.message.includes(corrupt), error.message);
            assert.match(error.message, /corrupt/);
            assert.ok(!error.message.includes("\n"), "one line");
            return true;
          },
        );
      });
    }

    it("a town.db with a valid header but damaged pages is reported corrupt when opened", {}, () => {
      for (let i = 0; i < 300; i++)
        sendMail(db, { from: "a", to: "deacon", subject: `s${i}`, body: "x".repeat(200) });
      db.pragma("wal_checkpoint(TRUNCATE)");
      db.close();
      const fd = fsOpen(file, "r+");
      try {
        fsWrite(fd, Buffer.alloc(3 * 4096, 0x41), 0, 3 * 4096, 4096);
      } finally {
        fsClose(fd);
      }
      let opened: Db | undefined;
      try {
        assert.throws(
          () => (opened = openDb(file)),
          (error: unknown) =>
            error instanceof AppError && error.message.includes(file) && /corrupt/.test(error.message),
        );
      } finally {
        opened?.close();
      }
    });

    it("a new store and its -wal and -shm files are owner-only (0600); a 0644 one is narrowed (issue 14 item 2)", () => {
      const dir = join(tmp.dir, "modes");
      mkdirSync(dir);
      const fresh = join(dir, "town.db");
      const opened = openDb(fresh);
      opened.prepare("CREATE TABLE IF NOT EXISTS t (x)").run();
      for (const path of [fresh, `${fresh}-wal`, `${fresh}-shm`])
        assert.equal(statSync(path).mode & 0o777, 0o600, path);
      opened.close();
      const old = join(dir, "old.db");
      new Database(old).close();
      chmodSync(old, 0o644);
      openDb(old).close();
      assert.equal(statSync(old).mode & 0o777, 0o600);
    });

    it("a symlinked store is refused with one line, and its target is left alone (issue 14 item 17)", () => {
      const dir = join(tmp.dir, "link");
      mkdirSync(dir);
      const target = join(dir, "elsewhere.db");
      writeFileSync(target, "");
      chmodSync(target, 0o644);
      const link = join(dir, "town.db");
      symlinkSync(target, link);
      assert.throws(() => openDb(link), {
        message: `Cannot open the town store ${link}: ${link} is a symbolic link, which townd does not follow`,
      });
      assert.equal(statSync(target).mode & 0o777, 0o644);
      assert.equal(statSync(target).size, 0);
    });

    it("a missing directory is reported as such, naming the file", () => {
      db.close();
      const missing = join(tmp.dir, "no", "such", "dir", "town.db");
      assert.throws(
        () => openDb(missing),
        (error: unknown) =>
          error instanceof AppError &&
          error.message.includes(missing) &&
          /directory does not exist|cannot be opened/.test(error.message),
      );
    });
  });

  describe("mail", () => {
    it("round trip in the reference's message shape (§7.1)", () => {
      const now = at("2026-03-01T10:00:00.123Z");
      const sent = sendMail(
        db,
        { from: "gastown/witness", to: "deacon", subject: "LIFECYCLE: x", body: "{}" },
        now,
      );
      assert.deepEqual(Object.keys(sent), MESSAGE_KEYS);
      assert.match(sent.id, /^msg-[a-z0-9]+$/);
      const expected: Message = {
        id: sent.id,
        from: "gastown/witness",
        to: "deacon",
        subject: "LIFECYCLE: x",
        body: "{}",
        timestamp: "2026-03-01T10:00:00.123Z",
        read: false,
        priority: "normal",
        type: "message",
      };
      assert.deepEqual(sent, expected);
      assert.deepEqual(getMail(db, sent.id), expected);
      assert.deepEqual(inbox(db, "deacon"), [expected]);
      assert.deepEqual(Object.keys(inbox(db, "deacon")[0] ?? {}), MESSAGE_KEYS);
      assert.ok(markRead(db, sent.id));
      assert.equal(getMail(db, sent.id)?.read, true);
      assert.ok(deleteMail(db, sent.id));
      assert.equal(getMail(db, sent.id), undefined);
      assert.equal(deleteMail(db, sent.id), false, "deleting twice reports nothing deleted");
      assert.equal(markRead(db, "msg-nope"), false);
      closeAfter();
    });

    it("keeps any text verbatim: quotes, newlines, $(), backticks, unicode", () => {
      const nasty = `'; DROP TABLE mail; -- "$(touch x)" \`id\`\n\u0000 ü 🚀`;
      const sent = sendMail(db, { from: nasty, to: "deacon", subject: nasty, body: nasty, type: nasty });
      assert.deepEqual(getMail(db, sent.id), sent);
      assert.equal(inbox(db, "deacon")[0]?.body, nasty);
      closeAfter();
    });

    it("an inbox is oldest first and per recipient; --unread leaves read ones out", () => {
      const third = sendMail(
        db,
        { from: "x", to: "deacon", subject: "3", body: "" },
        at("2026-03-01T10:00:03Z"),
      );
      const first = sendMail(
        db,
        { from: "x", to: "deacon", subject: "1", body: "" },
        at("2026-03-01T10:00:01Z"),
      );
      sendMail(db, { from: "x", to: "mayor", subject: "other", body: "" }, at("2026-03-01T10:00:00Z"));
      const second = sendMail(
        db,
        { from: "x", to: "deacon", subject: "2", body: "" },
        at("2026-03-01T10:00:02Z"),
      );
      assert.deepEqual(
        inbox(db, "deacon").map((m) => m.subject),
        ["1", "2", "3"],
      );
      markRead(db, second.id);
      assert.deepEqual(
        inbox(db, "deacon", { unreadOnly: true }).map((m) => m.id),
        [first.id, third.id],
      );
      assert.equal(inbox(db, "deacon").length, 3, "read mail stays in the inbox");
      assert.deepEqual(inbox(db, "nobody"), []);
      closeAfter();
    });

    it("messages sent in the same millisecond keep the order they were sent in (fixed: ORDER BY created_at, rowid)", () => {
      const now = at("2026-03-01T10:00:00Z");
      const sent = Array.from({ length: 30 }, (_, i) =>
        sendMail(db, { from: "x", to: "deacon", subject: String(i), body: "" }, now),
      );
      assert.deepEqual(
        inbox(db, "deacon").map((m) => m.id),
        sent.map((m) => m.id),
      );
      closeAfter();
    });
  });

  describe("lifecycle requests", () => {
    const request = { identity: "gastown/witness", action: "cycle" };

    it("B72: claimRequest records the row and removes the mail; a second claim gets false", () => {
      const mail = sendMail(db, {
        from: "gastown-witness",
        to: "deacon",
        subject: "LIFECYCLE: c",
        body: "cycle",
      });
      const now = at("2026-03-01T10:00:00Z");
      assert.equal(claimRequest(db, mail, request, now), true);
      assert.equal(getMail(db, mail.id), undefined, "the mail is gone");
      assert.deepEqual(listRequests(db), [
        {
          id: mail.id,
          identity: "gastown/witness",
          action: "cycle",
          requested_by: "gastown-witness",
          status: "claimed",
          claimed_at: now.toISOString(),
          finished_at: null,
          detail: "",
          to_generation: null,
        },
      ]);
      assert.equal(claimRequest(db, mail, request, now), false, "at most once");
      // Even when the same message shows up again (another reader re-sent it), it is not claimed again.
      db.prepare(
        "INSERT INTO mail (id, from_id, to_id, subject, body, created_at) VALUES (?, ?, 'deacon', ?, ?, ?)",
      ).run(mail.id, mail.from, mail.subject, mail.body, mail.timestamp);
      assert.equal(claimRequest(db, mail, request, now), false);
      assert.equal(listRequests(db).length, 1);
      closeAfter();
    });

    it("the claim is atomic: when removing the mail fails, no row is recorded either", () => {
      const mail = sendMail(db, {
        from: "gastown/witness",
        to: "deacon",
        subject: "LIFECYCLE: c",
        body: "cycle",
      });
      db.exec(
        "CREATE TEMP TRIGGER refuse_delete BEFORE DELETE ON mail BEGIN SELECT RAISE(ABORT, 'disk on fire'); END",
      );
      assert.throws(() => claimRequest(db, mail, request, new Date()), /disk on fire/);
      assert.deepEqual(listRequests(db), [], "no claimed row without the mail removed");
      assert.ok(getMail(db, mail.id), "the mail is still there");
      db.exec("DROP TRIGGER refuse_delete");
      assert.equal(claimRequest(db, mail, request, new Date()), true);
      assert.equal(getMail(db, mail.id), undefined);
      assert.equal(listRequests(db).length, 1);
      closeAfter();
    });

    it("the claim is atomic for other readers: they see mail-and-no-row or row-and-no-mail, never both or neither", () => {
      const reader = new Database(file, { readonly: true });
      try {
        const mail = sendMail(db, {
          from: "gastown/witness",
          to: "deacon",
          subject: "LIFECYCLE: c",
          body: "cycle",
        });
        const view = (): [boolean, boolean] => [
          reader.prepare("SELECT 1 FROM mail WHERE id = ?").get(mail.id) !== undefined,
          reader.prepare("SELECT 1 FROM lifecycle_requests WHERE id = ?").get(mail.id) !== undefined,
        ];
        assert.deepEqual(view(), [true, false]);
        // A read transaction open across the claim keeps its snapshot (WAL): still the "before" state.
        reader.exec("BEGIN");
        assert.deepEqual(view(), [true, false]);
        assert.equal(claimRequest(db, mail, request, new Date()), true);
        assert.deepEqual(view(), [true, false]);
        reader.exec("COMMIT");
        assert.deepEqual(view(), [false, true]);
      } finally {
        reader.close();
        closeAfter();
      }
    });

    it("B74: finishRequest records done/failed once; a finished or interrupted request is never re-finished", () => {
      const a = sendMail(db, { from: "r/witness", to: "deacon", subject: "LIFECYCLE: a", body: "cycle" });
      const b = sendMail(db, { from: "r/refinery", to: "deacon", subject: "LIFECYCLE: b", body: "cycle" });
      claimRequest(db, a, request, at("2026-03-01T10:00:00Z"));
      claimRequest(db, b, { identity: "r/refinery", action: "restart" }, at("2026-03-01T10:00:00Z"));
      finishRequest(db, a.id, "done", "started generation g1", at("2026-03-01T10:00:01Z"));
      finishRequest(db, a.id, "failed", "too late", at("2026-03-01T10:00:02Z"));
      finishRequest(db, b.id, "failed", "tmux refused", at("2026-03-01T10:00:01Z"));
      const rows = new Map(listRequests(db).map((r) => [r.id, r]));
      assert.equal(rows.get(a.id)?.status, "done");
      assert.equal(rows.get(a.id)?.detail, "started generation g1");
      assert.equal(rows.get(a.id)?.finished_at, "2026-03-01T10:00:01.000Z");
      assert.equal(rows.get(b.id)?.status, "failed");
      assert.equal(rows.get(b.id)?.detail, "tmux refused");
      closeAfter();
    });

    it("settleLeftoverClaims marks unfinished claims interrupted, returns them once, and leaves finished ones", () => {
      const mails = ["a", "b", "c"].map((s) =>
        sendMail(db, { from: `r/polecats/${s}`, to: "deacon", subject: `LIFECYCLE: ${s}`, body: "cycle" }),
      );
      const [a, b, c] = mails as [Message, Message, Message];
      for (const m of mails)
        claimRequest(db, m, { identity: m.from, action: "restart" }, at("2026-03-01T10:00:00Z"));
      finishRequest(db, b.id, "done", "ok", at("2026-03-01T10:00:01Z"));
      const now = at("2026-03-01T11:00:00Z");
      const { interrupted, carriedOut } = settleLeftoverClaims(db, () => "g9", now);
      assert.deepEqual(
        carriedOut,
        [],
        "no generation recorded at the claim: nothing to compare, so not done",
      );
      assert.deepEqual(
        interrupted.map((r) => [r.id, r.status, r.requested_by]).sort(),
        [
          [a.id, "interrupted", "r/polecats/a"],
          [c.id, "interrupted", "r/polecats/c"],
        ].sort(),
      );
      const rows = new Map(listRequests(db).map((r) => [r.id, r]));
      for (const id of [a.id, c.id]) {
        assert.equal(rows.get(id)?.status, "interrupted");
        assert.equal(rows.get(id)?.finished_at, now.toISOString());
        assert.match(rows.get(id)?.detail ?? "", /between claim and execution/);
      }
      assert.equal(rows.get(b.id)?.status, "done");
      assert.deepEqual(
        settleLeftoverClaims(db, () => null, now),
        { interrupted: [], carriedOut: [] },
        "once",
      );
      // A late finish from a dead daemon cannot turn an interrupted request into a done one.
      finishRequest(db, a.id, "done", "late", now);
      assert.equal(listRequests(db).find((r) => r.id === a.id)?.status, "interrupted");
      closeAfter();
    });

    it("settleLeftoverClaims: a claim whose agent runs the generation started for it was carried out (I5)", () => {
      const send = (who: string, body: string): Message =>
        sendMail(db, { from: who, to: "deacon", subject: `LIFECYCLE: ${who} requesting ${body}`, body });
      const claimedAt = at("2026-03-01T10:00:00Z");
      const started = send("r1/witness", "restart");
      const replacedSince = send("r1/refinery", "cycle");
      const notYet = send("r2/witness", "cycle");
      const gone = send("r2/refinery", "restart");
      for (const [mail, action] of [
        [started, "restart"],
        [replacedSince, "cycle"],
        [notYet, "cycle"],
        [gone, "restart"],
      ] as const)
        claimRequest(db, mail, { identity: mail.from, action }, claimedAt);
      noteRequestGeneration(db, started.id, "g1");
      // Started for the request, then replaced by something else: the pane no longer proves anything.
      noteRequestGeneration(db, replacedSince.id, "g2");
      noteRequestGeneration(db, gone.id, "g4");
      const now = at("2026-03-01T10:00:05Z");
      const running: Record<string, string> = {
        "r1/witness": "g1",
        "r1/refinery": "g2b",
        "r2/witness": "g3",
      };
      const { interrupted, carriedOut } = settleLeftoverClaims(db, (id) => running[id] ?? null, now);
      assert.deepEqual(
        carriedOut.map((r) => r.id),
        [started.id],
      );
      assert.match(
        carriedOut[0]?.detail ?? "",
        /^carried out \(the agent runs generation g1, started for it\)/,
      );
      assert.deepEqual(interrupted.map((r) => r.id).sort(), [replacedSince.id, notYet.id, gone.id].sort());
      const rows = new Map(listRequests(db).map((r) => [r.id, r]));
      assert.equal(rows.get(started.id)?.status, "done");
      assert.equal(rows.get(started.id)?.to_generation, "g1");
      assert.equal(rows.get(notYet.id)?.to_generation, null, "never got as far as tmux");
      assert.equal(rows.get(gone.id)?.status, "interrupted", "no pane now: cannot tell, so interrupted");
      // Only a claimed row takes a generation.
      noteRequestGeneration(db, started.id, "g9");
      assert.equal(listRequests(db).find((r) => r.id === started.id)?.to_generation, "g1");
      closeAfter();
    });

    it("dropRequestMail removes the mail and replies to the sender, in one transaction", () => {
      const mail = sendMail(db, {
        from: "stranger",
        to: "deacon",
        subject: `LIFECYCLE: ${"x".repeat(230)}`,
        body: "explode",
      });
      const now = at("2026-03-01T10:00:00Z");
      dropRequestMail(db, mail, "unknown lifecycle action", "daemon", now);
      assert.equal(getMail(db, mail.id), undefined);
      const [reply, ...more] = inbox(db, "stranger");
      assert.equal(more.length, 0);
      assert.equal(reply?.from, "daemon");
      assert.equal(reply.type, "reply");
      assert.ok(reply.subject.startsWith("LIFECYCLE REJECTED: LIFECYCLE: xxx"));
      assert.ok(reply.subject.length <= "LIFECYCLE REJECTED: ".length + 120, "the subject is cut");
      assert.equal(
        reply.body,
        `Your lifecycle request ${mail.id} was not executed: unknown lifecycle action`,
      );

      const other = sendMail(db, { from: "stranger", to: "deacon", subject: "LIFECYCLE: y", body: "x" });
      db.exec(
        "CREATE TEMP TRIGGER refuse_insert BEFORE INSERT ON mail BEGIN SELECT RAISE(ABORT, 'full'); END",
      );
      assert.throws(() => {
        dropRequestMail(db, other, "why", "daemon", now);
      }, /full/);
      assert.ok(getMail(db, other.id), "no reply, no delete: the request is not lost silently");
      closeAfter();
    });

    it("firstNotice is true once per (agent, kind, episode)", () => {
      const now = new Date();
      assert.equal(firstNotice(db, "r/polecats/a", "GUPP_VIOLATION", "idle-since:t1", now), true);
      assert.equal(firstNotice(db, "r/polecats/a", "GUPP_VIOLATION", "idle-since:t1", now), false);
      assert.equal(firstNotice(db, "r/polecats/a", "GUPP_VIOLATION", "idle-since:t1", now), false);
      assert.equal(
        firstNotice(db, "r/polecats/a", "GUPP_VIOLATION", "idle-since:t2", now),
        true,
        "new episode",
      );
      assert.equal(
        firstNotice(db, "r/polecats/a", "ORPHANED_WORK", "idle-since:t1", now),
        true,
        "other kind",
      );
      assert.equal(
        firstNotice(db, "r/polecats/b", "GUPP_VIOLATION", "idle-since:t1", now),
        true,
        "other agent",
      );
      closeAfter();
    });
  });

  describe("agents and events", () => {
    it("hooks and states are kept apart, and every act moves updated_at", () => {
      setHook(db, "r/polecats/a", "gt-1", at("2026-03-01T10:00:00Z"));
      setAgentState(db, "r/polecats/a", "working", at("2026-03-01T10:01:00Z"));
      assert.deepEqual(getAgentWork(db, "r/polecats/a"), {
        identity: "r/polecats/a",
        hookedWork: "gt-1",
        state: "working",
        updatedAt: "2026-03-01T10:01:00.000Z",
      });
      touchAgent(db, "r/polecats/a", at("2026-03-01T10:02:00Z"));
      assert.equal(getAgentWork(db, "r/polecats/a")?.hookedWork, "gt-1");
      assert.equal(getAgentWork(db, "r/polecats/a")?.updatedAt, "2026-03-01T10:02:00.000Z");
      touchAgent(db, "r/polecats/b", at("2026-03-01T10:02:00Z"));
      assert.deepEqual(
        agentsWithHookedWork(db).map((a) => a.identity),
        ["r/polecats/a"],
      );
      setHook(db, "r/polecats/a", null);
      assert.equal(getAgentWork(db, "r/polecats/a")?.hookedWork, null);
      assert.equal(getAgentWork(db, "r/polecats/a")?.state, "working");
      assert.equal(getAgentWork(db, "nobody"), undefined);
      closeAfter();
    });

    it("events keep their data and filter by agent and id", () => {
      recordEvent(db, { type: "spawn_done", identity: "a", generation: "g1", reason: "no session" });
      recordEvent(db, { type: "lifecycle_stale", reason: "old", data: { message: "m1" } });
      recordEvent(db, { type: "respawn_done", identity: "a", generation: "g2" });
      const all = listEvents(db);
      assert.deepEqual(
        all.map((e) => e.type),
        ["spawn_done", "lifecycle_stale", "respawn_done"],
      );
      assert.deepEqual(all[1]?.data, { message: "m1" });
      assert.deepEqual(
        listEvents(db, { identity: "a" }).map((e) => e.generation),
        ["g1", "g2"],
      );
      assert.deepEqual(
        listEvents(db, { afterId: all[0]?.id ?? 0 }).map((e) => e.type),
        ["lifecycle_stale", "respawn_done"],
      );
      assert.deepEqual(
        listEvents(db, { limit: 1 }).map((e) => e.type),
        ["respawn_done"],
        "the limit keeps the newest",
      );
      closeAfter();
    });
  });

  describe("concurrent connections (WAL, busy timeout)", () => {
    it("several processes writing at once all succeed, nothing lost", async () => {
      closeAfter();
      const writers = 4;
      const each = 150;
      const results = await Promise.all(
        Array.from({ length: writers }, (_, w) =>
          runWriter(file, [
            `
            for (let i = 0; i < ${each}; i++) {
              sendMail(db, { from: "w${w}", to: "deacon", subject: "LIFECYCLE: " + i, body: "cycle" });
              if (i % 10 === 0) recordEvent(db, { type: "tick", identity: "w${w}" });
            }
          `,
          ]),
        ),
      );
      for (const result of results) assert.equal(result.code, 0, result.stderr);
      const check = openDb(file);
      try {
        assert.equal(inbox(check, "deacon").length, writers * each);
        assert.equal(listEvents(check).length, writers * (each / 10));
      } finally {
        check.close();
      }
    });

    it("a writer waits for another's long write transaction instead of failing (busy timeout)", async () => {
      closeAfter();
      const holder = runWriter(file, [
        `
        db.exec("BEGIN IMMEDIATE");
        sendMail(db, { from: "holder", to: "deacon", subject: "held", body: "" });
        process.stdout.write("locked\\n");
        const until = Date.now() + 800;
        while (Date.now() < until) { /* hold the write lock */ }
        db.exec("COMMIT");
      `,
      ]);
      await holder.locked;
      const started = Date.now();
      const waiter = await runWriter(file, [
        `sendMail(db, { from: "waiter", to: "deacon", subject: "after", body: "" });`,
      ]);
      const waited = Date.now() - started;
      const held = await holder;
      assert.equal(held.code, 0, held.stderr);
      assert.equal(waiter.code, 0, waiter.stderr);
      const check = openDb(file);
      try {
        assert.deepEqual(
          inbox(check, "deacon")
            .map((m) => m.from)
            .sort(),
          ["holder", "waiter"],
        );
      } finally {
        check.close();
      }
      assert.ok(waited < 5000, `waited ${waited} ms`);
    });

    it("two connections in one process interleave transactions without SQLITE_BUSY", () => {
      const other = openDb(file);
      try {
        for (let i = 0; i < 50; i++) {
          const mail = sendMail(db, {
            from: "r/witness",
            to: "deacon",
            subject: `LIFECYCLE: ${i}`,
            body: "cycle",
          });
          // The other connection claims what this one just wrote, while this one keeps writing.
          assert.equal(
            claimRequest(other, mail, { identity: "r/witness", action: "cycle" }, new Date()),
            true,
          );
          recordEvent(db, { type: "tick" });
        }
        assert.equal(listRequests(db).length, 50);
        assert.equal(inbox(other, "deacon").length, 0);
      } finally {
        other.close();
        closeAfter();
      }
    });
  });
});

function makeDirFor(file: string): void {
  mkdirSync(join(file, ".."), { recursive: true });
}

interface WriterRun extends Promise<{ code: number | null; stderr: string }> {
  /** Resolves when the writer printed "locked". */
  locked: Promise<void>;
}

const DB_MODULE = fileURLToPath(new URL("./db.ts", import.meta.url));
const MAIL_MODULE = fileURLToPath(new URL("./mail.ts", import.meta.url));
const EVENTS_MODULE = fileURLToPath(new URL("./events.ts", import.meta.url));

/** Runs `body` in a separate node process with `db` = openDb(file), as a separate CLI process would. */
function runWriter(file: string, [body]: [string]): WriterRun {
  const script = `
    import { openDb } from ${JSON.stringify(DB_MODULE)};
    import { sendMail } from ${JSON.stringify(MAIL_MODULE)};
    import { recordEvent } from ${JSON.stringify(EVENTS_MODULE)};
    const db = openDb(${JSON.stringify(file)});
    try { ${body} } finally { db.close(); }
  `;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  let stdout = "";
  let onLocked: () => void = () => undefined;
  const locked = new Promise<void>((resolve) => {
    onLocked = resolve;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    if (stdout.includes("locked")) onLocked();
  });
  const done = new Promise<{ code: number | null; stderr: string }>((resolve) => {
    child.on("close", (code) => {
      onLocked();
      resolve({ code, stderr });
    });
  }) as WriterRun;
  done.locked = locked;
  return done;
}
