import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, it } from "node:test";
import {
  createSupervisedTown,
  REPO_ROOT,
  type CliRun,
  type SupervisedTown,
} from "../../helpers/supervised-town.js";
import { eventRows, generationOf, mailRows, requestRows, storeFile, until } from "./_helpers.js";

/**
 * Many requests at once (I5, B72): ten agents (the witness and refinery of five rigs) and 100 cycle requests,
 * ten per agent, all launched together: 20 by their own `townd request cycle` process (two per agent) and 80
 * by eight writer processes that each send one request for every agent the way the CLI does (the built
 * store code, then SIGUSR1), one transaction per request. The writers contend for the store while the
 * daemon claims and executes; every request must be executed exactly once: 100 `done` rows, ten manual
 * restarts per agent, 100 distinct new generations, nothing left in the inbox.
 *
 * (100 CLI processes at once also pass, but take ~60 s here only to start 100 Node processes on two cores.)
 */

const RIGS = ["c1", "c2", "c3", "c4", "c5"];
const AGENTS = RIGS.flatMap((rig) => [`${rig}/witness`, `${rig}/refinery`]);
const PER_AGENT = 10;
const TOTAL = AGENTS.length * PER_AGENT;
/** Rounds sent by `townd request` processes; the rest by writer processes (one process per round). */
const CLI_ROUNDS = 2;
/** The target is ~60 s on a 2-core machine; this bound leaves room for a loaded CI box. */
const RUN_LIMIT_MS = 120_000;

const sessionOf = (identity: string): string => `gt-${identity.replace("/", "-")}`;

const moduleUrl = (relative: string): string => pathToFileURL(join(REPO_ROOT, "dist", relative)).href;

/**
 * A separate process sending one cycle request per agent exactly as `townd request cycle --as A` does
 * (built store code, same subject/body/type, then SIGUSR1 to the daemon), without the CLI's start-up cost.
 */
