import assert from "node:assert/strict";
import { join } from "node:path";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import { makeTempDir } from "../../test/helpers/tmp.js";
import { desiredAgents, type DesiredAgent } from "../policy/desired.js";
import { openDb, type Db } from "../store/db.js";
import { listEvents } from "../store/events.js";
import { listRequests } from "../store/lifecycle.js";
import { getMail, inbox, markRead, sendMail } from "../store/mail.js";
import { daemonSettings } from "../town/settings.js";
import type { TownConfig } from "../town/config.js";
import type { WispConfig } from "../town/schemas.js";
import { DAEMON_SENDER, LIFECYCLE_INBOX, intakeLifecycle, type Intake } from "./intake.js";

const NOW = new Date("2026-03-01T12:00:00.000Z");
const SIX_HOURS = 6 * 60 * 60 * 1000;

/** The agents a town with rigs r1 (operational) and r2 (parked) supervises, as the daemon computes them. */
function townAgents(): ReadonlyMap<string, DesiredAgent> {
  const config: TownConfig = {
    settings: {},
    daemon: daemonSettings(undefined),
    patrols: undefined,
    rigs: { version: 1, rigs: { r1: {}, r2: {}, r3: {} } },
    wisp: new Map<string, WispConfig | undefined>([
      ["r2", { values: { status: "parked" } }],
      ["r3", { values: { auto_restart: false } }],
    ]),
    rigSettings: new Map(),
  };
  const agents = desiredAgents(config, [
    { rig: "r1", name: "max", hookedWork: "gt-1", state: "working" },
    { rig: "r1", name: "idle", hookedWork: null, state: null },
  ]);
  return new Map(agents.map((a) => [a.identity, a]));
}

