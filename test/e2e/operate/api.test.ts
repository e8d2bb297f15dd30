import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import {
  createSupervisedTown,
  isAlive,
  type AgentStatusJson,
  type Json,
  type SupervisedTown,
} from "../../helpers/supervised-town.js";
import {
  api,
  assertDocumentedShape,
  assertEventShape,
  controlSocket,
  followEvents,
  ISO_TIME,
  readmeStatusExample,
  storeEvents,
  until,
} from "./_helpers.js";

/**
 * The control API (README "Control API"): HTTP with JSON on daemon/control.sock, spoken to directly the way
 * `curl --unix-socket` would, against the BUILT daemon supervising a real Deacon on a private tmux server.
 * Steps build on each other in order; the town is one daemon start for most of them, then a stop and a
 * restart at the end.
 */

const AGENT = "deacon";
const SESSION = "hq-deacon";

interface Decision {
  identity: string;
  verdict: string;
  action: string;
  reason: string;
}

interface SubmitAnswer {
  agent: string;
  kind: string;
  decisions: Decision[];
}

function assertDecisions(answer: unknown, kind: string): SubmitAnswer {
  const value = answer as SubmitAnswer;
  assert.deepEqual(Object.keys(value).sort(), ["agent", "decisions", "kind"], "keys of an operator answer");
  assert.equal(value.agent, AGENT);
  assert.equal(value.kind, kind);
  assert.ok(Array.isArray(value.decisions) && value.decisions.length > 0, "the answer holds decisions");
  for (const decision of value.decisions) {
    assert.equal(decision.identity, AGENT, "only decisions about the agent asked about");
    for (const key of ["verdict", "action", "reason"] as const) assert.equal(typeof decision[key], "string");
  }
  return value;
}

