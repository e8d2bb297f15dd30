import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import {
  createSupervisedTown,
  isAlive,
  tempDir,
  type PaneRow,
  type SupervisedTown,
} from "../../helpers/supervised-town.js";
import {
  eventRows,
  generationOf,
  insertMail,
  mailRows,
  rawLogLines,
  requestRows,
  until,
  withTownDb,
} from "./_helpers.js";

/**
 * Lifecycle mail the daemon must NOT act on, put straight into daemon/town.db (bypassing the CLI's checks, as
 * any tool with the file could): a 7-hour-old request is deleted unexecuted (B70); malformed bodies, unknown
 * actions, unknown or hostile senders are rejected with a reply (B68, B75); shell metacharacters anywhere in a
 * message run nothing; mail outside the `lifecycle:` gate stays untouched (B62) and read mail is skipped (B61).
 * Through all of it the daemon stays healthy and still carries out valid requests.
 */

const HOUR = 60 * 60 * 1000;

describe("stale, malformed and hostile lifecycle mail", { timeout: 90_000 }, () => {
  let town: SupervisedTown;
  let trap: { dir: string; cleanup(): void };
  let daemonPid: number;
  let panesBefore: PaneRow[];

  before(async () => {
    trap = tempDir("/tmp/lc-trap-");
    town = await createSupervisedTown({ rigs: ["r1"] });
    daemonPid = await town.start();
    await town.waitFor(
      (s) => s.agents.filter((a) => a.state === "running").length === 3,
      30_000,
      "deacon, witness and refinery to be running",
    );
    panesBefore = await town.panes();
  });
  after(async () => {
    await town.cleanup();
    trap.cleanup();
  });

  /** Wakes the daemon until none of `ids` is in the Deacon's mailbox any more. */
  async function untilHandled(ids: readonly string[], timeoutMs = 10_000): Promise<void> {
    await until(
      `the daemon to handle ${ids.length} message(s)`,
      () => {
        town.signal("SIGUSR1");
        const left = new Set(mailRows(town, "deacon").map((m) => m.id));
        return ids.every((id) => !left.has(id));
      },
      timeoutMs,
      () => JSON.stringify(mailRows(town, "deacon"), null, 1),
      100,
    );
  }

  async function assertNoAgentTouched(): Promise<void> {
    for (const pane of panesBefore) {
      assert.equal(
        await generationOf(town, pane.session),
        pane.generation,
        `${pane.session} keeps its generation`,
      );
    }
    for (const agent of town.snapshot().agents)
      assert.equal(agent.restarts, 0, `${agent.identity} was not restarted`);
  }

  it("B70: a 7-hour-old LIFECYCLE mail is deleted unexecuted, with a lifecycle_stale event", async () => {
    const id = insertMail(town, {
      from: "r1/witness",
      subject: "LIFECYCLE: r1/witness requesting cycle",
      body: '{"action":"cycle"}',
      createdAt: new Date(Date.now() - 7 * HOUR),
    });
    await untilHandled([id]);
    const stale = eventRows(town, "lifecycle_stale");
    assert.equal(stale.length, 1);
    assert.deepEqual(JSON.parse(stale[0]?.data ?? "{}"), { message: id, from: "r1/witness" });
    assert.match(stale[0]?.reason ?? "", /older than 6h0m0s \(age 7h0m0s\)/);
    assert.deepEqual(requestRows(town), [], "never claimed, never executed");
    assert.deepEqual(mailRows(town, "r1/witness"), [], "no reply for a stale request");
    await town.forcePasses(town.snapshot().daemon.heartbeat_count + 2, 10_000);
    await assertNoAgentTouched();
    assert.ok(
      town.log().some((r) => r.msg.startsWith(`Ignoring stale lifecycle request ${id} from "r1/witness"`)),
      "the log says so",
    );
  });

  it("B62/B61: mail outside the lifecycle: gate, and read lifecycle mail, stay in the inbox untouched", async () => {
    const noColon = insertMail(town, {
      from: "r1/witness",
      subject: "lifecycle without colon",
      body: "cycle",
    });
    const other = insertMail(town, {
      from: "r1/witness",
      subject: "Something else: requesting cycle",
      body: "cycle",
    });
    const read = insertMail(town, {
      from: "r1/witness",
      subject: "LIFECYCLE: cycle",
      body: "cycle",
      read: true,
    });
    const sent = await town.townd([
      "mail",
      "send",
      "deacon/",
      "-s",
      "hello deacon",
      "-m",
      "cycle",
      "--from",
      "r1/witness",
    ]);
    assert.equal(sent.code, 0, sent.stderr);
    const heartbeats = town.snapshot().daemon.heartbeat_count;
    await town.forcePasses(heartbeats + 4, 10_000);
    const inbox = mailRows(town, "deacon");
    assert.deepEqual(
      inbox.map((m) => [
        m.id === noColon || m.id === other || m.id === read || m.subject === "hello deacon",
        m.read,
      ]),
      [
        [true, 0],
        [true, 0],
        [true, 1],
        [true, 0],
      ],
      "all four are still there, the unread ones still unread",
    );
    const ids = new Set([noColon, other, read]);
    assert.ok(
      eventRows(town).every(
        (e) => !ids.has(String((JSON.parse(e.data) as Record<string, unknown>)["message"])),
      ),
      "no event about them",
    );
    assert.deepEqual(requestRows(town), []);
    await assertNoAgentTouched();
    // Out of the way of the next tests.
    withTownDb(town, (db) => db.prepare("DELETE FROM mail WHERE to_id = 'deacon'").run());
  });

  it("B68/B75: malformed, unknown and injection-laden requests are rejected harmlessly, with a reply to the sender", async () => {
    const d = trap.dir;
    const requests: { from: string; subject?: string; body: string; why: RegExp }[] = [
      { from: "r1/witness", body: '{"action":', why: /unparseable body/ },
      { from: "r1/witness", body: "please cycle me", why: /unparseable body/ },
      { from: "r1/refinery", body: '{"action":"explode"}', why: /unknown lifecycle action "explode"/ },
      { from: "r9/witness", body: "cycle", why: /r9\/witness is not an agent this daemon supervises/ },
      { from: "stranger", body: "cycle", why: /unknown agent identity/ },
      // Hostile senders: quotes, ;, $(), backticks, newlines, ../
      { from: `"; touch ${d}/from-quote; "`, body: "cycle", why: /unknown agent identity/ },
      { from: `r1/witness; touch ${d}/from-semicolon`, body: "cycle", why: /unknown agent identity/ },
      { from: `$(touch ${d}/from-subst)`, body: "restart", why: /unknown agent identity/ },
      { from: `\`touch ${d}/from-backtick\``, body: "restart", why: /unknown agent identity/ },
      { from: `r1/witness\n$(touch ${d}/from-newline)`, body: "cycle", why: /unknown agent identity/ },
      { from: "../../r1/witness", body: "shutdown", why: /unknown agent identity/ },
      { from: "r1/polecats/../../../tmp", body: "cycle", why: /unknown agent identity/ },
      // Hostile bodies from a real agent: never an action, never run.
      { from: "r1/witness", body: `cycle; touch ${d}/body-semicolon`, why: /unparseable body/ },
      { from: "r1/witness", body: `$(touch ${d}/body-subst)`, why: /unparseable body/ },
      { from: "r1/witness", body: `\`touch ${d}/body-backtick\``, why: /unparseable body/ },
      {
        from: "r1/witness",
        body: `{"action":"cycle$(touch ${d}/json-subst)"}`,
        why: /unknown lifecycle action/,
      },
      {
        from: "r1/witness",
        body: `{"action":"restart\\n; touch ${d}/json-newline"}`,
        why: /unknown lifecycle action/,
      },
      // Hostile subjects on top of hostile senders.
      {
        from: `'$(touch ${d}/subject-from)'`,
        subject: `LIFECYCLE: $(touch ${d}/subject-subst); \`touch ${d}/subject-bt\` "'\n../../etc`,
        body: "cycle",
        why: /unknown agent identity/,
      },
    ];
    const ids = requests.map((r) =>
      insertMail(town, {
        from: r.from,
        subject: r.subject ?? `LIFECYCLE: ${r.from} requesting something`,
        body: r.body,
      }),
    );
    await untilHandled(ids);
    await town.forcePasses(town.snapshot().daemon.heartbeat_count + 2, 10_000);

    // Nothing executed, nothing run.
    assert.deepEqual(requestRows(town), [], "no request was claimed");
    await assertNoAgentTouched();
    assert.deepEqual(readdirSync(trap.dir), [], "no payload created a file");
    assert.ok(isAlive(daemonPid), "the daemon is alive");
    assert.equal(town.daemonPid(), daemonPid, "and the same process");

    // Each one rejected, with an event and a reply to its sender (to the sender's text as it was).
    const rejected = eventRows(town, "lifecycle_rejected").map(
      (e) => JSON.parse(e.data) as Record<string, unknown>,
    );
    assert.deepEqual(rejected.map((e) => e["message"]).sort(), [...ids].sort());
    const replies = mailRows(town).filter((m) => m.from_id === "daemon" && m.type === "reply");
    for (const [i, request] of requests.entries()) {
      const id = ids[i] ?? "";
      const reply = replies.find((m) => m.body.startsWith(`Your lifecycle request ${id} was not executed: `));
      assert.ok(reply, `a reply about ${id} (from ${JSON.stringify(request.from)})`);
      assert.equal(reply.to_id, request.from, "addressed to the sender");
      assert.match(reply.subject, /^LIFECYCLE REJECTED: /);
      assert.match(reply.body, request.why);
    }

    // A sender that is a plain string reads its reply with the CLI.
    for (const who of ["stranger", "r9/witness"]) {
      const inbox = await town.townd(["mail", "inbox", "--identity", who, "--json"]);
      assert.equal(inbox.code, 0, inbox.stderr);
      const messages = JSON.parse(inbox.stdout) as { from: string; subject: string; body: string }[];
      assert.equal(messages.length, 1, `${who} has its reply`);
      assert.equal(messages[0]?.from, "daemon");
      assert.match(messages[0].body, /was not executed/);
    }

    // The log stayed one JSON record per line: no hostile newline forged a line.
    for (const line of rawLogLines(town)) {
      assert.doesNotThrow(() => JSON.parse(line), `a log line that is not JSON: ${line}`);
    }
    const notes = town.log().filter((r) => r.msg.startsWith("Rejected lifecycle request "));
    assert.equal(notes.length, requests.length);
  });

  it(
    "B61/§7.5: a lifecycle request someone only looked at with `townd mail read` is still carried out",
    {},
    async () => {
      const sent = await town.townd([
        "mail",
        "send",
        "deacon",
        "-s",
        "LIFECYCLE: r1/refinery requesting cycle",
        "-m",
        "cycle",
        "--from",
        "r1/refinery",
      ]);
      assert.equal(sent.code, 0, sent.stderr);
      const id = /(msg-[0-9a-z]+)/.exec(sent.stdout)?.[1] ?? "";
      const looked = await town.townd(["mail", "read", id]);
      assert.equal(looked.code, 0, looked.stderr);
      try {
        await untilHandled([id], 3000);
        assert.equal(
          (
            await until(
              "the request to be done",
              () => requestRows(town).find((r) => r.id === id && r.status === "done"),
              5000,
            )
          ).identity,
          "r1/refinery",
        );
      } finally {
        // Leave nothing behind for the next test, whatever happened.
        withTownDb(town, (db) => db.prepare("DELETE FROM mail WHERE id = ?").run(id));
        await until(
          "the request (if any) to finish",
          () => requestRows(town).every((r) => r.status !== "claimed"),
          10_000,
        );
        panesBefore = await town.panes();
      }
    },
  );

  it("B71: the daemon is still healthy: valid requests run once, subject text is ignored, an unparseable timestamp is fresh", async () => {
    const d = trap.dir;
    const manualBefore = (identity: string): number => town.agent(town.snapshot(), identity).restarts_manual;
    const refineryRestarts = manualBefore("r1/refinery");
    const witnessRestarts = manualBefore("r1/witness");
    const refineryBefore = await generationOf(town, "gt-r1-refinery");
    const witnessBefore = await generationOf(town, "gt-r1-witness");
    const refinery = insertMail(town, {
      from: "r1/refinery",
      subject: `LIFECYCLE: $(touch ${d}/valid-subst); \`touch ${d}/valid-bt\`; rm -rf ~ "'`,
      body: "cycle",
    });
    const witness = insertMail(town, {
      from: "r1-witness",
      subject: "LIFECYCLE: r1-witness requesting restart",
      body: "action: restart",
      createdAt: "not a time",
    });
    await untilHandled([refinery, witness]);
    const rows = await until(
      "both requests to be done",
      () => {
        const done = requestRows(town).filter(
          (r) => (r.id === refinery || r.id === witness) && r.status === "done",
        );
        return done.length === 2 ? done : undefined;
      },
      10_000,
      () => JSON.stringify(requestRows(town)),
    );
    assert.deepEqual(
      rows.map((r) => [r.id, r.identity, r.action]).sort(),
      [
        [refinery, "r1/refinery", "cycle"],
        [witness, "r1/witness", "restart"],
      ].sort(),
    );
    assert.notEqual(await generationOf(town, "gt-r1-refinery"), refineryBefore);
    assert.notEqual(await generationOf(town, "gt-r1-witness"), witnessBefore);
    const status = await town.waitFor(
      (s) =>
        town.agent(s, "r1/refinery").restarts_manual === refineryRestarts + 1 &&
        town.agent(s, "r1/witness").restarts_manual === witnessRestarts + 1,
      5000,
      "one manual restart each",
    );
    assert.equal(town.agent(status, "deacon").restarts, 0);
    assert.deepEqual(readdirSync(trap.dir), [], "the subject's payload ran nothing");
    assert.equal(town.daemonPid(), daemonPid);
    const shown = await town.status();
    assert.equal(shown.daemon.running, true);
  });
});
