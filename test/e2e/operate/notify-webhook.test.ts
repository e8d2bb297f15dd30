import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { createSupervisedTown, type Json, type SupervisedTown } from "../../helpers/supervised-town.js";
import { sleep, until } from "./_helpers.js";

/**
 * operational.daemon.notify_webhook on a real town under the built daemon, against a real HTTP server on
 * 127.0.0.1 that the test answers by hand. The Deacon crashes the moment it starts, so each episode
 * (`townd reset deacon` starts the next) raises one crash_loop alert. The first delivery is held open by
 * the server while the daemon's passes go on; then it fails, its retry fails, and the next retry lands.
 * A delivery still open when the daemon stops is aborted, and the stop does not wait for it.
 */

interface Held {
  readonly body: string;
  readonly res: ServerResponse;
  closedEarly: boolean;
}

describe("notify_webhook on a running town", { timeout: 90_000 }, () => {
  let town: SupervisedTown;
  let server: Server;
  const requests: Held[] = [];
  /** Requests the server answers at once with this status; the others are held for the test to answer. */
  const answerNow = new Map<number, number>();

  before(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const held: Held = { body: Buffer.concat(chunks).toString("utf8"), res, closedEarly: false };
        const n = requests.push(held) - 1;
        res.on("close", () => {
          if (!res.writableEnded) held.closedEarly = true;
        });
        const status = answerNow.get(n);
        if (status !== undefined) res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    town = await createSupervisedTown({
      patrols: { mayor: { enabled: true } },
      settings: (s, h) => {
        s["agents"] = { ...(s["agents"] as Json), crashy: h.simRuntime(["--crash-after", "0s"]) };
        s["role_agents"] = { deacon: "crashy" };
        s["operational"] = {
          daemon: {
            death_poll_interval: "250ms",
            restart: {
              initial_backoff: "200ms",
              max_backoff: "200ms",
              multiplier: 1,
              crash_loop_count: 2,
              crash_loop_window: "1m",
              crash_loop_retry: "1h",
            },
            notify_webhook: {
              url: `http://127.0.0.1:${port}/townd`,
              kinds: ["crash_loop"],
              timeout: "60s",
              retries: 3,
              retry_backoff: "300ms",
            },
          },
        };
      },
    });
    await town.start();
  });
  after(async () => {
    await town.cleanup();
    for (const held of requests) held.res.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("the crash_loop alert is POSTed as JSON; passes go on while the webhook has not answered", async () => {
    await until("the first delivery", () => requests[0], 20_000);
    const alert = JSON.parse(requests[0]?.body ?? "") as Json;
    assert.deepEqual(Object.keys(alert), ["type", "ts", "message", "agents", "town"]);
    assert.equal(alert["type"], "crash_loop");
    assert.deepEqual(alert["agents"], ["deacon"]);
    assert.equal(alert["town"], town.root);
    // The server holds the request open: the daemon's passes must not wait for it.
    const count = town.snapshot().daemon.heartbeat_count;
    await town.forcePasses(count + 3, 15_000);
    assert.equal(requests.length, 1, "still the one delivery, unanswered");
    assert.equal(requests[0]?.res.writableEnded, false);
  });

  it("a failing webhook is retried with backoff until it takes the alert, then left alone", async () => {
    answerNow.set(1, 500);
    answerNow.set(2, 200);
    requests[0]?.res.writeHead(503).end();
    await until("the third attempt", () => requests[2], 15_000);
    await town.waitForLog(
      (r) => r.msg === "notify_webhook: crash_loop delivered at attempt 3 of 4",
      10_000,
      "the delivery logged",
    );
    assert.deepEqual(
      town
        .log()
        .filter((r) => r.msg.startsWith("notify_webhook: crash_loop, attempt"))
        .map((r) => r.msg),
      [
        "notify_webhook: crash_loop, attempt 1 of 4 failed: HTTP 503",
        "notify_webhook: crash_loop, attempt 2 of 4 failed: HTTP 500",
      ],
    );
    for (const held of requests) assert.equal(held.body, requests[0]?.body, "the same alert each time");
    await sleep(1000);
    assert.equal(
      requests.length,
      3,
      "nothing more once delivered, nor while the agent sits in its crash loop",
    );
  });

  it("a delivery still open when the daemon stops is aborted; the stop does not wait for it", async () => {
    const reset = await town.townd(["reset", "deacon"]);
    assert.equal(reset.code, 0, reset.stderr);
    const held = await until("the next episode's delivery", () => requests[3], 20_000);
    const stop = await town.townd(["stop", "--timeout", "30s"]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stdout, /^✓ Daemon stopped/, "stopped by SIGTERM, not killed after the timeout");
    await until("the open request closed by the daemon", () => held.closedEarly, 5000);
    assert.ok(town.log().some((r) => r.msg === "Aborted 1 notify_webhook delivery(ies) still under way"));
  });
});