function runWriter(town: SupervisedTown, daemonPid: number, round: number): Promise<CliRun> {
  const script = `
    import { openDb } from ${JSON.stringify(moduleUrl("store/db.js"))};
    import { sendMail } from ${JSON.stringify(moduleUrl("store/mail.js"))};
    import { touchAgent } from ${JSON.stringify(moduleUrl("store/agents.js"))};
    const agents = ${JSON.stringify(AGENTS)};
    const ids = [];
    for (const identity of agents) {
      const db = openDb(${JSON.stringify(storeFile(town))});
      try {
        touchAgent(db, identity);
        const body = JSON.stringify({ action: "cycle", reason: "round ${round}" });
        const message = sendMail(db, {
          from: identity, to: "deacon", subject: "LIFECYCLE: " + identity + " requesting cycle", body, type: "lifecycle",
        });
        ids.push(message.id);
      } finally {
        db.close();
      }
      process.kill(${daemonPid}, "SIGUSR1");
    }
    process.stdout.write(ids.map((id) => "(" + id + ")").join(" ") + " ");
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, SUPERVISED_TOWN: town.root },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

describe("100 concurrent lifecycle requests for 10 agents", { timeout: 240_000 }, () => {
  let town: SupervisedTown;

  before(async () => {
    town = await createSupervisedTown({
      rigs: RIGS,
      // Only the rigs' agents: the deacon would add nothing here but load.
      patrols: { deacon: { enabled: false } },
      // Ten requests per agent within seconds: above the default per-agent request rate on purpose.
      settings: (s) => {
        s["operational"] = { daemon: { lifecycle_request_rate: { count: 100, window: "10m" } } };
      },
    });
    await town.start();
    await town.waitForPanes(
      (ps) =>
        AGENTS.every((a) => ps.some((p) => p.session === sessionOf(a) && !p.dead && p.command === "2.1.7")),
      60_000,
      "all ten agents to run",
    );
  });
  after(async () => {
    await town.cleanup();
  });

  it("I5/B72: each of 100 requests is executed exactly once: 100 done rows, 10 manual restarts per agent, 100 new generations", async (t) => {
    const startGenerations = new Map<string, string | undefined>();
    for (const agent of AGENTS) startGenerations.set(agent, await generationOf(town, sessionOf(agent)));
    const lastEventBefore = eventRows(town).at(-1)?.id ?? 0;

    const daemonPid = town.daemonPid();
    assert.ok(daemonPid !== undefined);
    const started = Date.now();
    // All launched at once: 20 CLI processes and 8 writer processes.
    const runs: Promise<CliRun>[] = [];
    for (let round = 0; round < PER_AGENT; round++) {
      if (round < CLI_ROUNDS) {
        for (const agent of AGENTS) {
          runs.push(
            town.townd(["request", "cycle", "--as", agent, "--reason", `round ${round}`], {
              timeoutMs: 120_000,
            }),
          );
        }
      } else {
        runs.push(runWriter(town, daemonPid, round));
      }
    }
    const results = await Promise.all(runs);
    const sentMs = Date.now() - started;
    for (const result of results) assert.equal(result.code, 0, `a request sender failed: ${result.stderr}`);
    const ids = results.flatMap((r) => [...r.stdout.matchAll(/\((msg-[0-9a-z]+)\)/g)].map((m) => m[1]));
    assert.equal(ids.length, TOTAL, "100 requests sent");
    assert.equal(new Set(ids).size, TOTAL, "100 distinct request ids");

    const rows = await until(
      "all 100 requests to be finished",
      () => {
        const all = requestRows(town);
        return all.length === TOTAL && all.every((r) => r.status !== "claimed") ? all : undefined;
      },
      RUN_LIMIT_MS,
      () => {
        const all = requestRows(town);
        const byStatus = new Map<string, number>();
        for (const r of all) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
        return `${all.length} rows: ${JSON.stringify([...byStatus])}, inbox ${mailRows(town, "deacon").length}`;
      },
      100,
    );
    const doneMs = Date.now() - started;
    t.diagnostic(
      `100 requests: all senders exited after ${sentMs} ms; all 100 executed ${doneMs} ms after the first launch ` +
        `(${town.snapshot().daemon.heartbeat_count} passes so far)`,
    );

    // Exactly once: every id done, no duplicates, none failed or interrupted.
    assert.deepEqual(
      rows.filter((r) => r.status !== "done").map((r) => [r.id, r.status, r.detail]),
      [],
      "every request done",
    );
    assert.deepEqual(
      rows.map((r) => r.id).sort(),
      [...ids].sort(),
      "the 100 rows are exactly the 100 requests sent",
    );
    for (const agent of AGENTS) {
      const mine = rows.filter((r) => r.identity === agent);
      assert.equal(mine.length, PER_AGENT, `${agent}: ${PER_AGENT} requests`);
      assert.ok(mine.every((r) => r.requested_by === agent && r.action === "cycle"));
    }
    assert.deepEqual(mailRows(town, "deacon"), [], "nothing left in the inbox");

    // 100 new generations: one respawn per request, each a distinct generation.
    const respawns = eventRows(town).filter((e) => e.id > lastEventBefore && e.type === "respawn_done");
    assert.equal(respawns.length, TOTAL, `${respawns.length} respawns`);
    assert.equal(new Set(respawns.map((e) => e.generation)).size, TOTAL, "100 distinct generations");
    assert.ok(
      respawns.every((e) => e.reason.startsWith("cycle requested: round ")),
      "all of them manual",
    );
    const failed = eventRows(town).filter((e) => e.id > lastEventBefore && /_failed$/.test(e.type));
    assert.deepEqual(failed, [], "no failed action");
    const done = eventRows(town).filter((e) => e.id > lastEventBefore && e.type === "lifecycle_done");
    assert.equal(done.length, TOTAL);

    // Each agent: ten manual restarts, no automatic ones, running the last generation started for it.
    const status = await town.waitFor(
      (s) => AGENTS.every((a) => town.agent(s, a).restarts_manual === PER_AGENT),
      15_000,
      "ten manual restarts per agent in status",
    );
    for (const agent of AGENTS) {
      const record = town.agent(status, agent);
      assert.equal(record.restarts_auto, 0, `${agent}: no automatic restart`);
      const last = respawns.filter((e) => e.identity === agent).at(-1)?.generation;
      assert.equal(record.generation, last, `${agent}: status shows its last generation`);
      assert.equal(
        await generationOf(town, sessionOf(agent)),
        last,
        `${agent}: its pane runs that generation`,
      );
      assert.notEqual(last, startGenerations.get(agent));
    }

    assert.ok(doneMs < RUN_LIMIT_MS, `100 requests took ${doneMs} ms`);
  });
});
