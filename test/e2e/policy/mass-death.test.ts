import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  createSupervisedTown,
  isAlive,
  type AgentStatusJson,
  type LogRecord,
  type PaneRow,
  type StatusJson,
  type SupervisedTown,
} from "../../helpers/supervised-town.js";
import {
  alertLines,
  feedEvents,
  logTail,
  sleep,
  storeEvents,
  timeOf,
  until,
  type StoreEvent,
} from "./_helpers.js";

/**
 * Five agents (the Deacon, and the Witness and Refinery of two rigs) whose processes are all killed at once
 * with SIGKILL, on a real tmux server under the built daemon. Many agents dying together is a town-wide
 * failure, not five agent failures: ONE mass_death alert (log, `.events.jsonl`, store), then no automatic
 * restart during the cool-down (4 s here), then all of them back (reference §5.9, §10.3, B112, B113; I3).
 */

const COOLDOWN_MS = 4000;
/** The default mass-death threshold (B112): the death that completes it is the first one held. */
const MASS_DEATH_THRESHOLD = 3;
const SESSIONS: Record<string, string> = {
  deacon: "hq-deacon",
  "r1/witness": "gt-r1-witness",
  "r1/refinery": "gt-r1-refinery",
  "r2/witness": "gt-r2-witness",
  "r2/refinery": "gt-r2-refinery",
};
const IDENTITIES = Object.keys(SESSIONS).sort();
/** The five supervised agents (status also lists the Mayor, whose patrol is off). */
const five = (status: StatusJson): AgentStatusJson[] =>
  status.agents.filter((a) => IDENTITIES.includes(a.identity));

/** Kills every agent at once (five SIGKILLs in one synchronous loop); returns when, and the one alert's line. */
async function killAllAtOnce(
  town: SupervisedTown,
  panes: readonly PaneRow[],
): Promise<{ killedAt: number; alert: LogRecord }> {
  const killedAt = Date.now();
  for (const pane of panes) process.kill(pane.pid, "SIGKILL");
  const alert = await until(
    "the mass_death alert",
    () => alertLines(town, "mass_death")[0],
    10_000,
    () => logTail(town),
  );
  return { killedAt, alert };
}

/** Successful spawns recorded since `since`, once there is one per agent (each is recorded when its own
 * action is done: on a loaded machine the last can come seconds after the first). */
function allRespawnsSince(town: SupervisedTown, since: number, alertAt: number): Promise<StoreEvent[]> {
  const found = (): StoreEvent[] =>
    storeEvents(town.root).filter(
      (e) => e.at >= since && (e.type === "respawn_done" || e.type === "spawn_done"),
    );
  return until(
    "all five respawns recorded",
    () => {
      const events = found();
      return events.length >= IDENTITIES.length ? events : undefined;
    },
    15_000,
    () =>
      found()
        .map((e) => `${e.identity ?? ""}@${e.at - alertAt}`)
        .join(", "),
  );
}

