import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, describe, it } from "node:test";
import { z } from "zod";
import type { Logger } from "../daemon/logger.js";
import { notifyWebhookSchema, webhookSettings, type WebhookSettings } from "../town/notify-webhook.js";
import { describeIssues } from "../util/json-file.js";
import { waitFor } from "../util/sleep.js";
import { WebhookNotifier } from "./webhook.js";
import { slackEscape, webhookRequest } from "./webhook-shapes.js";

/**
 * operational.daemon.notify_webhook: the settings, the three body shapes (pure), and delivery against a real
 * HTTP server on 127.0.0.1 that fails, refuses or hangs on command.
 */

const EVENT = {
  type: "crash_loop",
  ts: "2026-01-01T00:00:00.000Z",
  message: "r1/witness is in a crash loop",
  agents: ["r1/witness"],
  town: "/home/ann/gt",
};

function settings(file: unknown): WebhookSettings {
  const parsed = notifyWebhookSchema.parse(file);
  const result = webhookSettings(parsed);
  assert.ok(result !== null);
  return result;
}

function problem(file: unknown): string {
  const result = z.object({ notify_webhook: notifyWebhookSchema }).safeParse({ notify_webhook: file });
  assert.ok(!result.success, "refused");
  return describeIssues(result.error);
}

describe("notify_webhook settings", () => {
  it("a URL alone means townd's JSON, every alert kind, 10 s per attempt and 3 retries from 2 s", () => {
    assert.deepEqual(settings("https://hooks.example.com/x"), {
      url: "https://hooks.example.com/x",
      format: "json",
      kinds: null,
      headers: {},
      timeoutMs: 10_000,
      retries: 3,
      retryBackoffMs: 2_000,
    });
  });

  it("the object form sets the shape, the kinds, headers and the retry policy", () => {
    const s = settings({
      url: "http://127.0.0.1:9/hook",
      format: "slack",
      kinds: ["crash_loop", "usage_limit"],
      headers: { Authorization: "Bearer t" },
      timeout: "3s",
      retries: 0,
      retry_backoff: "250ms",
    });
    assert.equal(s.format, "slack");
    assert.deepEqual([...(s.kinds ?? [])], ["crash_loop", "usage_limit"]);
    assert.deepEqual(s.headers, { Authorization: "Bearer t" });
    assert.equal(s.timeoutMs, 3000);
    assert.equal(s.retries, 0);
    assert.equal(s.retryBackoffMs, 250);
  });

  it("bad values are refused naming the field", () => {
    assert.equal(
      problem("file:///etc/passwd"),
      'field "notify_webhook.url": must be an http:// or https:// URL',
    );
    assert.equal(
      problem({ url: "https://ntfy.sh/", format: "ntfy" }),
      'field "notify_webhook.url": ntfy needs the topic as the URL\'s path, e.g. https://ntfy.sh/my-topic',
    );
    assert.equal(
      problem({ url: "https://x.example", headers: { "X-A": "a\r\nX-Injected: 1" } }),
      'field "notify_webhook.headers.X-A": must be one line',
    );
    assert.match(problem({ url: "https://x.example", retries: 99 }), /^field "notify_webhook.retries": /);
    assert.match(problem({ url: "https://x.example", format: "teams" }), /^field "notify_webhook.format": /);
  });
});

