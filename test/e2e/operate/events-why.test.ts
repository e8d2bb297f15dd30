import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  createSupervisedTown,
  isAlive,
  type Json,
  type SupervisedTown,
} from "../../helpers/supervised-town.js";
import {
  assertEventShape,
  assertOneLineError,
  sleep,
  startCli,
  storeEvents,
  until,
  type TownEventJson,
} from "./_helpers.js";

/**
 * `townd events` and `townd why` on a real town (the Deacon and the Mayor, both the simulated agent) under
 * the built daemon: the Deacon prints a marker line and crashes with `/sim crash 4`, is respawned, and both
 * commands must tell the story (decision, reason, exit status, the dead pane's last lines), with the daemon
 * running and after `townd stop`. Steps build on each other in order.
 */

const MARKER = `MARKER-${process.pid}-last-words`;

function parseLines(stdout: string): Json[] {
  return stdout
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Json);
}

describe("townd events and townd why", { timeout: 90_000 }, () => {
  let town: SupervisedTown;
  /** The Deacon's generation before and after the crash; when it crashed. */
  let oldGeneration = "";
  let newGeneration = "";
  let crashedAt = 0;
  /** `events --agent deacon --json` while the daemon ran. */
  let runningEvents: Json[] = [];

  before(async () => {
    town = await createSupervisedTown({ patrols: { mayor: { enabled: true } } });
    await town.start();
    const status = await town.waitFor(
      (s) => town.agent(s, "deacon").state === "running" && town.agent(s, "mayor").state === "running",
      20_000,
      "the Deacon and the Mayor running",
    );
    oldGeneration = town.agent(status, "deacon").generation ?? "";
    // The Deacon echoes what it is sent; the marker is then the last thing it says before it crashes.
    await town.waitForQuiet(300, 10_000);
    const typed = await town.tmux(["send-keys", "-t", "hq-deacon", "-l", MARKER]);
    assert.equal(typed.code, 0, typed.stderr);
    await town.tmux(["send-keys", "-t", "hq-deacon", "Enter"]);
    await until(
      "the Deacon to echo the marker",
      () => town.simEntries().some((e) => e.text?.includes(MARKER)),
      5000,
    );
    // An exact second boundary between the first spawn and the crash, for --since.
    await sleep(1200);
    crashedAt = Date.now();
    await town.tmux(["send-keys", "-t", "hq-deacon", "-l", "/sim crash 4"]);
    await town.tmux(["send-keys", "-t", "hq-deacon", "Enter"]);
    const after = await town.waitFor(
      (s) => {
        const deacon = town.agent(s, "deacon");
        return deacon.generation !== oldGeneration && deacon.state === "running";
      },
      20_000,
      "the Deacon respawned and running",
    );
    newGeneration = town.agent(after, "deacon").generation ?? "";
  });
  after(async () => {
    await town.cleanup();
  });

  it("events --agent X --json lists the death's decision with its reason, then a respawn_done", async () => {
    const run = await town.townd(["events", "--agent", "deacon", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    runningEvents = parseLines(run.stdout);
    runningEvents.forEach((event, i) => {
      assertEventShape(event, `line ${i + 1}`);
    });
    assert.ok(
      runningEvents.every((e) => e["identity"] === "deacon"),
      "only the Deacon's events",
    );
    const decision = runningEvents.findIndex(
      (e) => e["type"] === "decision" && (e["data"] as Json)["verdict"] === "dead",
    );
    assert.ok(decision >= 0, `a decision about the dead Deacon in:\n${run.stdout}`);
    const death = runningEvents[decision] ?? {};
    assert.equal(death["reason"], "pane died (exit status 4)");
    assert.equal((death["data"] as Json)["action"], "respawn");
    const done = runningEvents.slice(decision + 1).find((e) => e["type"] === "respawn_done");
    assert.ok(done !== undefined, "a respawn_done after the decision");
    assert.equal(done["reason"], "pane died (exit status 4)");
    assert.equal(done["generation"], newGeneration);
    assert.match(
      String((done["data"] as Json)["last_lines"]),
      new RegExp(MARKER),
      "the dead pane's last lines",
    );
    assert.deepEqual(
      runningEvents.map((e) => e["id"]),
      storeEvents(town.root)
        .filter((e) => e.identity === "deacon")
        .map((e) => e.id),
      "every one of the Deacon's events, oldest first",
    );

    const text = await town.townd(["events", "--agent", "deacon"]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^\S+ \S+Z decision deacon respawn: pane died \(exit status 4\)$/m);
    assert.match(text.stdout, /^\S+ \S+Z respawn_done deacon: pane died \(exit status 4\)$/m);
    assert.doesNotMatch(text.stdout, /mayor/);
  });

  it("--since filters by age, -n by count; a bad --since is one line and exit 1", async () => {
    const hour = parseLines(
      (await town.townd(["events", "--agent", "deacon", "--since", "1h", "--json"])).stdout,
    );
    assert.deepEqual(hour, runningEvents, "--since 1h: all of them");
    // Since just before the crash: the crash and the respawn, not the first spawn 1.2 s earlier.
    const ms = Date.now() - crashedAt + 500;
    const recent = parseLines(
      (await town.townd(["events", "--agent", "deacon", "--since", `${ms}ms`, "--json"])).stdout,
    );
    assert.ok(recent.length > 0, "the crash is recent");
    assert.ok(
      recent.every((e) => Date.parse(String(e["ts"])) >= crashedAt - 600),
      `only events since the crash: ${JSON.stringify(recent.map((e) => [e["type"], e["ts"]]))}`,
    );
    assert.ok(!recent.some((e) => e["type"] === "spawn_done"), "the first spawn is older");
    assert.ok(recent.some((e) => e["type"] === "respawn_done"));
    const last = parseLines((await town.townd(["events", "-n", "1", "--json"])).stdout);
    assert.equal(last.length, 1);
    assert.equal(last[0]?.["id"], storeEvents(town.root).at(-1)?.id);

    assertOneLineError(
      await town.townd(["events", "--since", "yesterday"]),
      /Invalid --since "yesterday"/,
      "--since yesterday",
    );
    assertOneLineError(
      await town.townd(["events", "--since", "-5m"]),
      /Invalid --since "-5m"/,
      "--since -5m",
    );
  });

  it("--follow prints a new event live (the Mayor killed while it follows)", async () => {
    const follower = startCli(town, ["events", "--follow", "--agent", "mayor", "--json"]);
    try {
      const backlog = await until(
        "the Mayor's backlog",
        () => (follower.lines.some((l) => l.includes('"spawn_done"')) ? follower.lines.length : undefined),
        10_000,
        () => follower.stderr(),
      );
      await town.waitForQuiet(300, 10_000);
      const pane = await town.pane("hq-mayor");
      assert.ok(pane !== undefined && !pane.dead);
      const killedAt = Date.now();
      process.kill(pane.pid, "SIGKILL");
      const line = await until(
        "a followed decision about the killed Mayor",
        () =>
          follower.lines
            .slice(backlog)
            .map((l) => JSON.parse(l) as Json)
            .find((e) => e["type"] === "decision" && (e["data"] as Json)["verdict"] === "dead"),
        5000,
        () => follower.lines.join("\n") + follower.stderr(),
        25,
      );
      const latency = Date.now() - killedAt;
      assert.equal(line["identity"], "mayor");
      assert.equal(line["reason"], "pane died (killed by a signal)");
      assert.ok(latency < 5000, `printed ${latency} ms after the kill`);
      assert.equal(follower.child.exitCode, null, "still following");
    } finally {
      const ended = await follower.kill();
      assert.equal(ended, "SIGTERM", "ends on SIGTERM");
    }
    assert.ok(follower.child.pid === undefined || !isAlive(follower.child.pid));
  });

  it("why X shows the state, the last exit and the recent decisions (daemon running)", async () => {
    const run = await town.townd(["why", "deacon"]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.split("\n");
    assert.equal(lines[0], "deacon (session hq-deacon): running");
    assert.match(
      lines[1] ?? "",
      new RegExp(`^ {2}generation ${newGeneration}, started \\d+s ago, restarts 1 automatic / 0 manual$`),
    );
    assert.match(run.stdout, /^ {2}last exit: pane died \(exit status 4\) \(\d+s ago\)$/m);
    assert.match(run.stdout, /^Recent decisions and activity changes:$/m);
    assert.match(run.stdout, /^ {2}\S+ \S+Z decision deacon respawn: pane died \(exit status 4\)$/m);
    assert.match(run.stdout, /^ {2}\S+ \S+Z respawn_done deacon: pane died \(exit status 4\)$/m);
    assert.match(run.stdout, /^Last lines of the pane before \S+:$/m);

    const json = await town.townd(["why", "deacon", "--json"]);
    assert.equal(json.code, 0, json.stderr);
    const why = JSON.parse(json.stdout) as { identity: string; status: Json; events: Json[] };
    assert.deepEqual(Object.keys(why), ["identity", "status", "events"]);
    assert.equal(why.identity, "deacon");
    assert.equal(why.status["state"], "running");
    assert.equal(why.status["last_exit"], "pane died (exit status 4)");
    assert.equal(why.status["generation"], newGeneration);
    const done = why.events.find((e) => e["type"] === "respawn_done" && e["generation"] === newGeneration);
    assert.match(String((done?.["data"] as Json | undefined)?.["last_lines"]), new RegExp(MARKER));
    assert.match(String((done?.["data"] as Json | undefined)?.["last_lines"]), /crashing with exit code 4/);
  });

  it("why X shows the dead pane's last lines: the marker it printed and its crash message", async () => {
    const run = await town.townd(["why", "deacon"]);
    const shown = run.stdout.slice(run.stdout.indexOf("Last lines of the pane"));
    assert.match(shown, new RegExp(`│ .*${MARKER}`), `the marker among the last lines shown:\n${shown}`);
    assert.match(shown, /│ sim-agent: crashing with exit code 4/);
  });

  it("an operator's `townd restart` and `townd reset` leave a trace in `townd events`", async () => {
    const restarted = await town.townd(["restart", "mayor"]);
    assert.equal(restarted.code, 0, restarted.stderr);
    assert.match(restarted.stdout, /^✓ mayor: respawn \(restart requested: townd restart\)$/m);
    const reset = await town.townd(["reset", "mayor"]);
    assert.equal(reset.code, 0, reset.stderr);
    const events = parseLines((await town.townd(["events", "--agent", "mayor", "--json"])).stdout);
    assert.ok(
      events.some((e) => e["type"] === "respawn_done" && e["reason"] === "restart requested: townd restart"),
      "the restart",
    );
    assert.ok(
      events.some((e) => String(e["reason"]).includes("reset")),
      `the reset is in no event of the Mayor's:\n${events.map((e) => `${String(e["type"])}: ${String(e["reason"])}`).join("\n")}`,
    );
  });

  it("errors: an unknown or invalid agent, a bad -n: one line, exit 1 (daemon running)", async () => {
    assertOneLineError(
      await town.townd(["why", "r9/witness"]),
      /Nothing known about r9\/witness/,
      "why r9/witness",
    );
    assertOneLineError(
      await town.townd(["why", "no such!"]),
      /Invalid agent identity "no such!"/,
      "why 'no such!'",
    );
    assertOneLineError(
      await town.townd(["events", "--agent", "no such!"]),
      /Invalid agent identity "no such!"/,
      "events --agent 'no such!'",
    );
    assertOneLineError(
      await town.townd(["events", "-n", "many"]),
      /Invalid --lines "many"/,
      "events -n many",
    );
  });

  it("with the daemon stopped: the same events, why from the files, the same errors", async () => {
    await town.waitForQuiet(500, 10_000);
    const beforeStop = parseLines((await town.townd(["events", "--agent", "deacon", "--json"])).stdout);
    const stopped = await town.townd(["stop"]);
    assert.equal(stopped.code, 0, stopped.stderr);

    const events = await town.townd(["events", "--agent", "deacon", "--json"]);
    assert.equal(events.code, 0, events.stderr);
    assert.deepEqual(parseLines(events.stdout), beforeStop);
    const since = parseLines(
      (await town.townd(["events", "--agent", "deacon", "--since", "1h", "--json"])).stdout,
    );
    assert.deepEqual(since, beforeStop);

    const why = await town.townd(["why", "deacon"]);
    assert.equal(why.code, 0, why.stderr);
    assert.equal(why.stdout.split("\n")[0], "deacon (session hq-deacon): running");
    assert.match(why.stdout, /^ {2}last exit: pane died \(exit status 4\) \(\d+s ago\)$/m);
    assert.match(why.stdout, /^ {2}\S+ \S+Z decision deacon respawn: pane died \(exit status 4\)$/m);
    assert.match(why.stdout, /^Last lines of the pane before \S+:$/m);
    const json = JSON.parse((await town.townd(["why", "deacon", "--json"])).stdout) as { events: Json[] };
    assert.deepEqual(
      json.events.map((e) => e["id"]),
      beforeStop.slice(-15).map((e) => e["id"]),
    );
    (json.events as unknown as TownEventJson[]).forEach((e, i) => {
      assertEventShape(e as unknown as Json, `why.events[${i}]`);
    });

    assertOneLineError(
      await town.townd(["why", "r9/witness"]),
      /Nothing known about r9\/witness/,
      "why r9/witness",
    );
    assertOneLineError(await town.townd(["why", "no such!"]), /Invalid agent identity/, "why 'no such!'");
    assertOneLineError(
      await town.townd(["events", "--since", "bogus"]),
      /Invalid --since "bogus"/,
      "--since bogus",
    );
  });
});