describe("mass death: five agents killed at once (B112, I3)", { timeout: 90_000 }, () => {
  let town: SupervisedTown;
  let killedAt = 0;
  let alertAt = 0;
  let original: PaneRow[] = [];

  before(async () => {
    town = await createSupervisedTown({
      rigs: ["r1", "r2"],
      settings: (s) => {
        s["operational"] = {
          // The daemon's own path: every death reaches a pass. With armed respawns, see the suite below.
          daemon: { mass_death_cooldown: "4s", death_poll_interval: "250ms", armed_respawn: false },
        };
      },
    });
    await town.start();
    await town.waitFor(
      (s) => five(s).length === 5 && five(s).every((a) => a.state === "running"),
      40_000,
      "all five agents to be running",
    );
  });
  after(async () => {
    await town.cleanup();
  });

  it("raises exactly ONE mass_death alert naming all five, in the log, .events.jsonl and the store", async (t) => {
    original = await town.panes();
    assert.deepEqual(original.map((p) => p.session).sort(), Object.values(SESSIONS).sort());
    assert.ok(original.every((p) => !p.dead && isAlive(p.pid)));
    const killed = await killAllAtOnce(town, original);
    killedAt = killed.killedAt;
    const { alert } = killed;
    alertAt = timeOf(alert);
    t.diagnostic(`kill -9 ×5 -> mass_death alert ${alertAt - killedAt} ms`);
    const named = /^ALERT mass_death: 5 agents died within 30s: (.*); automatic restarts paused for 4s$/.exec(
      alert.msg,
    );
    assert.ok(named?.[1] !== undefined, alert.msg);
    assert.deepEqual(named[1].split(", ").sort(), IDENTITIES, "the alert names all five");

    // `townd status` says what the agents wait for and until when, not a backoff of 0 s.
    const held = await town.waitFor(
      (s) => five(s).some((a) => a.held_by === "mass-death"),
      3000,
      "agents held by the mass-death pause in the status",
    );
    for (const agent of five(held).filter((a) => a.held_by === "mass-death")) {
      assert.equal(agent.state, "backoff");
      const until = Date.parse(agent.held_until ?? "");
      assert.ok(
        Math.abs(until - (alertAt + COOLDOWN_MS)) < 1500,
        `${agent.identity} held until ${agent.held_until}`,
      );
    }
    const table = await town.townd(["status"]);
    const heldRow = table.stdout.split("\n").find((line) => line.includes("(mass death)"));
    assert.match(heldRow ?? "", /\bbackoff [0-4]s \(mass death\)/, `a held row in:\n${table.stdout}`);

    // Throughout the cool-down, every pane stays dead: nothing is restarted (sampled every 100 ms).
    let samples = 0;
    while (Date.now() < alertAt + COOLDOWN_MS - 300) {
      const panes = await town.panes();
      // A restart is a new process in the pane. (A raw list-panes can still show a killed pane as alive for
      // a moment when tmux has not yet reaped it; the daemon's snapshot() compensates, this sample need not.)
      const killed = new Set(original.map((p) => p.pid));
      // An agent whose death was seen before the others' (so before the mass death could be recognised) may
      // already have been restarted then, at once, as its first death: that is not a cool-down restart.
      const before = new Set(
        storeEvents(town.root)
          .filter(
            (e) =>
              e.at < alertAt && e.at >= killedAt && (e.type === "respawn_done" || e.type === "spawn_done"),
          )
          .map((e) => SESSIONS[e.identity as keyof typeof SESSIONS]),
      );
      const live = panes
        .filter((p) => !p.dead && !killed.has(p.pid) && !before.has(p.session))
        .map((p) => p.session);
      assert.deepEqual(
        live,
        [],
        `restarted during the cool-down, ${Date.now() - alertAt} ms after the alert`,
      );
      samples += 1;
      await sleep(100);
    }
    t.diagnostic(`${samples} tmux samples during the cool-down: no new agent process`);
    assert.ok(samples >= 10);
    // Let the cool-down run out before counting: the alert must stay single.
    await sleep(Math.max(0, alertAt + COOLDOWN_MS + 2000 - Date.now()));
    assert.equal(alertLines(town, "mass_death").length, 1, "one alert, not one per death or per pass");

    const feed = feedEvents(town.root).filter((e) => e.type === "mass_death");
    assert.equal(feed.length, 1, "one mass_death line in .events.jsonl");
    const [line] = feed;
    assert.ok(line !== undefined);
    t.diagnostic(`.events.jsonl: ${JSON.stringify(line)}`);
    assert.deepEqual(Object.keys(line).sort(), ["actor", "payload", "source", "ts", "type", "visibility"]);
    assert.match(line.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, "RFC 3339 UTC, seconds");
    assert.equal(line.actor, "daemon");
    assert.equal(line.visibility, "feed");
    assert.equal(typeof line.source, "string");
    assert.equal(line.payload["count"], 5);
    assert.equal(line.payload["window"], "30s");
    assert.ok(Array.isArray(line.payload["sessions"]));
    assert.equal((line.payload["sessions"] as unknown[]).length, 5);

    const stored = storeEvents(town.root).filter((e) => e.type === "mass_death");
    assert.equal(stored.length, 1, "one mass_death event in daemon/town.db");
    assert.deepEqual((stored[0]?.data["agents"] as string[]).slice().sort(), IDENTITIES);
  });

  it(
    "names the dead tmux sessions in payload.sessions, as the reference's feed event does (§10.3)",
    {},
    () => {
      const line = feedEvents(town.root).find((e) => e.type === "mass_death");
      assert.deepEqual(
        (line?.payload["sessions"] as string[]).slice().sort(),
        Object.values(SESSIONS).sort(),
      );
    },
  );

  it("restarted no agent during the 4 s cool-down, and restarted all five after it", async (t) => {
    // All five are awaited: their times are what is checked.
    const respawns = await allRespawnsSince(town, killedAt, alertAt);
    const first = Math.min(...respawns.map((e) => e.at));
    t.diagnostic(
      `first respawn ${first - alertAt} ms after the alert (cool-down ${COOLDOWN_MS} ms); ` +
        `all five within ${Math.max(...respawns.map((e) => e.at)) - alertAt} ms`,
    );
    // No automatic restart between the alert and the end of the cool-down (I3); one seen before the alert was
    // the first death's immediate restart, decided before the mass death was recognisable.
    assert.ok(
      respawns.every((e) => e.at < alertAt || e.at >= alertAt + COOLDOWN_MS),
      `a respawn during the cool-down: ${respawns.map((e) => `${e.identity}@+${e.at - alertAt}`).join(", ")}`,
    );
    assert.deepEqual(respawns.map((e) => e.identity ?? "").sort(), IDENTITIES, "each agent restarted once");
    assert.ok(
      first - (alertAt + COOLDOWN_MS) < 1500,
      `restarts began ${first - alertAt - COOLDOWN_MS} ms late`,
    );

    // The daemon said why it held them back: all but those restarted before the alert. tmux reaps the five
    // killed processes one by one (it loses the SIGCHLD of some, and the daemon kicks it), so on a loaded
    // machine a death can reach a pass before the others are visible; a mass death is recognised at the
    // threshold's death (B112: three), so at most the two before it were restarted as lone deaths.
    const early = new Set(respawns.filter((e) => e.at < alertAt).map((e) => e.identity));
    assert.ok(early.size <= MASS_DEATH_THRESHOLD - 1, `restarted before the alert: ${[...early].join(", ")}`);
    const holds = town
      .log()
      .filter((r) => /^[\w/]+: wait \(mass-death cool-down: pane died \(killed by a signal\)\)$/.test(r.msg));
    assert.deepEqual(
      [...new Set(holds.map((r) => r.agent))].sort(),
      IDENTITIES.filter((identity) => !early.has(identity)),
    );

    // All five back: new processes in the same sessions, each a new generation.
    const afterPanes = await town.waitForPanes(
      (ps) => ps.length === 5 && ps.every((p) => !p.dead && !original.some((b) => b.pid === p.pid)),
      10_000,
      "five new agent processes",
    );
    for (const pane of afterPanes) {
      const old = original.find((b) => b.session === pane.session);
      assert.ok(old !== undefined);
      assert.notEqual(pane.generation, old.generation, `${pane.session} has a new generation`);
    }
    const status = await town.waitFor(
      (s) => five(s).every((a) => a.state === "running"),
      30_000,
      "all five running again",
    );
    for (const agent of five(status)) {
      assert.equal(agent.restarts_auto, 1, `${agent.identity} restarted once`);
      assert.equal(agent.last_exit, "pane died (killed by a signal)");
    }
  });
});