describe("webhook bodies", () => {
  it("json: the alert as notify_command gets it on stdin", () => {
    const request = webhookRequest(settings("https://x.example/h"), EVENT);
    assert.equal(request.url, "https://x.example/h");
    assert.deepEqual(JSON.parse(request.body), EVENT);
    assert.equal(request.headers["content-type"], "application/json");
  });

  it("slack: {text}, with what agents wrote unable to mention a channel or make a link", () => {
    const request = webhookRequest(
      settings({ url: "https://hooks.slack.com/services/T/B/X", format: "slack" }),
      {
        ...EVENT,
        type: "needs_human",
        message: "deacon: dialog <!channel> & <https://evil.example|click>",
      },
    );
    assert.deepEqual(JSON.parse(request.body), {
      text: "[townd gt] needs_human: deacon: dialog &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;",
    });
    assert.equal(slackEscape("a<b>&c"), "a&lt;b&gt;&amp;c");
  });

  it("ntfy: JSON to the server's root naming the topic; an episode's end at default priority", () => {
    const ntfy = settings({
      url: "https://ntfy.example/town-alerts",
      format: "ntfy",
      headers: { Authorization: "Bearer t" },
    });
    const start = webhookRequest(ntfy, { ...EVENT, type: "usage_limit", message: "3 agents walled" });
    assert.equal(start.url, "https://ntfy.example/");
    assert.deepEqual(JSON.parse(start.body), {
      topic: "town-alerts",
      title: "townd gt: usage_limit",
      message: "3 agents walled",
      priority: 4,
      tags: ["warning"],
    });
    assert.equal(start.headers["Authorization"], "Bearer t");
    const lifted = JSON.parse(webhookRequest(ntfy, { ...EVENT, type: "usage_limit_lifted" }).body) as Record<
      string,
      unknown
    >;
    assert.equal(lifted["priority"], 3);
    assert.deepEqual(lifted["tags"], ["white_check_mark"]);
  });

  it("a long message is cut for Slack and ntfy", () => {
    const long = { ...EVENT, message: "x".repeat(10_000) };
    const text = (
      JSON.parse(webhookRequest(settings({ url: "https://x.example", format: "slack" }), long).body) as {
        text: string;
      }
    ).text;
    assert.ok(text.length <= 3500 && text.endsWith("…"));
  });
});

/** A real HTTP server whose answer to each request the test decides. */
interface Hook {
  readonly url: string;
  readonly bodies: string[];
  /** Requests whose connection closed before they were answered (aborted by the client). */
  aborted: number;
  /** How to answer the n-th request (0-based): a status, or "hang" to never answer. */
  answer: (n: number) => number | "hang";
}

