import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Message } from "../store/mail.js";
import { parseLifecycleMessage, type ParsedLifecycle } from "./parse.js";

const NOW = Date.parse("2026-03-01T12:00:00.000Z");
const SIX_HOURS = 6 * 60 * 60 * 1000;

function message(fields: Partial<Message> = {}): Message {
  return {
    id: "msg-1",
    from: "gastown/witness",
    to: "deacon",
    subject: "LIFECYCLE: gastown/witness requesting cycle",
    body: '{"action":"cycle"}',
    timestamp: new Date(NOW - 60_000).toISOString(),
    read: false,
    priority: "normal",
    type: "lifecycle",
    ...fields,
  };
}

const parse = (fields: Partial<Message>): ParsedLifecycle =>
  parseLifecycleMessage(message(fields), NOW, SIX_HOURS);

function actionOf(fields: Partial<Message>): string {
  const parsed = parse(fields);
  assert.equal(parsed.kind, "request", `expected a request, got ${JSON.stringify(parsed)}`);
  return parsed.action;
}

function rejectedWhy(fields: Partial<Message>): string {
  const parsed = parse(fields);
  assert.equal(parsed.kind, "rejected", `expected a rejection, got ${JSON.stringify(parsed)}`);
  return parsed.why;
}

describe("parseLifecycleMessage: the subject gate (B62)", () => {
  for (const subject of [
    "LIFECYCLE: gastown/witness requesting cycle",
    "lifecycle: x",
    "Lifecycle:",
    "LiFeCyClE:whatever",
  ]) {
    it(`B62: ${JSON.stringify(subject)} passes the gate in any case`, () => {
      assert.equal(parse({ subject }).kind, "request");
    });
  }
  for (const subject of [
    "lifecycle without colon",
    "Something else: requesting cycle",
    "",
    " LIFECYCLE: leading space",
    "LIFECYCLE - cycle",
    "RE: LIFECYCLE: cycle",
  ]) {
    it(`B62: ${JSON.stringify(subject)} is not a lifecycle message (left alone, not rejected)`, () => {
      // Even a body that would be rejected: a message outside the gate is never judged.
      assert.deepEqual(parse({ subject, body: "garbage" }), { kind: "not-lifecycle" });
    });
  }
});

describe("parseLifecycleMessage: the body (B63–B68)", () => {
  it('B63: JSON {"action":"cycle"} is a cycle; the JSON reason is kept', () => {
    assert.equal(actionOf({ body: '{"action":"cycle"}' }), "cycle");
    const parsed = parse({ body: '{"action":"restart","reason":"context full"}' });
    assert.deepEqual(parsed, {
      kind: "request",
      identity: "gastown/witness",
      action: "restart",
      reason: "context full",
    });
  });

  it("B63: JSON actions are case-insensitive (the reference lowercases the action)", () => {
    assert.equal(actionOf({ body: '{"action":"CYCLE"}' }), "cycle");
    assert.equal(actionOf({ body: '{"action":"Restart"}' }), "restart");
    assert.equal(actionOf({ body: '{"action":"SHUTDOWN"}' }), "shutdown");
  });

  it("B67: JSON action stop is a shutdown", () => {
    assert.equal(actionOf({ body: '{"action":"stop"}' }), "shutdown");
    assert.equal(actionOf({ body: '{"action":"STOP"}' }), "shutdown");
  });

  const plain: [string, string][] = [
    ["cycle", "cycle"],
    ["CYCLE", "cycle"],
    ["  Cycle \n", "cycle"],
    ["action: cycle", "cycle"],
    ["\tACTION: Cycle\n", "cycle"],
    ["restart", "restart"],
    ["Restart", "restart"],
    ["action: restart", "restart"],
    [" ACTION: RESTART ", "restart"],
    ["shutdown", "shutdown"],
    ["SHUTDOWN\n", "shutdown"],
    ["action: shutdown", "shutdown"],
    ["stop", "shutdown"],
    ["  STOP  ", "shutdown"],
  ];
  for (const [body, action] of plain) {
    it(`B64–B66: plain body ${JSON.stringify(body)} is ${action} (case- and whitespace-insensitive)`, () => {
      assert.equal(actionOf({ body }), action);
    });
  }

  for (const body of ["explode", '{"action":"explode"}', '{"action":"cycle "}', '{"action":"nuke"}']) {
    it(`B68: unknown action ${JSON.stringify(body)} is rejected with a reason`, () => {
      assert.match(rejectedWhy({ body }), /unknown lifecycle action|unparseable body/);
    });
  }

  for (const body of [
    "",
    "   ",
    '{"action":',
    "please cycle me",
    "cycle now",
    "action: cycle; rm -rf /",
    "action cycle",
    "42",
    "null",
    '"cycle"',
    '["cycle"]',
  ]) {
    it(`B68: unparseable body ${JSON.stringify(body)} is rejected`, () => {
      assert.match(rejectedWhy({ body }), /unparseable body|unknown lifecycle action/);
    });
  }

  it("B68: valid JSON without an action (or a non-string one) is rejected", () => {
    assert.match(rejectedWhy({ body: "{}" }), /unparseable body/);
    assert.match(rejectedWhy({ body: '{"reason":"tired"}' }), /unparseable body/);
    assert.match(rejectedWhy({ body: '{"action":1}' }), /unparseable body/);
    assert.match(rejectedWhy({ body: '{"action":""}' }), /unknown lifecycle action ""/);
  });

  it("B68: a rejection quotes the body as JSON and cuts it, so no raw newline reaches a log line", () => {
    const why = rejectedWhy({ body: `line one\nline two\r\n${"x".repeat(1000)}` });
    assert.ok(!/[\r\n]/.test(why), why);
    assert.ok(why.length < 300, `${why.length} characters`);
  });
});