describe("the control API on daemon/control.sock", { timeout: 90_000 }, () => {
  let town: SupervisedTown;
  let daemonPid = 0;

  before(async () => {
    town = await createSupervisedTown();
    daemonPid = await town.start();
    await town.waitFor((s) => town.agent(s, AGENT).state === "running", 20_000, "the Deacon running");
  });
  after(async () => {
    await town.cleanup();
  });

  it("is a Unix socket only its owner can open (mode 0600) while the daemon runs", () => {
    const stat = statSync(controlSocket(town));
    assert.ok(stat.isSocket(), "daemon/control.sock is a socket");
    assert.equal((stat.mode & 0o777).toString(8), "600");
    assert.equal(stat.uid, process.getuid?.());
  });

  it("GET /v1/status answers the README's `townd status --json` document, from the daemon's memory", async () => {
    const answer = await api(town, "GET", "/v1/status");
    assert.equal(answer.status, 200);
    assert.match(String(answer.headers["content-type"]), /^application\/json/);
    const status = answer.json as Json;
    const example = readmeStatusExample();
    assert.deepEqual(Object.keys(status), Object.keys(example), "top-level keys, in the README's order");
    assertDocumentedShape(status, example, "status");
    assertDocumentedShape(status["daemon"] as Json, example["daemon"] as Json, "status.daemon");
    assert.deepEqual(
      Object.keys(status["daemon"] as Json).sort(),
      Object.keys(example["daemon"] as Json).sort(),
    );
    assert.deepEqual(Object.keys(status["tmux"] as Json), ["socket"]);
    const daemon = status["daemon"] as Json;
    assert.equal(daemon["running"], true);
    assert.equal(daemon["pid"], daemonPid);
    assert.match(String(daemon["started_at"]), ISO_TIME);
    assert.match(String(daemon["last_heartbeat"]), ISO_TIME);
    assert.equal((status["tmux"] as Json)["socket"], town.socket);
    assert.deepEqual(status["problems"], []);
    const updated = Date.parse(String(status["agents_updated_at"]));
    assert.ok(Date.now() - updated < 60_000, "agents_updated_at is recent");
    const documentedAgent = (example["agents"] as Json[])[0] ?? {};
    const agents = status["agents"] as Json[];
    assert.ok(agents.length >= 2, "the Deacon and the (disabled) Mayor");
    for (const agent of agents)
      assertDocumentedShape(agent, documentedAgent, `agents[${String(agent["identity"])}]`);
    const deacon = agents.find((a) => a["identity"] === AGENT);
    assert.equal(deacon?.["state"], "running");
    assert.equal(deacon["session"], SESSION);
    assert.ok(typeof deacon["pid"] === "number" && isAlive(deacon["pid"]), "the Deacon's pid is live");
    assert.equal(deacon["pid"], (await town.pane(SESSION))?.pid, "the pid is the pane's");
  });

  it("emits no agent field the README's status example does not document", async () => {
    const agents = (await api(town, "GET", "/v1/status")).json as { agents: Json[] };
    const documented = new Set(Object.keys((readmeStatusExample()["agents"] as Json[])[0] ?? {}));
    const extra = Object.keys(agents.agents[0] ?? {}).filter((key) => !documented.has(key));
    assert.deepEqual(extra, [], "fields in GET /v1/status (and townd status --json) missing from README.md");
  });

  it("GET /v1/agents answers the status document's agents array", async () => {
    const answer = await api(town, "GET", "/v1/agents");
    assert.equal(answer.status, 200);
    assert.match(String(answer.headers["content-type"]), /^application\/json/);
    const agents = answer.json as AgentStatusJson[];
    assert.ok(Array.isArray(agents));
    const status = (await api(town, "GET", "/v1/status")).json as { agents: AgentStatusJson[] };
    assert.deepEqual(
      agents.map((a) => [a.identity, a.session, a.generation, Object.keys(a).join(",")]),
      status.agents.map((a) => [a.identity, a.session, a.generation, Object.keys(a).join(",")]),
    );
  });

  it("GET /v1/events lists past events, newest `limit`, filtered by agent and since", async () => {
    const all = await api(town, "GET", "/v1/events");
    assert.equal(all.status, 200);
    const events = all.json as Json[];
    assert.ok(
      Array.isArray(events) && events.length >= 2,
      "at least the Deacon's spawn decision and spawn_done",
    );
    events.forEach((event, i) => {
      assertEventShape(event, `events[${i}]`);
    });
    assert.deepEqual(
      events.map((e) => e["id"]),
      storeEvents(town.root).map((e) => e.id),
      "the same events as the store holds, oldest first",
    );
    const spawned = events.find((e) => e["type"] === "spawn_done" && e["identity"] === AGENT);
    assert.ok(spawned !== undefined, "a spawn_done for the Deacon");

    const one = (await api(town, "GET", "/v1/events?limit=1")).json as Json[];
    assert.deepEqual(one, events.slice(-1), "limit=1 is the newest event");
    const deacon = (await api(town, "GET", `/v1/events?agent=${AGENT}`)).json as Json[];
    assert.ok(deacon.length > 0 && deacon.every((e) => e["identity"] === AGENT));
    const future = (await api(town, "GET", "/v1/events?since=2999-01-01T00:00:00.000Z")).json as Json[];
    assert.deepEqual(future, []);
    const since = String(events[1]?.["ts"]);
    const later = (await api(town, "GET", `/v1/events?since=${since}`)).json as Json[];
    assert.ok(later.every((e) => String(e["ts"]) >= since) && later.length < events.length + 1);
    const badAgent = await api(town, "GET", "/v1/events?agent=no%20such!");
    assert.equal(badAgent.status, 400);
    assert.match(String((badAgent.json as Json)["error"]), /Invalid agent identity/);
  });

  it("GET /v1/events rejects a `since` it cannot read with 400, instead of comparing it as text", async () => {
    // `since` is compared to the ISO `ts` column as a string: "garbage" sorts after every timestamp (no events),
    // "1h" (the CLI's --since form) before every one (all events). Neither says the query was not understood.
    const answer = await api(town, "GET", "/v1/events?since=garbage");
    assert.equal(answer.status, 400, `since=garbage answered ${answer.status} ${answer.text}`);
    assert.equal(typeof (answer.json as Json)["error"], "string");
  });

  it("answers an unknown route or method with 404 and a JSON error", async () => {
    for (const [method, path] of [
      ["GET", "/v1/nope"],
      ["GET", "/"],
      ["GET", "/v1/reload"],
      ["DELETE", "/v1/status"],
      ["POST", "/v1/agents/kill"],
      ["POST", "/v1/status"],
    ] as const) {
      const answer = await api(town, method, path, method === "GET" ? undefined : "{}");
      assert.equal(answer.status, 404, `${method} ${path}`);
      assert.match(String(answer.headers["content-type"]), /^application\/json/);
      assert.deepEqual(answer.json, { error: `No route ${method} ${path}` });
    }
  });

  it("answers a bad request body with 400 and a JSON error message, and the daemon is unaffected", async () => {
    const before = town.snapshot().daemon.heartbeat_count;
    const cases: [string, string, RegExp][] = [
      ["/v1/agents/restart", "{not json", /JSON/],
      ["/v1/agents/restart", "[1, 2]", /Body must be a JSON object/],
      ["/v1/agents/reset", '"deacon"', /Body must be a JSON object/],
      ["/v1/agents/start", "{}", /Body must name the agent/],
      ["/v1/agents/restart", '{"agent": 42}', /Body must name the agent/],
      ["/v1/agents/restart", '{"agent": "no such!"}', /Invalid agent identity/],
      ["/v1/agents/restart", '{"agent": "r9/witness"}', /No supervised agent "r9\/witness"/],
      ["/v1/agents/reset", JSON.stringify({ agent: AGENT, pad: "x".repeat(70_000) }), /over 65536 bytes/],
    ];
    for (const [path, body, error] of cases) {
      const answer = await api(town, "POST", path, body);
      assert.equal(answer.status, 400, `POST ${path} ${body.slice(0, 40)}: ${answer.text}`);
      assert.match(String(answer.headers["content-type"]), /^application\/json/);
      assert.deepEqual(Object.keys(answer.json as Json), ["error"]);
      assert.match(String((answer.json as Json)["error"]), error);
    }
    // The same daemon, still answering and still running passes; nothing was taken as a request.
    assert.equal(town.daemonPid(), daemonPid);
    assert.ok(isAlive(daemonPid));
    await town.forcePasses(before + 1, 10_000);
    const status = (await api(town, "GET", "/v1/status")).json as { agents: AgentStatusJson[] };
    const deacon = status.agents.find((a) => a.identity === AGENT);
    assert.equal(deacon?.restarts_manual, 0, "no bad request restarted the Deacon");
    assert.equal(town.log().filter((r) => r.msg.startsWith("Control API")).length, 0, "no 500s logged");
  });

  it("POST /v1/agents/restart answers with a respawn decision, and the agent runs as a new generation", async () => {
    const before = town.agent(town.snapshot(), AGENT);
    const answer = await api(town, "POST", "/v1/agents/restart", JSON.stringify({ agent: AGENT }));
    assert.equal(answer.status, 200, answer.text);
    const { decisions } = assertDecisions(answer.json, "restart");
    const respawn = decisions.find((d) => d.action === "respawn");
    assert.ok(respawn !== undefined, `a respawn decision in ${answer.text}`);
    assert.equal(respawn.reason, "restart requested: townd restart");
    assert.equal(respawn.verdict, "alive");

    const after = await town.waitFor(
      (s) =>
        town.agent(s, AGENT).generation !== before.generation && town.agent(s, AGENT).state === "running",
      15_000,
      "the Deacon running as a new generation",
    );
    const deacon = town.agent(after, AGENT);
    assert.equal(deacon.restarts_manual, before.restarts_manual + 1);
    assert.equal(deacon.restarts_auto, before.restarts_auto);
    const pane = await town.pane(SESSION);
    assert.equal(pane?.generation, deacon.generation, "tmux's pane carries the new generation");
    assert.notEqual(pane.pid, before.pid);
    const done = storeEvents(town.root).find(
      (e) => e.type === "respawn_done" && e.generation === deacon.generation,
    );
    assert.equal(done?.reason, "restart requested: townd restart");
  });

  it("POST /v1/agents/reset and /start answer with the planner's decisions for the agent", async () => {
    const reset = await api(town, "POST", "/v1/agents/reset", JSON.stringify({ agent: AGENT }));
    assert.equal(reset.status, 200, reset.text);
    const resetDecisions = assertDecisions(reset.json, "reset").decisions;
    assert.ok(
      resetDecisions.some((d) => d.reason === "reset: townd reset"),
      reset.text,
    );
    assert.ok(
      resetDecisions.every((d) => d.action === "none"),
      "a live agent is left running by a reset",
    );

    // Any form of the identity names the same agent (`deacon/` is `deacon`).
    const start = await api(town, "POST", "/v1/agents/start", JSON.stringify({ agent: "deacon/" }));
    assert.equal(start.status, 200, start.text);
    const startDecisions = assertDecisions(start.json, "start").decisions;
    assert.ok(
      startDecisions.some((d) => d.reason === "start: townd start-agent"),
      start.text,
    );
    assert.ok(
      startDecisions.every((d) => d.action === "none"),
      "starting a running agent does nothing",
    );
  });

  it("POST /v1/reload answers 202 and makes the daemon re-read its config", async () => {
    const since = new Date().toISOString();
    const answer = await api(town, "POST", "/v1/reload");
    assert.equal(answer.status, 202);
    assert.deepEqual(answer.json, { reloading: true, pid: town.daemonPid() });
    await town.waitForLog(
      (r) =>
        r.time >= since &&
        r.msg.startsWith("Heartbeat complete") &&
        (r.reasons ?? []).includes("config reload"),
      10_000,
      "a pass for the config reload",
    );
  });

  it("GET /v1/events?follow=1 streams the backlog, then a new event within a few seconds of a kill", async () => {
    await town.waitForQuiet(300, 10_000);
    const follower = await followEvents(town, `follow=1&agent=${AGENT}&limit=2`);
    try {
      assert.equal(follower.status, 200);
      assert.match(String(follower.headers["content-type"]), /^application\/x-ndjson/);
      await until("the 2 backlog events", () => follower.lines.length >= 2, 5000);
      const backlog = follower.events();
      assert.equal(backlog.length, 2, "limit=2 events of backlog");
      backlog.forEach((event, i) => {
        assertEventShape(event, `backlog[${i}]`);
      });
      const lastId = Number(backlog[1]?.["id"]);

      const pane = await town.pane(SESSION);
      assert.ok(pane !== undefined && !pane.dead);
      const killedAt = Date.now();
      process.kill(pane.pid, "SIGKILL");
      const death = await until(
        "a streamed decision about the killed Deacon",
        () =>
          follower
            .events()
            .find(
              (e) =>
                Number(e["id"]) > lastId &&
                e["type"] === "decision" &&
                (e["data"] as Json)["verdict"] === "dead",
            ),
        5000,
        () => follower.lines.join("\n"),
        25,
      );
      const latency = Date.now() - killedAt;
      assert.equal((death["data"] as Json)["action"], "respawn");
      assert.equal(death["reason"], "pane died (killed by a signal)");
      await until(
        "a streamed respawn_done",
        () => follower.events().find((e) => Number(e["id"]) > lastId && e["type"] === "respawn_done"),
        5000,
        () => follower.lines.join("\n"),
      );
      const streamed = follower.events();
      assert.ok(
        streamed.every((e) => e["identity"] === AGENT),
        "only the Deacon's events (agent=deacon)",
      );
      assert.deepEqual(
        streamed.map((e) => e["id"]),
        [...new Set(streamed.map((e) => e["id"]))],
        "no event streamed twice",
      );
      assert.ok(latency < 5000, `streamed ${latency} ms after the kill`);
      assert.equal(follower.ended(), false, "the stream stays open");
    } finally {
      follower.close();
    }
  });

  it("removes the socket on `townd stop`; the stopped daemon's socket cannot be connected to", async () => {
    await town.waitFor((s) => town.agent(s, AGENT).state === "running", 15_000, "the Deacon running again");
    const stopped = await town.townd(["stop"]);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /^✓ Daemon stopped/);
    assert.equal(existsSync(controlSocket(town)), false, "daemon/control.sock is removed");
    await assert.rejects(
      api(town, "GET", "/v1/status"),
      (error: NodeJS.ErrnoException) => error.code === "ENOENT",
    );
    const status = await town.status();
    assert.equal(status.daemon.running, false, "the CLI reads the files instead");
  });

  it("stops promptly on SIGTERM while a client follows /v1/events (no SIGKILL, socket removed)", async () => {
    const pid = await town.start();
    await until("the control socket", () => existsSync(controlSocket(town)), 5000);
    const follower = await followEvents(town, "follow=1&limit=1");
    try {
      await until("the backlog line", () => follower.lines.length >= 1, 5000);
      const started = Date.now();
      const stopped = await town.townd(["stop", "--timeout", "3s"]);
      const took = Date.now() - started;
      assert.equal(stopped.code, 0, stopped.stderr);
      assert.equal(isAlive(pid), false);
      assert.match(
        stopped.stdout,
        /^✓ Daemon stopped/,
        `the daemon needed SIGKILL after ${took} ms: an open follow stream keeps it from exiting`,
      );
      assert.equal(existsSync(controlSocket(town)), false, "daemon/control.sock is removed");
    } finally {
      follower.close();
    }
  });
});
