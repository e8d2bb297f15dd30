import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runCli } from "../../src/cli/cli.js";
import {
  createSupervisedTown,
  isAlive,
  type PaneRow,
  type SupervisedTown,
} from "../helpers/supervised-town.js";
import {
  chaosRandom,
  checkDaemonFiles,
  daemonProcesses,
  eventRows,
  killDaemon,
  mailRows,
  requestRows,
  sleep,
  spawnDaemon,
  storeIntegrity,
  tmuxServers,
} from "./_helpers.js";

/**
 * kill -9 of the daemon at random moments, ~50 times in a row, with lifecycle requests queued while it runs
 * and while it is down (and now and then a hostile lifecycle mail). Then one last start, and the invariants:
 * - I1: exactly the expected sessions, one pane each, one tmux server;
 * - I5: every request is either still in the inbox, or a row done/failed/interrupted (none left claimed, none
 *   missing), executed at most once (spawn_done/respawn_done events name their request in their reason), and
 *   every interrupted one was answered by mail; hostile requests were rejected, never executed;
 * - I6: one daemon; I7: every file in daemon/ parses and the store passes SQLite's integrity check.
 *
 * The kill points and requests come from a seeded PRNG: CHAOS_SEED=<seed> replays a run.
 */

const ITERATIONS = 50;
/** The loop stops early past this, so a slow machine still finishes well inside the test timeout. */
const LOOP_BUDGET_MS = 50_000;
const AGENTS: Record<string, string> = {
  deacon: "hq-deacon",
  "r1/witness": "gt-r1-witness",
  "r1/refinery": "gt-r1-refinery",
  "r1/polecats/max": "gt-r1-max",
};

interface Sent {
  id: string;
  identity: string;
  action: string;
  daemonUp: boolean;
}

