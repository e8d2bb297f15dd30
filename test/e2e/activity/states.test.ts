import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  startedPatrolTown,
  type AgentStatusJson,
  type Json,
  type SupervisedTown,
} from "../../helpers/supervised-town.js";
import { storeEvents } from "../../helpers/store.js";
import { sleep, until } from "../../helpers/wait.js";

/**
 * What each agent is doing, on a real tmux server under the built daemon, through both channels: the
 * Deacon's simulated Claude fires townd's hooks (`/sim hook EVENT {json}` typed at its prompt fires any
 * event through the same settings file Claude reads), while the rig's Witness and Refinery run with
 * `"hooks": false`, so only their screens say what they do. An agent printing "429" or "rate limit" in its
 * own output must not read as walled.
 */

type Activity = NonNullable<AgentStatusJson["activity"]>;

describe("agent activity from hooks and from the screen", { timeout: 120_000 }, () => {
  let town: SupervisedTown;

  before(async () => {
    town = await startedPatrolTown({
      rigs: ["r1"],
      settings: (s, h) => {
        s["agents"] = {
          ...(s["agents"] as Json),
          screenonly: h.simRuntime([], { hooks: false }),
        };
        s["role_agents"] = { witness: "screenonly", refinery: "screenonly" };
        s["operational"] = { daemon: { recovery_heartbeat_interval: "500ms" } };
      },
    });
  });
  after(async () => {
    await town.cleanup();
  });

  const activityOf = async (identity: string): Promise<Activity | null> =>
    town.agent(await town.status(), identity).activity ?? null;

  const waitActivity = (identity: string, state: string, source: string, detail = /./): Promise<Activity> => {
    let last: Activity | null = null;
    let lastScreen = "";
    return until(
      `${identity} to be ${state} (${source})`,
      async () => {
        last = await activityOf(identity);
        const session = town.agent(await town.status(), identity).session;
        lastScreen = (await town.tmux(["capture-pane", "-p", "-t", `=${session}:`])).stdout;
        return last?.state === state && last.source === source && detail.test(last.detail) ? last : undefined;
      },
      15_000,
      () => `${JSON.stringify(last)}\n${lastScreen}`,
      100,
    );
  };

  /** Types a line once the agent's start-up sequence has typed its own (the propulsion nudge), so the two never mix. */
  const startedUp = new Set<string>();
  const type = async (session: string, line: string): Promise<void> => {
    if (!startedUp.has(session))
      await until(
        `${session}'s start-up nudge`,
        async () =>
          (await town.tmux(["capture-pane", "-p", "-t", `=${session}:`])).stdout.includes(
            "received: Run `gt prime`",
          ),
        15_000,
      );
    startedUp.add(session);
    const typed = await town.tmux(["send-keys", "-t", `=${session}:`, "-l", "--", line]);
    assert.equal(typed.code, 0, typed.stderr);
    const entered = await town.tmux(["send-keys", "-t", `=${session}:`, "Enter"]);
    assert.equal(entered.code, 0, entered.stderr);
  };

  it("follows the Deacon's hooks as they fire: idle, working, awaiting permission, compacting, walled, logged out", async () => {
    await waitActivity("deacon", "idle", "hook");
    // The Claude session the hooks reported is kept for the agent (for a later --resume).
    const session = (town.agent(await town.status(), "deacon") as { claude_session?: Json | null })
      .claude_session;
    assert.match(String(session?.["session_id"]), /\S/);
    await type("hq-deacon", '/sim hook PreToolUse {"tool_name":"Bash","tool_input":{"command":"npm test"}}');
    await waitActivity("deacon", "working", "hook");
    await type(
      "hq-deacon",
      '/sim hook PermissionRequest {"tool_name":"Bash","tool_input":{"command":"rm -rf build"}}',
    );
    const waiting = await waitActivity("deacon", "awaiting-permission", "hook");
    assert.match(waiting.detail, /Bash/);
    assert.match(waiting.detail, /rm -rf build/);
    await type("hq-deacon", '/sim hook PreCompact {"trigger":"auto"}');
    await waitActivity("deacon", "compacting", "hook");
    await type(
      "hq-deacon",
      '/sim hook StopFailure {"error":"rate_limit","last_assistant_message":"You\'ve hit your session limit"}',
    );
    const walled = await waitActivity("deacon", "rate-limited", "hook");
    assert.equal(walled.resets_at, null, "no reset time given: none invented");
    assert.notEqual(walled.limit, null);
    await type("hq-deacon", '/sim hook StopFailure {"error":"authentication_failed"}');
    await waitActivity("deacon", "auth-required", "hook");
    await type("hq-deacon", "/sim hook Stop {}");
    await waitActivity("deacon", "idle", "hook");

    const changes = storeEvents(town.root)
      .filter((e) => e.type === "activity" && e.identity === "deacon")
      .map((e) => e.reason.replace(/ \(.*$/, ""));
    for (const step of [
      "→ working",
      "working → awaiting-permission",
      "awaiting-permission → compacting",
      "compacting → rate-limited",
      "rate-limited → auth-required",
      "auth-required → idle",
    ]) {
      assert.ok(
        changes.some((c) => c.endsWith(step)),
        `an activity event "${step}" in:\n${changes.join("\n")}`,
      );
    }
    const why = await town.townd(["why", "deacon"]);
    assert.equal(why.code, 0, why.stderr);
    // why reads the daemon's last written status: the activity line is there, from a hook.
    assert.match(why.stdout, /activity: [a-z-]+ for \d+s \(hook\)/);
  });

  it("reads every state a hookless agent's screen shows, as the simulated agent draws Claude's screens", async () => {
    const expected: [screen: string, state: string, detail: RegExp][] = [
      ["working", "working", /esc to interrupt/],
      ["permission", "awaiting-permission", /rm -rf build/],
      ["compacting", "compacting", /Compacting/],
      ["spend-limit", "rate-limited", /out of extra usage/],
      ["legacy-limit", "rate-limited", /usage limit reached/],
      ["logged-out", "auth-required", /Not logged in/],
      ["limit-options", "rate-limited", /What do you want to do|Stop and wait/],
      ["idle", "idle", /./],
    ];
    await waitActivity("r1/refinery", "idle", "screen");
    for (const [screen, state, detail] of expected) {
      // A clean screen first: each state is read from the last lines only, as on a real pane.
      await type("gt-r1-refinery", '/sim run printf "\\033[2J\\033[H"');
      await type("gt-r1-refinery", `/sim screen ${screen}`);
      const activity = await waitActivity("r1/refinery", state, "screen", detail);
      if (screen === "spend-limit") assert.equal(activity.limit, "spend");
    }
  });

  it("reads a usage-limit banner on a hookless agent's screen, with its reset in the banner's zone", async () => {
    await waitActivity("r1/witness", "idle", "screen");
    const before = Date.now();
    // The middle dot as printf escapes: keys typed through tmux stay ASCII.
    await type(
      "gt-r1-witness",
      '/sim run printf "You\'ve hit your session limit \\302\\267 resets 4:20pm (UTC)\\n"',
    );
    const walled = await waitActivity("r1/witness", "rate-limited", "screen");
    assert.equal(walled.limit, "session");
    const resets = Date.parse(walled.resets_at ?? "");
    const next = new Date(before);
    next.setUTCHours(16, 20, 0, 0);
    if (next.getTime() <= before) next.setUTCDate(next.getUTCDate() + 1);
    assert.equal(resets, next.getTime(), `resets_at ${walled.resets_at ?? "null"}`);
  });

  it("keeps an agent that prints '429 Too Many Requests' or 'rate limit' in its own output idle", async () => {
    await waitActivity("r1/refinery", "idle", "screen");
    const since = Date.now();
    await type("gt-r1-refinery", '/sim run printf "HTTP 429 Too Many Requests: rate limit exceeded\\n"');
    // Several passes (every 500 ms) and second looks: never walled.
    const deadline = Date.now() + 4_000;
    while (Date.now() < deadline) {
      const activity = await activityOf("r1/refinery");
      assert.notEqual(activity?.state, "rate-limited", JSON.stringify(activity));
      await sleep(250);
    }
    const events = (): string =>
      storeEvents(town.root)
        .filter((e) => e.identity === "r1/refinery")
        .map((e) => `${e.type}: ${e.reason}`)
        .concat(town.simEntries().map((e) => JSON.stringify(e)))
        .join("\n");
    const why = (await town.townd(["why", "r1/refinery"])).stdout;
    assert.equal((await activityOf("r1/refinery"))?.state, "idle", `${events()}\n${why}`);
    const wrong = storeEvents(town.root).filter(
      (e) =>
        e.type === "activity" &&
        e.identity === "r1/refinery" &&
        e.at >= since &&
        /rate-limited/.test(e.reason),
    );
    assert.deepEqual(wrong, []);
  });
});
