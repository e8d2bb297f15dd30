import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { isAlive, type PaneRow, type SupervisedTown } from "../helpers/supervised-town.js";
import { sleep, until } from "../helpers/wait.js";
import {
  createClaudeTown,
  destroyClaudeTown,
  eventsOfType,
  isDialog,
  screen,
  scrollback,
  showsEmptyPrompt,
  skipWithoutClaude,
  submittedPrompts,
  type ClaudeTown,
} from "./_claude.js";

/**
 * The real Claude Code CLI (the pinned version, no login) as every patrol agent of one town: the Deacon and one
 * rig's Witness and Refinery, under the built daemon on a private tmux server, with a private HOME that has
 * completed onboarding and trusts no folder. Each agent must get past Claude's workspace trust dialog and its
 * Bypass Permissions warning by itself (test/fixtures/claude-2.1.332/README.md shows both), get its startup
 * beacon typed at Claude's prompt, and then be left alone: Claude without a login answers every prompt with
 * "Not logged in" and writes no heartbeat, which is no reason to restart it.
 */

/** The limit from the issue: each agent shows Claude's empty prompt within 15 s of its spawn. */
const PROMPT_LIMIT_MS = 15_000;
/** How long the town must run without a restart. */
const STABLE_MS = 3 * 60_000;
/** How often the watcher looks at every pane. */
const WATCH_MS = 250;

/** What the watcher saw of one generation of one agent (one pane process). */
interface Seen {
  session: string;
  pid: number;
  generation: string;
  firstSeenAt: number;
  /** First time the screen showed the empty prompt box. */
  promptAt?: number;
  /** First time a submitted prompt line held the beacon. */
  beaconAt?: number;
  /** Which dialogs were on screen (first line of each kind). */
  dialogs: Set<string>;
  /** Screens showing a dialog with beacon text in them. */
  beaconInDialog: string[];
  lastScreen: string;
}

function dialogKind(text: string): string {
  if (text.includes("Accessing workspace:")) return "trust";
  if (text.includes("Bypass Permissions mode")) return "bypass";
  if (text.includes("Detected a custom API key")) return "api-key";
  if (text.includes("New MCP server found")) return "mcp";
  return "other";
}

/** Polls every agent's screen in the background and records, per pane process, what it showed and when. */
class ScreenWatcher {
  readonly seen = new Map<string, Seen>();
  private running = true;
  private loop: Promise<void> | undefined;
  private readonly town: SupervisedTown;
  private readonly sessions: readonly string[];

  constructor(town: SupervisedTown, sessions: readonly string[]) {
    this.town = town;
    this.sessions = sessions;
  }