describe("webhook delivery (a real local HTTP server)", () => {
  let server: Server;
  let hook: Hook;
  const open = new Set<ServerResponse>();
  const lines: string[] = [];
  const log = {
    info: (m: string) => lines.push(`info ${m}`),
    warn: (m: string) => lines.push(`warn ${m}`),
    error: (m: string) => lines.push(`error ${m}`),
  } as unknown as Logger;

  before(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const n = hook.bodies.length;
        hook.bodies.push(Buffer.concat(chunks).toString("utf8"));
        const answer = hook.answer(n);
        if (answer === "hang") {
          open.add(res);
          res.on("close", () => {
            if (!res.writableEnded) hook.aborted += 1;
            open.delete(res);
          });
          return;
        }
        res.writeHead(answer, { "content-type": "text/plain" }).end("ok");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  });
  after(async () => {
    for (const res of open) res.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    const { port } = server.address() as AddressInfo;
    hook = { url: `http://127.0.0.1:${port}/hook`, bodies: [], aborted: 0, answer: () => 200 };
    lines.length = 0;
  });

  const fast = (extra: Record<string, unknown> = {}): WebhookSettings =>
    settings({ url: hook.url, retry_backoff: "20ms", timeout: "2s", ...extra });

  async function settled(notifier: WebhookNotifier): Promise<void> {
    const done = await waitFor(() => (notifier.pending === 0 ? true : undefined), { timeoutMs: 10_000 });
    assert.equal(done, true, "deliveries end");
  }

  it("a webhook failing twice with 500 is delivered at the third attempt", async () => {
    hook.answer = (n) => (n < 2 ? 500 : 200);
    const notifier = new WebhookNotifier();
    notifier.send(fast(), EVENT, log);
    await settled(notifier);
    assert.equal(hook.bodies.length, 3);
    assert.deepEqual(JSON.parse(hook.bodies[2] ?? ""), EVENT);
    assert.deepEqual(lines, [
      "warn notify_webhook: crash_loop, attempt 1 of 4 failed: HTTP 500",
      "warn notify_webhook: crash_loop, attempt 2 of 4 failed: HTTP 500",
      "info notify_webhook: crash_loop delivered at attempt 3 of 4",
    ]);
  });

  it("retries are bounded: always 503 with retries 2 makes exactly 3 attempts, then one error", async () => {
    hook.answer = () => 503;
    const notifier = new WebhookNotifier();
    notifier.send(fast({ retries: 2 }), EVENT, log);
    await settled(notifier);
    assert.equal(hook.bodies.length, 3);
    assert.equal(lines.at(-1), "error notify_webhook: crash_loop not delivered after 3 attempt(s): HTTP 503");
  });

  it("a 4xx other than 408/425/429 is not retried", async () => {
    hook.answer = () => 404;
    const notifier = new WebhookNotifier();
    notifier.send(fast(), EVENT, log);
    await settled(notifier);
    assert.equal(hook.bodies.length, 1);
    assert.deepEqual(lines, [
      "error notify_webhook: crash_loop refused with HTTP 404; not retried (check the URL and headers)",
    ]);
  });

  it("each attempt has its timeout: a server that never answers is given up on, and nothing waits for it", async () => {
    hook.answer = () => "hang";
    const notifier = new WebhookNotifier();
    notifier.send(fast({ timeout: "200ms", retries: 1 }), EVENT, log);
    // send() returned at once: nothing has reached the server yet.
    assert.equal(hook.bodies.length, 0);
    assert.equal(notifier.pending, 1);
    await settled(notifier);
    assert.equal(hook.bodies.length, 2);
    assert.equal(
      lines.at(-1),
      "error notify_webhook: crash_loop not delivered after 2 attempt(s): no answer within 200 ms",
    );
    await waitFor(() => (hook.aborted === 2 ? true : undefined), { timeoutMs: 5000 });
    assert.equal(hook.aborted, 2, "both connections were closed by the client");
  });

  it("a refused connection is retried like a 5xx", async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const notifier = new WebhookNotifier();
    const url = `http://127.0.0.1:${port}/hook`;
    notifier.send(settings({ url, retries: 1, retry_backoff: "10ms" }), EVENT, log);
    await settled(notifier);
    assert.match(
      lines.at(-1) ?? "",
      /^error notify_webhook: crash_loop not delivered after 2 attempt\(s\): fetch failed \(ECONNREFUSED\)$/,
    );
  });

  it("stop() aborts a delivery under way, its waits included; later alerts are not sent", async () => {
    hook.answer = () => "hang";
    const notifier = new WebhookNotifier();
    notifier.send(fast({ timeout: "60s" }), EVENT, log);
    await waitFor(() => (hook.bodies.length === 1 ? true : undefined), { timeoutMs: 5000 });
    assert.equal(await notifier.stop(), 1);
    assert.equal(notifier.pending, 0);
    await waitFor(() => (hook.aborted === 1 ? true : undefined), { timeoutMs: 5000 });
    assert.equal(hook.aborted, 1, "the open request was closed");
    notifier.send(fast(), EVENT, log);
    assert.equal(notifier.pending, 0);
    assert.deepEqual(lines, [], "an abort is not a failure to report");
  });

  it("kinds filters which alerts are sent; without it every kind goes, including new ones", async () => {
    const notifier = new WebhookNotifier();
    notifier.send(fast({ kinds: ["mass_death"] }), EVENT, log);
    assert.equal(notifier.pending, 0, "crash_loop is not among the kinds");
    notifier.send(fast(), { ...EVENT, type: "permission_wait" }, log);
    await settled(notifier);
    assert.equal((JSON.parse(hook.bodies[0] ?? "{}") as { type: string }).type, "permission_wait");
  });
});
