import assert from "node:assert/strict";
import { closeSync, openSync, writeFileSync, writeSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { createSupervisedTown, type CliRun, type SupervisedTown } from "../../helpers/supervised-town.js";
import { sleep, storeFile, withTownDb } from "./_helpers.js";

/**
 * The mail commands end to end with the built CLI (no daemon needed): `townd mail send|inbox|read|delete`,
 * the reference's JSON message shape (§7.1, B58), identity spellings naming one mailbox, and one-line errors.
 */

/** The reference's BeadsMessage fields, exactly, in order. */
const KEYS = ["id", "from", "to", "subject", "body", "timestamp", "read", "priority", "type"];

interface MessageJson {
  id: string;
  from: string;
  to: string;
  subject: string;
  body: string;
  timestamp: string;
  read: boolean;
  priority: string;
  type: string;
}

function assertOneLineError(run: CliRun, pattern: RegExp): void {
  assert.equal(run.code, 1, `exit 1 (got ${run.code}): ${run.stderr}`);
  assert.equal(run.stdout, "", "nothing on stdout");
  const lines = run.stderr.split("\n").filter((l) => l !== "");
  assert.equal(lines.length, 1, `one line on stderr: ${JSON.stringify(run.stderr)}`);
  assert.match(lines[0] ?? "", /^townd: /);
  assert.match(lines[0] ?? "", pattern);
}

describe("townd mail", { timeout: 60_000 }, () => {
  let town: SupervisedTown;

  before(async () => {
    town = await createSupervisedTown({ rigs: ["r1"] });
  });
  after(async () => {
    await town.cleanup();
  });

  const inbox = async (identity: string, ...flags: string[]): Promise<MessageJson[]> => {
    const run = await town.townd(["mail", "inbox", "--identity", identity, "--json", ...flags]);
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout) as MessageJson[];
  };
  const send = async (to: string, subject: string, body: string, ...flags: string[]): Promise<string> => {
    const run = await town.townd(["mail", "send", to, "-s", subject, "-m", body, ...flags]);
    assert.equal(run.code, 0, run.stderr);
    const id = /^✓ Sent (msg-[0-9a-z]+) to (\S+)$/m.exec(run.stdout)?.[1];
    assert.ok(id !== undefined, run.stdout);
    return id;
  };

  it("B58: send, then inbox --json in exactly the reference's shape {id, from, to, subject, body, timestamp, read, priority, type}", async () => {
    const body = `{"action":"cycle"}\nline 2 with "quotes", $(not run), \`nor this\`; ü 🚀`;
    const sentAt = Date.now();
    const id = await send("deacon", "LIFECYCLE: r1/witness requesting cycle", body, "--from", "r1-witness");
    const messages = await inbox("deacon");
    assert.equal(messages.length, 1);
    const [m] = messages;
    assert.ok(m !== undefined);
    assert.deepEqual(Object.keys(m), KEYS);
    assert.deepEqual(m, {
      id,
      from: "r1/witness",
      to: "deacon",
      subject: "LIFECYCLE: r1/witness requesting cycle",
      body,
      timestamp: m.timestamp,
      read: false,
      priority: "normal",
      type: "message",
    });
    assert.match(m.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, "RFC 3339 UTC");
    assert.ok(Math.abs(Date.parse(m.timestamp) - sentAt) < 10_000);
  });

  it("`deacon/` and `deacon` (and hyphen/path agent forms) are the same mailbox", async () => {
    const viaSlash = await send("deacon/", "to deacon/", "x");
    const a = await inbox("deacon");
    const b = await inbox("deacon/");
    assert.deepEqual(a, b);
    assert.ok(a.some((m) => m.id === viaSlash && m.to === "deacon"));

    const w1 = await send("r1-witness", "hyphen", "x");
    const w2 = await send("r1/witness/", "path", "x");
    const hyphen = await inbox("r1-witness");
    const path = await inbox("r1/witness");
    assert.deepEqual(hyphen, path);
    assert.deepEqual(
      path.map((m) => m.id),
      [w1, w2],
    );
    assert.ok(path.every((m) => m.to === "r1/witness"));
    // A plain name is its own mailbox, kept as written.
    const op = await send("operator", "to the operator", "x");
    assert.deepEqual(
      (await inbox("operator")).map((m) => m.id),
      [op],
    );
  });

  it("the sender defaults to $TOWND_IDENTITY, then $BD_ACTOR, then operator", async () => {
    const env = (extra: Record<string, string>): NodeJS.ProcessEnv => {
      const base: NodeJS.ProcessEnv = { ...process.env, SUPERVISED_TOWN: town.root, ...extra };
      if (!("TOWND_IDENTITY" in extra)) delete base["TOWND_IDENTITY"];
      if (!("BD_ACTOR" in extra)) delete base["BD_ACTOR"];
      return base;
    };
    for (const [extra, expected] of [
      [{ TOWND_IDENTITY: "r1/refinery", BD_ACTOR: "mayor" }, "r1/refinery"],
      [{ BD_ACTOR: "r1-polecat-toast" }, "r1/polecats/toast"],
      [{}, "operator"],
    ] as const) {
      const run = await town.townd(["mail", "send", "sender-box", "-s", expected, "-m", "x"], {
        env: env(extra),
      });
      assert.equal(run.code, 0, run.stderr);
    }
    assert.deepEqual(
      (await inbox("sender-box")).map((m) => [m.subject, m.from]),
      [
        ["r1/refinery", "r1/refinery"],
        ["r1/polecats/toast", "r1/polecats/toast"],
        ["operator", "operator"],
      ],
    );
  });

  it("inbox is oldest first; read leaves it unread (§7.5), mark-read marks it and --unread leaves it out; delete removes it", async () => {
    const ids: string[] = [];
    for (const n of [1, 2, 3]) {
      ids.push(await send("order-box", `#${n}`, `body ${n}`));
      await sleep(5);
    }
    assert.deepEqual(
      (await inbox("order-box")).map((m) => m.subject),
      ["#1", "#2", "#3"],
    );

    const read = await town.townd(["mail", "read", ids[1] ?? ""]);
    assert.equal(read.code, 0, read.stderr);
    assert.match(read.stdout, /^From: operator\nTo: order-box\nDate: \S+\nSubject: #2\n\nbody 2\n$/);
    const readJson = await town.townd(["mail", "read", ids[1] ?? "", "--json"]);
    assert.equal(readJson.code, 0, readJson.stderr);
    const shown = JSON.parse(readJson.stdout) as MessageJson;
    assert.equal(shown.read, false, "mail read does not mark read, as the reference's gt mail read");
    const marked = await town.townd(["mail", "mark-read", ids[1] ?? ""]);
    assert.equal(marked.code, 0, marked.stderr);
    assert.equal(marked.stdout.trim(), `✓ Marked ${ids[1] ?? ""} read`);
    assert.deepEqual(Object.keys(shown), KEYS);

    assert.deepEqual(
      (await inbox("order-box", "--unread")).map((m) => m.subject),
      ["#1", "#3"],
    );
    assert.deepEqual(
      (await inbox("order-box")).map((m) => [m.subject, m.read]),
      [
        ["#1", false],
        ["#2", true],
        ["#3", false],
      ],
    );

    const table = await town.townd(["mail", "inbox", "--identity", "order-box"]);
    assert.equal(table.code, 0, table.stderr);
    const rows = table.stdout.split("\n").filter((l) => l.startsWith("msg-"));
    assert.equal(rows.length, 3);
    assert.match(rows[0] ?? "", /●/, "unread is marked");
    assert.doesNotMatch(rows[1] ?? "", /●/);

    const deleted = await town.townd(["mail", "delete", ids[0] ?? ""]);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(deleted.stdout.trim(), `✓ Deleted ${ids[0] ?? ""}`);
    assert.deepEqual(
      (await inbox("order-box")).map((m) => m.subject),
      ["#2", "#3"],
    );
    const empty = await town.townd(["mail", "inbox", "--identity", "nobody-here"]);
    assert.equal(empty.stdout.trim(), "No messages.");
    assert.deepEqual(await inbox("nobody-here"), []);
  });

  it("errors are one line with exit 1: unknown id, bad address", async () => {
    assertOneLineError(
      await town.townd(["mail", "read", "msg-doesnotexist"]),
      /No message "msg-doesnotexist"/,
    );
    assertOneLineError(
      await town.townd(["mail", "delete", "msg-doesnotexist"]),
      /No message "msg-doesnotexist"/,
    );
    const id = await send("delete-twice", "x", "y");
    assert.equal((await town.townd(["mail", "delete", id])).code, 0);
    assertOneLineError(await town.townd(["mail", "delete", id]), new RegExp(`No message "${id}"`));

    for (const bad of [
      "bad address!",
      "$(touch /tmp/x)",
      "`id`",
      "a;b",
      "x\ny",
      "../etc/passwd",
      "",
      " deacon",
    ]) {
      assertOneLineError(
        await town.townd(["mail", "send", bad, "-s", "s", "-m", "m"]),
        /Invalid recipient ".*": expected an agent identity or a plain name/,
      );
    }
    assertOneLineError(
      await town.townd(["mail", "send", "deacon", "-s", "s", "-m", "m", "--from", '"; rm -rf ~']),
      /Invalid --from/,
    );
    assertOneLineError(
      await town.townd(["mail", "inbox", "--identity", "r1/polecats/../x"]),
      /Invalid --identity/,
    );
    // Nothing was stored by the failed sends.
    const stored = withTownDb(town, (db) =>
      db.prepare("SELECT COUNT(*) AS n FROM mail WHERE subject = 's'").get(),
    ) as {
      n: number;
    };
    assert.equal(stored.n, 0);
  });

  it("a town.db that is not a database: one line naming the file, exit 1", async () => {
    const file = storeFile(town);
    const saved = withTownDb(town, (db) => db.serialize());
    try {
      for (const suffix of ["-wal", "-shm"]) writeFileSync(`${file}${suffix}`, "");
      writeFileSync(file, Buffer.from("this is not a database\n".repeat(100)));
      assertOneLineError(
        await town.townd(["mail", "inbox", "--identity", "deacon"]),
        new RegExp(`Cannot open the town store ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: .*corrupt`),
      );
    } finally {
      writeFileSync(file, saved);
    }
    assert.ok((await inbox("deacon")).length > 0, "restored");
  });

  it(
    "a town.db with damaged pages: still one line naming the file, exit 1 (not an internal error)",
    {},
    async () => {
      const file = storeFile(town);
      const saved = withTownDb(town, (db) => {
        for (let i = 0; i < 300; i++) {
          db.prepare(
            "INSERT INTO mail (id, from_id, to_id, subject, body, created_at) VALUES (?, 'a', 'filler', 's', ?, ?)",
          ).run(`msg-fill${i}`, "x".repeat(200), new Date().toISOString());
        }
        db.pragma("wal_checkpoint(TRUNCATE)");
        return db.serialize();
      });
      try {
        const fd = openSync(file, "r+");
        try {
          writeSync(fd, Buffer.alloc(3 * 4096, 0x41), 0, 3 * 4096, 4096);
        } finally {
          closeSync(fd);
        }
        assertOneLineError(
          await town.townd(["mail", "inbox", "--identity", "deacon"]),
          /town store .*corrupt/,
        );
      } finally {
        for (const suffix of ["-wal", "-shm"]) writeFileSync(`${file}${suffix}`, "");
        writeFileSync(file, saved);
      }
    },
  );
});