describe("kill -9 of the daemon at random points", { timeout: 120_000 }, () => {
  const { seed, random } = chaosRandom(0x6b696c6c);
  let town: SupervisedTown;
  const sent: Sent[] = [];
  const hostile: { id: string; body: string }[] = [];
  let canary = "";
  let iterations = 0;

  const between = (min: number, max: number): number => min + Math.floor(random() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

  /** One CLI invocation in-process (fast: no node start-up per request). */
  const cli = async (args: string[]): Promise<{ code: number; out: string }> => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(["--town", town.root, ...args], {
      env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: town.root },
      cwd: town.root,
      out: (line) => out.push(line),
      err: (line) => err.push(line),
    });
    if (code !== 0) throw new Error(`townd ${args.join(" ")} failed (${code}): ${err.join("\n")}`);
    return { code, out: out.join("\n") };
  };

  const queueRequest = async (daemonUp: boolean): Promise<void> => {
    const identity = pick(Object.keys(AGENTS));
    const action = random() < 0.7 ? "cycle" : "restart";
    const { out } = await cli(["request", action, "--as", identity]);
    const id = /\((msg-[0-9a-z]+)\)/.exec(out)?.[1];
    assert.ok(id !== undefined, `no message id in ${out}`);
    sent.push({ id, identity, action, daemonUp });
  };

  const queueHostile = async (): Promise<void> => {
    const body = pick([
      '{"action":"constructor"}',
      '{"action":"__proto__"}',
      '{"action":"toString"}',
      `{"action":"cycle; touch ${canary}"}`,
      `$(touch ${canary})`,
      "`touch " + canary + "`",
      "restart\nshutdown",
      '{"action": ["cycle"]}',
      "\u001b[31mcycle",
    ]);
    const { out } = await cli([
      "mail",
      "send",
      "deacon",
      "-s",
      "LIFECYCLE: hostile",
      "-m",
      body,
      "--from",
      pick(Object.keys(AGENTS)),
    ]);
    const id = /Sent (msg-[0-9a-z]+)/.exec(out)?.[1];
    assert.ok(id !== undefined, out);
    hostile.push({ id, body });
  };

  before(async () => {
    town = await createSupervisedTown({
      rigs: ["r1"],
      settings: (s) => {
        s["operational"] = {
          daemon: {
            recovery_heartbeat_interval: "200ms",
            kill_grace_period: "2s",
            // Deaths a kill -9 causes mid-cycle are not what this test is about: keep the policy from
            // holding agents back for minutes (each is counted and reported below).
            restart: { initial_backoff: "300ms", max_backoff: "1s", crash_loop_count: 1000 },
            spawn_budget: { count: 1000, window: "10m" },
            mass_death_threshold: 1000,
            // Every request must be accounted for; the per-agent request rate is not what is tested here.
            lifecycle_request_rate: { count: 1000, window: "10m" },
          },
        };
      },
    });
    canary = join(town.root, "CANARY");
    mkdirSync(join(town.root, "r1", "polecats", "max"), { recursive: true });
    await cli(["hook", "set", "r1/polecats/max", "gt-1"]);
  });
  after(async () => {
    await town.cleanup();
  });

  it(`${ITERATIONS} × (start, requests, random wait 50–600 ms, kill -9), then one clean start`, async (t) => {
    t.diagnostic(`CHAOS_SEED=${seed}`);
    const started = Date.now();
    const killedAfter: number[] = [];
    for (let i = 0; i < ITERATIONS && Date.now() - started < LOOP_BUDGET_MS; i++) {
      if (random() < 0.3) await queueRequest(false);
      // Every third start through `townd start`; the others spawn `townd run` the same way without the extra
      // CLI process (~250 ms each), so that 50 rounds fit the time budget.
      if (i % 3 === 0) await town.start();
      else await spawnDaemon(town);
      if (random() < 0.6) {
        const n = between(1, 2);
        for (let k = 0; k < n; k++) await queueRequest(true);
      }
      if (random() < 0.1) await queueHostile();
      const wait = between(50, 600);
      await sleep(wait);
      killedAfter.push(wait);
      await killDaemon(town);
      iterations++;
    }
    t.diagnostic(
      `${iterations} kills in ${Date.now() - started} ms; ${sent.length} requests (${sent.filter((s) => !s.daemonUp).length} queued while down), ${hostile.length} hostile mails`,
    );
    assert.ok(iterations >= 25, `only ${iterations} iterations fitted in the budget`);

    // The last daemon: let it take every request and bring every agent up.
    await town.start();
    const settled = Date.now();
    const expected = Object.values(AGENTS).sort();
    let panes: PaneRow[] = [];
    for (;;) {
      panes = await town.panes();
      const inbox = mailRows(town.root).filter((m) => m.to_id === "deacon" && /^lifecycle:/i.test(m.subject));
      const claimed = requestRows(town.root).filter((r) => r.status === "claimed");
      const status = town.snapshot();
      const running = status.agents.filter((a) => a.state === "running").length;
      const allUp = panes.length === expected.length && panes.every((p) => !p.dead && p.command === "2.1.7");
      if (inbox.length === 0 && claimed.length === 0 && allUp && running === expected.length) break;
      if (Date.now() - settled > 40_000) {
        assert.fail(
          `the town did not settle within 40 s: inbox ${inbox.length}, claimed ${claimed.length}, ` +
            `running ${running}, panes ${panes.map((p) => `${p.session}:${p.dead ? "dead" : p.command}`).join(", ")}\n` +
            town
              .log()
              .slice(-15)
              .map((r) => `${r.time} ${r.msg}`)
              .join("\n"),
        );
      }
      await sleep(100);
    }
    t.diagnostic(`settled ${Date.now() - settled} ms after the last start`);
  });

  it("I1: exactly the expected sessions, one pane each, on one tmux server", async () => {
    const panes = await town.panes();
    const sessions = panes.map((p) => p.session).sort();
    assert.deepEqual(sessions, Object.values(AGENTS).sort(), "one pane per agent session, no other session");
    for (const [identity, session] of Object.entries(AGENTS)) {
      const pane = panes.find((p) => p.session === session);
      assert.ok(pane !== undefined, `${session} exists`);
      assert.equal(pane.identity, identity, `${session} carries its identity`);
      assert.ok(!pane.dead && isAlive(pane.pid), `${session} runs`);
    }
    assert.equal(tmuxServers(town.root).length, 1, "one tmux server for the town");
  });

  it("I5: every request executed at most once, none left claimed, none lost", (t) => {
    const rows = new Map(requestRows(town.root).map((r) => [r.id, r]));
    const inbox = new Set(
      mailRows(town.root)
        .filter((m) => m.to_id === "deacon")
        .map((m) => m.id),
    );
    const events = eventRows(town.root);
    // Three witnesses of an execution: the spawn/respawn event, the "Started …" log line the daemon writes as
    // soon as tmux took the new generation, and the agent of the generation recorded for the request having
    // run (a daemon killed right after the tmux call leaves only the last).
    const started = town.log().filter((r) => r.msg.startsWith("Started "));
    const ranGenerations = new Set(town.simEntries().map((e) => e.generation));
    const executions = (id: string): number =>
      Math.max(
        events.filter(
          (e) =>
            (e.type === "respawn_done" || e.type === "spawn_done") &&
            e.reason.includes(`lifecycle request ${id}`),
        ).length,
        new Set(started.filter((r) => r.msg.endsWith(`lifecycle request ${id}`)).map((r) => r.generation))
          .size,
        ranGenerations.has(rows.get(id)?.to_generation ?? null) ? 1 : 0,
      );
    const counts = { done: 0, failed: 0, interrupted: 0, inbox: 0, executedButInterrupted: 0 };
    const problems: string[] = [];
    for (const request of sent) {
      const row = rows.get(request.id);
      const ran = executions(request.id);
      if (ran > 1)
        problems.push(`${request.id} (${request.action} ${request.identity}) executed ${ran} times`);
      if (row === undefined) {
        if (inbox.has(request.id)) counts.inbox++;
        else
          problems.push(
            `${request.id} (${request.action} ${request.identity}) is lost: no row, not in the inbox`,
          );
        continue;
      }
      if (row.identity !== request.identity || row.action !== request.action)
        problems.push(`${request.id} recorded as ${row.action} ${row.identity}`);
      switch (row.status) {
        case "done":
          counts.done++;
          if (ran !== 1) problems.push(`${request.id} is done but was executed ${ran} times`);
          break;
        case "failed":
          counts.failed++;
          break;
        case "interrupted": {
          counts.interrupted++;
          if (ran === 1) counts.executedButInterrupted++;
          const told = mailRows(town.root).some(
            (m) =>
              m.to_id === request.identity &&
              m.subject === `LIFECYCLE INTERRUPTED: ${request.identity} ${request.action}` &&
              m.body.includes(request.id),
          );
          if (!told) problems.push(`${request.id} was interrupted but its sender was not told`);
          break;
        }
        default:
          problems.push(`${request.id} is left ${row.status}`);
      }
    }
    t.diagnostic(
      `${sent.length} requests: ${counts.done} done, ${counts.failed} failed, ${counts.interrupted} interrupted ` +
        `(${counts.executedButInterrupted} of them had run), ${counts.inbox} still in the inbox`,
    );
    assert.deepEqual(problems, []);
  });

  it("hostile lifecycle mail is rejected with a reply, never executed, and runs nothing", () => {
    const events = eventRows(town.root);
    const inbox = new Set(mailRows(town.root).map((m) => m.id));
    for (const { id, body } of hostile) {
      const rejected = events.some((e) => e.type === "lifecycle_rejected" && e.data.includes(`"${id}"`));
      assert.ok(
        rejected || inbox.has(id),
        `hostile mail ${id} (${JSON.stringify(body)}) was neither rejected nor left`,
      );
      assert.ok(
        !events.some((e) => e.reason.includes(id) && e.type.endsWith("_done")),
        `hostile mail ${id} was executed`,
      );
    }
    assert.equal(existsSync(canary), false, "nothing in a mail was run");
  });

  it("I6 and I7: one daemon; every file in daemon/ parses; the store is intact", (t) => {
    assert.equal(daemonProcesses(town.root).length, 1, "one daemon");
    const files = checkDaemonFiles(town.root);
    t.diagnostic(
      `${files.checked} files checked; ${files.leftovers.length} temp files left by interrupted atomic writes${files.leftovers.length > 0 ? `: ${files.leftovers.join(", ")}` : ""}`,
    );
    assert.deepEqual(files.broken, [], "every file parses");
    assert.equal(storeIntegrity(town.root), "ok");
    const autoRestarts = town.snapshot().agents.reduce((sum, a) => sum + a.restarts_auto, 0);
    t.diagnostic(
      `automatic restarts after all the kills: ${autoRestarts} (deaths a kill -9 caused mid-cycle)`,
    );
  });
});