  start(): void {
    this.loop = (async () => {
      while (this.running) {
        const panes = await this.town.panes();
        for (const session of this.sessions) {
          const pane = panes.find((p) => p.session === session);
          if (pane === undefined || pane.dead) continue;
          await this.look(pane);
        }
        await sleep(WATCH_MS);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** The record of the pane process now running in `session`, if the watcher saw it. */
  current(pane: PaneRow): Seen | undefined {
    return this.seen.get(`${pane.session}:${pane.pid}`);
  }

  private async look(pane: PaneRow): Promise<void> {
    const text = await screen(this.town, pane.session);
    const now = Date.now();
    const key = `${pane.session}:${pane.pid}`;
    let seen = this.seen.get(key);
    if (seen === undefined) {
      seen = {
        session: pane.session,
        pid: pane.pid,
        generation: pane.generation,
        firstSeenAt: now,
        dialogs: new Set(),
        beaconInDialog: [],
        lastScreen: text,
      };
      this.seen.set(key, seen);
    }
    seen.lastScreen = text;
    if (isDialog(text)) {
      seen.dialogs.add(dialogKind(text));
      if (text.includes("[GAS TOWN]")) seen.beaconInDialog.push(text);
    } else if (seen.promptAt === undefined && showsEmptyPrompt(text)) {
      seen.promptAt = now;
    }
    if (seen.beaconAt === undefined && submittedPrompts(text).some((p) => p.startsWith("[GAS TOWN]"))) {
      seen.beaconAt = now;
    }
  }
}

describe("real Claude Code as the patrol agents", { timeout: 330_000, skip: skipWithoutClaude() }, () => {
  let ct: ClaudeTown;
  let built = false;
  let town: SupervisedTown;
  let watcher: ScreenWatcher;
  let startedAt = 0;
  const identities = ["deacon", "r1/witness", "r1/refinery"];
  const sessionOf = (identity: string): string => {
    const session = ct.sessions[identity];
    assert.ok(session !== undefined, `no session for ${identity}`);
    return session;
  };

  /** When the daemon logged the start of `identity`'s `generation` (epoch ms). */
  const spawnTime = (identity: string, generation: string): number | undefined => {
    const record = town
      .log()
      .find((r) => r.msg.startsWith("Started ") && r.agent === identity && r.generation === generation);
    return record === undefined ? undefined : Date.parse(record.time);
  };

  const describeScreens = (): string =>
    [...watcher.seen.values()]
      .map(
        (s) =>
          `--- ${s.session} pid ${s.pid} gen ${s.generation}: dialogs [${[...s.dialogs].join(", ")}], prompt ` +
          `${s.promptAt === undefined ? "never" : `${s.promptAt - s.firstSeenAt} ms after first seen`}\n` +
          s.lastScreen
            .split("\n")
            .filter((l) => l.trim() !== "")
            .join("\n"),
      )
      .join("\n");

  const logTail = (n = 20): string =>
    town
      .log()
      .slice(-n)
      .map((r) => `${r.time} ${r.agent ?? ""} ${r.msg}`)
      .join("\n");

  /** Waits for the pane process now in `session` to show the empty prompt; returns ms since its spawn. */
  const promptAfterSpawn = async (identity: string, pane: PaneRow, limitMs: number): Promise<number> => {
    const spawnedAt = await until(
      `the daemon to log the start of ${identity} generation ${pane.generation}`,
      () => spawnTime(identity, pane.generation),
      10_000,
      () => logTail(),
    );
    await until(
      `${identity} (pid ${pane.pid}) to show Claude's empty ❯ prompt`,
      () => watcher.current(pane)?.promptAt,
      Math.max(0, spawnedAt + limitMs + 5_000 - Date.now()),
      () => `${describeScreens()}\n--- daemon log ---\n${logTail()}`,
      100,
    );
    const promptAt = watcher.current(pane)?.promptAt ?? Infinity;
    return promptAt - spawnedAt;
  };

  /** Waits (bounded) until `identity` runs a claude that has shown its empty prompt; returns its pane. */
  const atPrompt = (identity: string, timeoutMs: number): Promise<PaneRow> =>
    until(
      `${identity} to run a claude that has shown its prompt`,
      async () => {
        const pane = await town.pane(sessionOf(identity));
        return pane !== undefined && !pane.dead && watcher.current(pane)?.promptAt !== undefined
          ? pane
          : undefined;
      },
      timeoutMs,
      () => `${describeScreens()}\n--- daemon log ---\n${logTail()}`,
      100,
    );

  before(async () => {
    ct = await createClaudeTown({
      passInterval: "5s",
      deaconGrace: "30s",
      // Shortened so the 3 minutes below cover several idle-patrol and stall periods: a Deacon at "Not
      // logged in" must be neither killed nor nudged in a loop.
      daemon: { idle_patrol_nudge_after: "30s", stuck: { after: "40s", rung_wait: "20s" } },
    });
    town = ct.town;
    built = true;
    watcher = new ScreenWatcher(town, Object.values(ct.sessions));
    startedAt = Date.now();
    await town.start();
    watcher.start();
  });

  after(async () => {
    // before() may have failed before the town existed.
    if (!built) return;
    await watcher.stop();
    await destroyClaudeTown(ct);
  });

  it("every patrol agent passes the trust and bypass dialogs by itself and shows the empty ❯ prompt within 15 s of its spawn", async (t) => {
    const panes = await town.waitForPanes(
      (ps) => identities.every((id) => ps.some((p) => p.session === sessionOf(id) && !p.dead)),
      30_000,
      "the Deacon, Witness and Refinery sessions",
    );
    // All three at once, so each gets its own deadline from its own spawn.
    const results = await Promise.allSettled(
      identities.map(async (identity) => {
        const pane = panes.find((p) => p.session === sessionOf(identity));
        assert.ok(pane !== undefined);
        const ms = await promptAfterSpawn(identity, pane, PROMPT_LIMIT_MS);
        const dialogs = [...(watcher.current(pane)?.dialogs ?? [])].join(", ") || "none";
        t.diagnostic(`${identity}: empty prompt ${ms} ms after its spawn; dialogs seen: ${dialogs}`);
        return ms > PROMPT_LIMIT_MS ? `${identity} showed its prompt ${ms} ms after its spawn` : undefined;
      }),
    );
    const failures = results
      .map((r) => (r.status === "rejected" ? (r.reason as Error).message : r.value))
      .filter((f) => f !== undefined);
    if (failures.length > 0) assert.fail(failures.join("\n\n"));
  });

  it("types the startup beacon at Claude's prompt (a submitted prompt line), never into a dialog", async () => {
    const results = await Promise.allSettled(
      identities.map((identity) => {
        const session = sessionOf(identity);
        const header = `[GAS TOWN] ${identity} <- daemon • `;
        return until(
          `${identity}'s beacon as a submitted prompt in its pane`,
          async () => submittedPrompts(await scrollback(town, session)).some((p) => p.startsWith(header)),
          30_000,
          () => describeScreens(),
          250,
        );
      }),
    );
    const failures = results.flatMap((r) => (r.status === "rejected" ? [(r.reason as Error).message] : []));
    for (const seen of watcher.seen.values()) {
      if (seen.beaconInDialog.length > 0) {
        failures.push(`${seen.session} showed the beacon inside a dialog:\n${seen.beaconInDialog[0]}`);
      }
    }
    if (failures.length > 0) assert.fail(failures.join("\n\n"));
  });

  it("restarts nothing for 3 minutes at a 5 s pass interval and a 30 s Deacon grace: no mass_death, no crash_loop", async (t) => {
    const first = new Map<string, number>();
    for (const identity of identities) {
      const pane = await town.pane(sessionOf(identity));
      if (pane !== undefined && !pane.dead) first.set(identity, pane.pid);
    }
    const until3m = startedAt + STABLE_MS;
    let passes = 0;
    for (;;) {
      const status = town.snapshot();
      passes = status.daemon.heartbeat_count;
      const restarted = status.agents
        .filter((a) => identities.includes(a.identity) && a.restarts > 0)
        .map(
          (a) => `${a.identity}: ${a.restarts} restarts (${a.state}, last reason: ${a.last_reason ?? "-"})`,
        );
      const alerts = eventsOfType(town, "mass_death", "crash_loop").map((e) => `${e.type}: ${e.reason}`);
      const changed: string[] = [];
      for (const [identity, pid] of first) {
        const pane = await town.pane(sessionOf(identity));
        if (pane?.pid !== pid) changed.push(`${identity}: pid ${pid} -> ${pane?.pid ?? "none"}`);
      }
      const problems = [...restarted, ...alerts, ...changed];
      assert.deepEqual(
        problems,
        [],
        `after ${Math.round((Date.now() - startedAt) / 1000)} s: ${problems.join("; ")}\n${logTail()}\n${describeScreens()}`,
      );
      if (Date.now() >= until3m) break;
      await sleep(Math.min(5_000, Math.max(0, until3m - Date.now())));
    }
    const status = await town.status();
    for (const identity of identities) {
      assert.equal(town.agent(status, identity).restarts, 0, `${identity} restarts in status --json`);
    }
    t.diagnostic(`${passes} passes in ${Math.round((Date.now() - startedAt) / 1000)} s, no restart`);
    assert.ok(passes >= 30, `the daemon ran a pass every 5 s (${passes} passes)`);

    // Logged out, the agents wait for a person: conduct nudges none of them in a loop. An idle patrol gets
    // its nudge at most at 30 s, 90 s and 210 s (doubling); an auth-required one gets none.
    const acts = eventsOfType(town, "conduct");
    const activities = identities.map((identity) => {
      const activity = town.agent(status, identity).activity;
      return `${identity}: ${activity?.state ?? "-"} (${activity?.source ?? "-"}: ${activity?.detail ?? ""})`;
    });
    t.diagnostic(
      `activities: ${activities.join("; ")}; conduct acts: ${acts.map((e) => `${e.identity ?? ""} ${e.reason}`).join("; ") || "none"}`,
    );
    for (const identity of identities) {
      const mine = acts.filter((e) => e.identity === identity);
      assert.ok(
        mine.length <= 2,
        `${identity} was nudged ${mine.length} times in 3 minutes: ${mine.map((e) => e.reason).join("; ")}`,
      );
      assert.ok(
        mine.every((e) => !e.reason.startsWith("stuck")),
        `${identity} is not stuck: ${mine.map((e) => e.reason).join("; ")}`,
      );
      assert.notEqual(
        town.agent(status, identity).activity?.state,
        "working",
        `${identity} is not working\n${describeScreens()}`,
      );
    }
  });

  it("a kill -9 of one agent's claude brings a new claude back to its ❯ prompt", async (t) => {
    const identity = "r1/witness";
    const session = sessionOf(identity);
    const before = await atPrompt(identity, 30_000);
    process.kill(before.pid, "SIGKILL");
    const after = await until(
      `a new claude in ${session}`,
      async () => {
        const pane = await town.pane(session);
        return pane !== undefined && !pane.dead && pane.pid !== before.pid ? pane : undefined;
      },
      30_000,
      () => logTail(),
    );
    const ms = await promptAfterSpawn(identity, after, PROMPT_LIMIT_MS);
    t.diagnostic(
      `${identity} respawned (pid ${before.pid} -> ${after.pid}), empty prompt ${ms} ms after the spawn`,
    );
    assert.ok(ms <= PROMPT_LIMIT_MS, `prompt ${ms} ms after the spawn`);
    assert.equal(isAlive(before.pid), false);
  });

  it("a cycle request brings a new claude back to its ❯ prompt", async (t) => {
    const identity = "r1/refinery";
    const session = sessionOf(identity);
    const before = await atPrompt(identity, 30_000);
    const run = await town.townd(["request", "cycle", "--as", identity, "--reason", "real-claude test"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Requested cycle of r1\/refinery/);
    const after = await until(
      `a new claude in ${session}`,
      async () => {
        const pane = await town.pane(session);
        return pane !== undefined &&
          !pane.dead &&
          pane.generation !== before.generation &&
          pane.pid !== before.pid
          ? pane
          : undefined;
      },
      30_000,
      () => logTail(),
    );
    const ms = await promptAfterSpawn(identity, after, PROMPT_LIMIT_MS);
    t.diagnostic(
      `${identity} cycled (pid ${before.pid} -> ${after.pid}), empty prompt ${ms} ms after the spawn`,
    );
    assert.ok(ms <= PROMPT_LIMIT_MS, `prompt ${ms} ms after the spawn`);
    const status = await town.waitFor(
      (s) => town.agent(s, identity).generation === after.generation,
      10_000,
      "status to show the new generation",
    );
    assert.equal(town.agent(status, identity).restarts_manual, 1);
  });
});
