import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseHookLine, type HookEvent } from "../../../src/activity/hooks/intake.js";
import { STUCK_NUDGE } from "../../../src/conduct/ladder.js";
import {
  createSupervisedTown,
  inputsOf,
  type Json,
  type SupervisedTown,
} from "../../helpers/supervised-town.js";
import {
  conductActs,
  diagnose,
  eventsOf,
  notifications,
  simLogOf,
  sleep,
  spawnsOf,
  untilActivity,
  until,
} from "./_helpers.js";

/**
 * The stuck ladder on a real tmux server under the built daemon, with stuck.after and rung_wait shrunk to
 * 3 s. The rig's Witness is the simulated Claude in a turn that never ends (`--busy`, townd's hooks) and
 * hangs 2 s after each start (its SessionStart told its session id by then): spinner on screen, no hook, no key read — the busy-but-hung CLI of
 * agent-states.md §3(d). It climbs one rung at a time, each recorded with its reason: a nudge, Escape, a
 * respawn resuming its conversation (`--resume <session id>`), a fresh respawn, then needs-human with one
 * `stuck` alert, and nothing more. Respawns go through the restart policy (backoff shrunk to 500 ms; B129).
 * The rig's Refinery is busy too but not hung: the nudge only queues behind its turn (Claude ≥ 2.1.69 keeps
 * a turn running when Escape comes with text in its box), and the Escape rung interrupts the turn, after
 * which it answers what was queued — cured at rung 2, never respawned.
 */