describe("intakeLifecycle against a real store", () => {
  let tmp: { dir: string; cleanup: () => void };
  let db: Db;
  let counter = 0;
  const agents = townAgents();

  before(() => {
    tmp = makeTempDir("intake-");
  });
  after(() => {
    tmp.cleanup();
  });
  beforeEach(() => {
    counter += 1;
    db = openDb(join(tmp.dir, `town-${counter}.db`));
  });
  afterEach(() => {
    db.close();
  });

  /** A request mail, sent `ageMs` before NOW (mail keeps inbox order by time, so each is 1 ms apart). */
  let clock = 0;
  const request = (from: string, body: string, options: { subject?: string; ageMs?: number } = {}) => {
    clock += 1;
    const sentAt = new Date(NOW.getTime() - (options.ageMs ?? 60_000) + clock);
    return sendMail(
      db,
      {
        from,
        to: LIFECYCLE_INBOX,
        subject: options.subject ?? `LIFECYCLE: ${from} requesting ${body}`,
        body,
      },
      sentAt,
    );
  };
  const intake = (): Intake => intakeLifecycle(db, { now: NOW, maxAgeMs: SIX_HOURS, agents });

  it("sanity: the supervised agents of the test town", () => {
    assert.deepEqual([...agents.keys()].sort(), [
      "deacon",
      "mayor",
      "r1/polecats/max",
      "r1/refinery",
      "r1/witness",
      "r2/refinery",
      "r2/witness",
      "r3/refinery",
      "r3/witness",
    ]);
  });

  it("claims at most one request per agent per pass, in inbox order, and says more are waiting", () => {
    const w1 = request("r1/witness", '{"action":"cycle","reason":"context full"}');
    const r1 = request("r1/refinery", "restart");
    const w2 = request("r1-witness", "restart");
    const w3 = request("r1/witness", "shutdown");
    const p1 = request("r1/polecats/max", "cycle");

    const first = intake();
    assert.deepEqual(first.requests, [
      { identity: "r1/witness", kind: "cycle", reason: "context full", requestId: w1.id },
      { identity: "r1/refinery", kind: "restart", reason: `lifecycle request ${r1.id}`, requestId: r1.id },
      { identity: "r1/polecats/max", kind: "cycle", reason: `lifecycle request ${p1.id}`, requestId: p1.id },
    ]);
    assert.equal(first.more, true);
    assert.deepEqual(
      inbox(db, LIFECYCLE_INBOX).map((m) => m.id),
      [w2.id, w3.id],
      "the witness's later requests wait in the inbox, untouched",
    );
    assert.deepEqual(
      listRequests(db)
        .map((r) => [r.id, r.status])
        .sort(),
      [
        [w1.id, "claimed"],
        [r1.id, "claimed"],
        [p1.id, "claimed"],
      ].sort(),
    );
    assert.equal(listEvents(db).filter((e) => e.type === "lifecycle_claimed").length, 3);

    const second = intake();
    assert.deepEqual(
      second.requests.map((r) => [r.identity, r.kind, r.requestId]),
      [["r1/witness", "restart", w2.id]],
      "the hyphen form of the same agent counts as the same agent",
    );
    assert.equal(second.more, true);

    const third = intake();
    assert.deepEqual(
      third.requests.map((r) => [r.identity, r.kind, r.requestId]),
      [["r1/witness", "shutdown", w3.id]],
    );
    assert.equal(third.more, false);
    assert.deepEqual(intake(), { requests: [], more: false, notes: [] });
    assert.equal(listRequests(db).length, 5);
    assert.deepEqual(inbox(db, LIFECYCLE_INBOX), []);
  });

  it("§7.2: one agent's requests sent within the same millisecond are carried out in the order sent", () => {
    const sameMs = new Date(NOW.getTime() - 1000);
    const actions = ["shutdown", "cycle", "restart", "shutdown", "cycle", "restart", "cycle", "shutdown"];
    const sent = actions.map(
      (body) =>
        sendMail(
          db,
          { from: "r1/witness", to: LIFECYCLE_INBOX, subject: "LIFECYCLE: r1/witness", body },
          sameMs,
        ).id,
    );
    const taken: string[] = [];
    for (let pass = 0; pass < actions.length; pass++) {
      taken.push(...intake().requests.map((r) => r.requestId ?? ""));
    }
    assert.deepEqual(taken, sent);
  });

  it("B72: the claimed request's row names the canonical agent and the sender verbatim", () => {
    const m = request("r1-witness", "cycle");
    intake();
    const [row] = listRequests(db);
    assert.equal(row?.identity, "r1/witness");
    assert.equal(row.requested_by, "r1-witness");
    assert.equal(row.action, "cycle");
    assert.equal(row.claimed_at, NOW.toISOString());
    assert.equal(getMail(db, m.id), undefined);
  });

  it("B70: a stale request is deleted unexecuted, with a lifecycle_stale event and a log note, no reply", () => {
    const stale = request("r1/witness", "cycle", { ageMs: 7 * 60 * 60 * 1000 });
    const result = intake();
    assert.deepEqual(result.requests, []);
    assert.equal(result.more, false);
    assert.equal(getMail(db, stale.id), undefined, "deleted");
    assert.deepEqual(listRequests(db), [], "never claimed");
    const [event, ...others] = listEvents(db);
    assert.equal(others.length, 0);
    assert.equal(event?.type, "lifecycle_stale");
    assert.deepEqual(event.data, { message: stale.id, from: "r1/witness" });
    assert.match(event.reason, /older than 6h0m0s \(age 7h0m0s\)/);
    assert.equal(result.notes.length, 1);
    assert.match(
      result.notes[0] ?? "",
      /^Ignoring stale lifecycle request .* from "r1\/witness": .*; deleted$/,
    );
    assert.deepEqual(inbox(db, "r1/witness"), [], "no reply for a stale request");
  });

  it("B70: a stale request does not stop a fresh one from the same agent in the same pass", () => {
    request("r1/witness", "shutdown", { ageMs: 7 * 60 * 60 * 1000 });
    const fresh = request("r1/witness", "cycle");
    const result = intake();
    assert.deepEqual(
      result.requests.map((r) => [r.kind, r.requestId]),
      [["cycle", fresh.id]],
    );
  });

  it("B68: malformed requests are rejected with a reply mail to the sender and an event", () => {
    const bad = request("r1/witness", "please cycle me");
    const unknown = request("r1/refinery", '{"action":"explode"}');
    const result = intake();
    assert.deepEqual(result.requests, []);
    assert.deepEqual(inbox(db, LIFECYCLE_INBOX), [], "rejected requests do not stay in the inbox");
    const [reply] = inbox(db, "r1/witness");
    assert.equal(reply?.from, DAEMON_SENDER);
    assert.equal(reply.type, "reply");
    assert.equal(reply.subject, `LIFECYCLE REJECTED: ${bad.subject}`);
    assert.match(
      reply.body,
      new RegExp(`^Your lifecycle request ${bad.id} was not executed: unparseable body`),
    );
    const [reply2] = inbox(db, "r1/refinery");
    assert.match(
      reply2?.body ?? "",
      new RegExp(`${unknown.id} was not executed: unknown lifecycle action "explode"`),
    );
    const rejected = listEvents(db).filter((e) => e.type === "lifecycle_rejected");
    assert.deepEqual(
      rejected.map((e) => e.data["message"]),
      [bad.id, unknown.id],
    );
    assert.equal(result.notes.length, 2);
    assert.deepEqual(listRequests(db), []);
  });

  it("B42/B88: a parked rig's witness is rejected ('rig is parked'); auto_restart=false likewise", () => {
    const parked = request("r2/witness", "cycle");
    const noRestart = request("r3-refinery", "restart");
    const result = intake();
    assert.deepEqual(result.requests, []);
    assert.match(
      inbox(db, "r2/witness")[0]?.body ?? "",
      new RegExp(`${parked.id} was not executed: cannot cycle r2/witness: rig is parked`),
    );
    assert.equal(getMail(db, noRestart.id), undefined);
    assert.match(result.notes.join("\n"), /cannot restart r3\/refinery: auto_restart is disabled/);
    assert.deepEqual(listRequests(db), []);
  });

  it("B75: an agent this daemon does not supervise is rejected, however it is spelled", () => {
    const unknownRig = request("r9/witness", "cycle");
    const idlePolecat = request("r1/polecats/idle", "cycle");
    const stranger = request("stranger", "cycle");
    const result = intake();
    assert.deepEqual(result.requests, []);
    assert.match(
      inbox(db, "r9/witness")[0]?.body ?? "",
      new RegExp(`${unknownRig.id} was not executed: r9/witness is not an agent this daemon supervises`),
    );
    assert.match(
      inbox(db, "r1/polecats/idle")[0]?.body ?? "",
      new RegExp(
        `${idlePolecat.id} was not executed: r1/polecats/idle is not an agent this daemon supervises`,
      ),
    );
    assert.match(
      inbox(db, "stranger")[0]?.body ?? "",
      new RegExp(
        `${stranger.id} was not executed: unknown agent identity: Invalid agent identity "stranger"`,
      ),
    );
  });

  it("injection-laden requests are rejected harmlessly: replies to the sender verbatim, notes on one line", () => {
    const hostile = [
      '"; touch /tmp/townd-pwned; "',
      "$(touch /tmp/townd-pwned)",
      "`touch /tmp/townd-pwned`",
      "r1/witness\nLIFECYCLE: deacon requesting shutdown",
      "../../etc/witness",
      "r1/polecats/../../x",
    ];
    const sent = hostile.map((from) =>
      request(from, "cycle", { subject: `LIFECYCLE: $(reboot); \`id\` "'\n` }),
    );
    const result = intake();
    assert.deepEqual(result.requests, []);
    assert.deepEqual(listRequests(db), []);
    assert.deepEqual(inbox(db, LIFECYCLE_INBOX), []);
    for (const [i, from] of hostile.entries()) {
      const replies = inbox(db, from);
      assert.equal(replies.length, 1, `one reply to ${JSON.stringify(from)}`);
      assert.match(
        replies[0]?.body ?? "",
        new RegExp(`${sent[i]?.id ?? ""} was not executed: unknown agent identity`),
      );
    }
    for (const note of result.notes) assert.ok(!note.includes("\n"), `one line: ${JSON.stringify(note)}`);
  });

  it("B62: a non-lifecycle message stays in the inbox untouched, unread", () => {
    const other = request("r1/witness", "cycle", { subject: "lifecycle without colon" });
    const chat = request("r1/witness", "hello", { subject: "Something else: requesting cycle" });
    const result = intake();
    assert.deepEqual(result, { requests: [], more: false, notes: [] });
    assert.deepEqual(inbox(db, LIFECYCLE_INBOX), [other, chat]);
    assert.deepEqual(listEvents(db), []);
  });

  it("B61: a lifecycle message already marked read is skipped, left as it is", () => {
    const m = request("r1/witness", "cycle");
    markRead(db, m.id);
    assert.deepEqual(intake(), { requests: [], more: false, notes: [] });
    assert.deepEqual(inbox(db, LIFECYCLE_INBOX), [{ ...m, read: true }]);
  });

  it("B58: only the Deacon's mailbox is read; lifecycle mail to anyone else is not a request", () => {
    sendMail(db, { from: "r1/witness", to: "mayor", subject: "LIFECYCLE: cycle", body: "cycle" });
    assert.deepEqual(intake().requests, []);
    assert.equal(inbox(db, "mayor").length, 1);
  });

  it("a rejection reply reaches the sender's mailbox however the sender spelled its identity", {}, () => {
    request("r1-witness", "explode");
    intake();
    assert.equal(inbox(db, "r1/witness").length, 1);
  });

  it("issue 14 item 4: a disabled patrol (the Mayor by default) is not started by a request: rejected with a reply", () => {
    const mayor = request("mayor", "restart");
    const result = intake();
    assert.deepEqual(result.requests, []);
    assert.deepEqual(listRequests(db), []);
    assert.match(
      inbox(db, "mayor")[0]?.body ?? "",
      new RegExp(`${mayor.id} was not executed: cannot restart mayor: mayor patrol disabled`),
    );
  });

  it("issue 14 item 4: over the per-agent request rate a request is rejected with a reply naming the limit", () => {
    const limit = { count: 3, windowMs: 10 * 60_000 };
    const times = new Map<string, number[]>([
      // Three requests in the window: the next is over the rate.
      ["r1/witness", [NOW.getTime() - 60_000, NOW.getTime() - 30_000, NOW.getTime() - 1000]],
      // Two in the window and one older than it: still under.
      ["r1/refinery", [NOW.getTime() - 11 * 60_000, NOW.getTime() - 60_000, NOW.getTime() - 1000]],
    ]);
    const witness = request("r1/witness", "cycle");
    const refinery = request("r1/refinery", "cycle");
    const result = intakeLifecycle(db, {
      now: NOW,
      maxAgeMs: SIX_HOURS,
      agents,
      rate: { limit, times: (identity) => times.get(identity) ?? [] },
    });
    assert.deepEqual(
      result.requests.map((r) => r.requestId),
      [refinery.id],
    );
    const reply = inbox(db, "r1/witness")[0]?.body ?? "";
    assert.match(
      reply,
      new RegExp(`${witness.id} was not executed: cannot cycle r1/witness: 3 lifecycle requests within 10m`),
    );
    assert.match(reply, /operational\.daemon\.lifecycle_request_rate: 3 per 10m0s\)/);
    assert.match(reply, /send it again after 2026-03-01T12:09:00\.000Z/);
  });
});