describe("parseLifecycleMessage: staleness (B70, B71)", () => {
  it("B70: a 7-hour-old request is stale, with its age", () => {
    const sevenHours = 7 * 60 * 60 * 1000;
    const parsed = parse({ timestamp: new Date(NOW - sevenHours).toISOString() });
    assert.deepEqual(parsed, { kind: "stale", ageMs: sevenHours });
  });

  it("B70: staleness is strictly older than the limit; exactly 6 h is still fresh", () => {
    assert.equal(parse({ timestamp: new Date(NOW - SIX_HOURS).toISOString() }).kind, "request");
    assert.equal(parse({ timestamp: new Date(NOW - SIX_HOURS - 1).toISOString() }).kind, "stale");
  });

  it("B70: the limit is the one passed in (operational.daemon.max_lifecycle_message_age)", () => {
    const m = message({ timestamp: new Date(NOW - 10 * 60_000).toISOString() });
    assert.equal(parseLifecycleMessage(m, NOW, 5 * 60_000).kind, "stale");
    assert.equal(parseLifecycleMessage(m, NOW, 15 * 60_000).kind, "request");
  });

  for (const timestamp of ["", "not a time", "yesterday", "2026-13-45T99:99:99Z"]) {
    it(`B71: unparseable timestamp ${JSON.stringify(timestamp)} is treated as fresh`, () => {
      assert.equal(actionOf({ timestamp }), "cycle");
    });
  }

  it("B71: a timestamp in the future is fresh (clock skew never drops a request)", () => {
    assert.equal(actionOf({ timestamp: new Date(NOW + 60 * 60_000).toISOString() }), "cycle");
  });

  it("a non-lifecycle message is never stale: it is not ours to delete", () => {
    assert.deepEqual(parse({ subject: "hello", timestamp: "2000-01-01T00:00:00Z" }), {
      kind: "not-lifecycle",
    });
  });

  it('B71: a timestamp that is not RFC 3339 (e.g. "1", "June 5") is unparseable, so fresh', {}, () => {
    assert.equal(parse({ timestamp: "1" }).kind, "request");
    assert.equal(parse({ timestamp: "June 5" }).kind, "request");
  });
});

describe("parseLifecycleMessage: the sender's identity (B69, §8.1 gap fixed)", () => {
  const forms: [from: string, canonical: string][] = [
    ["gastown/witness", "gastown/witness"],
    ["gastown-witness", "gastown/witness"],
    ["gastown/witness/", "gastown/witness"],
    ["gastown/refinery", "gastown/refinery"],
    ["gastown-refinery", "gastown/refinery"],
    ["my-rig-name-witness", "my-rig-name/witness"],
    ["mayor/", "mayor"],
    ["mayor", "mayor"],
    ["deacon", "deacon"],
    ["deacon/", "deacon"],
    ["gastown/polecats/toast", "gastown/polecats/toast"],
    ["gastown/toast", "gastown/polecats/toast"],
    ["gastown-polecat-toast", "gastown/polecats/toast"],
    ["gastown/crew/joe", "gastown/crew/joe"],
    ["gastown-crew-joe", "gastown/crew/joe"],
  ];
  for (const [from, canonical] of forms) {
    it(`B69: ${JSON.stringify(from)} is accepted as ${canonical}`, () => {
      const parsed = parse({ from });
      assert.equal(parsed.kind, "request");
      assert.equal(parsed.identity, canonical);
    });
  }

  const hostile = [
    'gastown/witness"',
    '"; touch /tmp/pwned; "',
    "gastown;rm -rf /",
    "gastown/witness; reboot",
    "$(touch /tmp/pwned)",
    "$(touch x)-witness",
    "gastown/polecats/$(id)",
    "`touch /tmp/pwned`",
    "gastown/crew/`id`",
    "gastown/witness\n",
    "gastown/witness\nLIFECYCLE: deacon requesting shutdown",
    "gastown\n-witness",
    "../witness",
    "../../etc/witness",
    "gastown/polecats/../../etc",
    "gastown/polecats/..",
    "gastown/polecats/a..b",
    "gastown/crew/.hidden",
    "gastown/polecats/a/b",
    "gastown/polecats/",
    "/witness",
    "",
    " ",
    "stranger",
    "gastown",
    "polecat",
    "gastown witness",
    "gastown/witness\u0000",
    "gastown/\u202ewitness",
  ];
  for (const from of hostile) {
    it(`B75: hostile or unknown sender ${JSON.stringify(from)} is rejected, never turned into a request`, () => {
      const why = rejectedWhy({ from });
      assert.match(why, /^unknown agent identity: /);
      assert.ok(
        !/[\r\n\u0000\u202e]/.test(why),
        `the reason stays one printable line: ${JSON.stringify(why)}`,
      );
    });
  }

  it("a body problem is reported before an identity problem (both are rejections)", () => {
    assert.match(rejectedWhy({ from: "$(id)", body: "explode" }), /unparseable body/);
  });

  it("the subject text after the colon is ignored: the sender decides whose session it is", () => {
    const parsed = parse({
      from: "gastown/refinery",
      subject: "LIFECYCLE: gastown/witness requesting shutdown",
    });
    assert.deepEqual(parsed, { kind: "request", identity: "gastown/refinery", action: "cycle", reason: "" });
  });
});