/**
 * The same mass death with every agent's respawn armed in tmux (src/policy/arming.ts): tmux answers the
 * first death at once, one ahead of the daemon; the pass its hook wakes counts the deaths it sees, and the
 * threshold's death raises the one alert and holds the rest until the cool-down ends.
 */
describe(
  "mass death with armed respawns: tmux answers one, the pause holds the rest (B112, I3)",
  { timeout: 90_000 },
  () => {
    let town: SupervisedTown;

    before(async () => {
      town = await createSupervisedTown({
        rigs: ["r1", "r2"],
        settings: (s) => {
          s["operational"] = {
            daemon: { mass_death_cooldown: "4s", death_poll_interval: "250ms", start_failure_window: "1s" },
          };
        },
      });
      await town.start();
      await town.waitFor(
        (s) => five(s).length === 5 && five(s).every((a) => a.state === "running"),
        40_000,
        "all five agents to be running",
      );
      // Armed once each generation has run 1 s past its start-up: a pane hook on each of the five.
      await until(
        "all five armed",
        async () => {
          const hooks = await Promise.all(
            Object.values(SESSIONS).map((session) => town.tmux(["show-hooks", "-p", "-t", `=${session}:`])),
          );
          return hooks.every((h) => h.code === 0 && h.stdout.includes("pane-died")) ? true : undefined;
        },
        20_000,
        () => "",
      );
    });
    after(async () => {
      await town.cleanup();
    });

    it("one agent back at once, one alert, the other four after the cool-down, each restarted once", async () => {
      const { killedAt, alert } = await killAllAtOnce(town, await town.panes());
      const alertAt = timeOf(alert);
      const respawns = await allRespawnsSince(town, killedAt, alertAt);
      assert.deepEqual(respawns.map((e) => e.identity ?? "").sort(), IDENTITIES, "each agent restarted once");
      const byTmux = town.log().filter((r) => /by tmux from its armed pane-died hook/.test(r.msg));
      // The first death tmux reaps is answered by its hook before any pass. On a loaded machine tmux reaps
      // the others one by one (it loses some SIGCHLDs), and a pass may see one more death alone, which
      // the policy restarts at once (re-armed, or by the pass itself); the threshold's death (B112: three)
      // raises the alert, and from then on nothing comes back before the cool-down's end.
      assert.ok(byTmux.length >= 1, "tmux answered the first death");
      const early = respawns.filter((e) => e.at < alertAt + COOLDOWN_MS);
      const earlyNames = early.map((e) => e.identity).join(", ");
      assert.ok(
        early.length <= MASS_DEATH_THRESHOLD - 1,
        `restarted before the cool-down's end: ${earlyNames}`,
      );
      // tmux's respawns are recorded by the pass that sees them, which may be the alert's own; any other
      // restart before the cool-down's end was a lone death's, decided before the alert.
      const tmuxMade = new Set(byTmux.map((r) => r.agent));
      assert.ok(
        early.every((e) => e.at < alertAt || tmuxMade.has(e.identity ?? "")),
        `a restart between the alert and the cool-down's end: ${earlyNames}`,
      );
      for (const agent of tmuxMade)
        assert.ok(
          early.some((e) => e.identity === agent),
          `tmux's respawn of ${agent ?? "?"} recorded before the cool-down's end`,
        );
      assert.equal(alertLines(town, "mass_death").length, 1);
      const status = await town.waitFor(
        (s) => five(s).every((a) => a.state === "running"),
        30_000,
        "all five running again",
      );
      for (const agent of five(status))
        assert.equal(agent.restarts_auto, 1, `${agent.identity} restarted once`);
    });
  },
);