describe("a stalled agent climbs the stuck ladder", { timeout: 90_000 }, () => {
  let town: SupervisedTown;
  let notes: string;

  before(async () => {
    town = await createSupervisedTown({
      rigs: ["r1"],
      patrols: { deacon: { enabled: false } },
      settings: (s, h) => {
        notes = join(h.root, "notes.jsonl");
        s["agents"] = {
          ...(s["agents"] as Json),
          hung: h.simRuntime(["--busy", "--hang-after", "2s"]),
          busy: h.simRuntime(["--busy"]),
        };
        s["role_agents"] = { witness: "hung", refinery: "busy" };
        s["operational"] = {
          daemon: {
            recovery_heartbeat_interval: "1m",
            stuck: { after: "3s", rung_wait: "3s" },
            restart: { initial_backoff: "500ms", max_backoff: "1s" },
            notify_command: `cat >> ${notes}`,
          },
        };
      },
    });
    await town.start();
  });
  after(async () => {
    await town.cleanup();
  });

  const hookEvents = (): HookEvent[] => {
    const file = join(town.root, "daemon", "hook-events");
    if (!existsSync(file)) return [];
    return readFileSync(file, "utf8")
      .split("\n")
      .flatMap((line) => {
        const event = parseHookLine(line, 0);
        return event === null ? [] : [event];
      });
  };
  const sessionStart = (generation: string): Record<string, unknown> | undefined =>
    hookEvents().find((e) => e.generation === generation && e.event === "SessionStart")?.payload ?? undefined;
  const startCommand = async (): Promise<string> =>
    (await town.tmux(["display-message", "-p", "-t", "=gt-r1-witness:", "#{pane_start_command}"])).stdout;

  it("nudges, presses Escape, resumes, starts fresh, then needs a person: one rung at a time", async (t) => {
    const alert = await until(
      "the stuck alert",
      () => eventsOf(town, "stuck")[0],
      60_000,
      () => diagnose(town, "r1/witness"),
    );
    const spawns = spawnsOf(town, "r1/witness");
    assert.equal(spawns.length, 3, spawns.map((e) => `${e.type}: ${e.reason}`).join("\n"));
    const [g1, g2, g3] = spawns.map((e) => e.generation ?? "") as [string, string, string];
    t.diagnostic(`rung 5 ${alert.at - (spawns[0]?.at ?? 0)} ms after the first start`);

    // Rungs 1 and 2 went to the first generation: conduct's nudge, then Escape, each with its reason.
    const acts = conductActs(town, "r1/witness");
    assert.deepEqual(
      acts.map((e) => [e.generation ?? g1, e.data["act"]]),
      [
        [g1, "nudge"],
        [g1, "escape"],
      ],
    );
    assert.match(acts[0]?.reason ?? "", /^stuck, rung 1 \(nudge\): no progress for \d+s while working$/);
    assert.match(acts[1]?.reason ?? "", /^stuck, rung 2 \(Escape\): no progress for \d+s while working$/);
    assert.ok((acts[1]?.at ?? 0) - (acts[0]?.at ?? 0) >= 3000 - 1000, "rung_wait between rungs");
    assert.equal(
      inputsOf(town.simEntries(), g1).filter((e) => e.text === STUCK_NUDGE).length,
      0,
      "hung: read nothing",
    );
    assert.deepEqual(
      eventsOf(town, "keys_done", "r1/witness").map((e) => e.reason),
      [acts[1]?.reason],
    );

    // Rung 3: a respawn resuming the conversation, by Claude's session id; rung 4: a fresh one.
    const respawns = eventsOf(town, "decision", "r1/witness").filter((e) => e.data["action"] === "respawn");
    assert.equal(respawns.length, 2);
    assert.match(respawns[0]?.reason ?? "", /^stuck, rung 3 \(resume\): no progress for \d+s while working$/);
    assert.match(
      respawns[1]?.reason ?? "",
      /^stuck, rung 4 \(fresh respawn\): no progress for \d+s while working$/,
    );
    const session = sessionStart(g1)?.["session_id"];
    assert.equal(typeof session, "string");
    assert.equal(simLogOf(town, g2, "start")[0]?.["resume"], session, "gen 2 resumed gen 1's conversation");
    assert.deepEqual([sessionStart(g2)?.["source"], sessionStart(g2)?.["session_id"]], ["resume", session]);
    assert.equal(simLogOf(town, g3, "start")[0]?.["resume"], undefined, "gen 3 started afresh");
    assert.equal(sessionStart(g3)?.["source"], "startup");
    assert.notEqual(sessionStart(g3)?.["session_id"], session);
    assert.doesNotMatch(await startCommand(), /--resume/);

    // Rung 5: needs-human in status, one alert (event, notify_command), and nothing more is done.
    assert.match(
      alert.reason,
      /^r1\/witness is stuck \(no progress for \d+s while working\) after a nudge, Escape and respawns; it needs a person$/,
    );
    await sleep(3500);
    const status = await town.forcePasses(town.snapshot().daemon.heartbeat_count + 2, 10_000);
    const witness = town.agent(status, "r1/witness");
    assert.equal(witness.state, "needs-human");
    assert.match(witness.detail ?? "", /^stuck: no progress for \d+s while working$/);
    assert.equal(witness.generation, g3);
    assert.equal(eventsOf(town, "stuck").length, 1);
    assert.equal(spawnsOf(town, "r1/witness").length, 3);
    assert.equal(conductActs(town, "r1/witness").length, 2);
    assert.deepEqual(
      notifications(notes).map((n) => [n.type, n.agents]),
      [["stuck", ["r1/witness"]]],
    );
  });

  it("cures a busy Refinery that is not hung at the Escape rung: interrupted, it answers, never respawned", async () => {
    const acts = conductActs(town, "r1/refinery");
    assert.deepEqual(
      acts.map((e) => e.data["act"]),
      ["nudge", "escape"],
      diagnose(town, "r1/refinery"),
    );
    const [generation] = spawnsOf(town, "r1/refinery").map((e) => e.generation ?? "");
    assert.equal(spawnsOf(town, "r1/refinery").length, 1);
    assert.ok(generation !== undefined);
    const [interrupt] = simLogOf(town, generation, "interrupt");
    assert.ok(interrupt !== undefined, "Escape interrupted its turn");
    assert.ok(Date.parse(interrupt.ts) >= (acts[1]?.at ?? Infinity) - 1000);
    // What was queued behind the turn (the start-up's beacon and nudge, the ladder's nudge) is answered.
    assert.ok(Number(interrupt["queued"]) >= 3, JSON.stringify(interrupt));
    await untilActivity(town, "r1/refinery", "idle");
    const prompts = hookEvents()
      .filter((e) => e.generation === generation && e.event === "UserPromptSubmit")
      .map((e) => e.payload?.["prompt"])
      .filter((prompt): prompt is string => typeof prompt === "string");
    assert.ok(
      prompts.some((p) => p.startsWith(STUCK_NUDGE)),
      prompts.join("\n"),
    );
    assert.deepEqual(eventsOf(town, "stuck", "r1/refinery"), []);
    const refinery = town.agent(town.snapshot(), "r1/refinery");
    assert.notEqual(refinery.state, "needs-human");
  });
});
