import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runCli } from "../../src/cli/cli.js";
import type { DesiredAgent } from "../../src/policy/desired.js";
import { plan, type AgentObservation, type Plan, type Verdict } from "../../src/policy/plan.js";
import {
  EMPTY_TOWN_STATE,
  emptyRecord,
  type AgentRecord,
  type TownPolicyState,
} from "../../src/policy/record.js";
import { noteSpawned } from "../../src/policy/spawn-result.js";
import { HeartbeatTimes } from "../../src/supervisor/heartbeat-times.js";
import { readHeartbeat, touchHeartbeat } from "../../src/supervisor/heartbeats.js";
import { DEFAULT_LIMITS, DEFAULT_WATCHDOG } from "../../src/town/settings.js";
import { monotonicClock } from "../../src/util/monotonic-clock.js";
import {
  CLI_MAIN,
  daemonPidsOf,
  heartbeatCount,
  lines,
  makeTown,
  startDaemon,
  testEnv,
  until,
  type TestTown,
} from "../helpers/cli.js";
import { makeTempDir } from "../helpers/tmp.js";
import { defaultSocketTown, uid } from "../e2e/hardening/_helpers.js";
import { chaosRandom, withTownDb } from "./_helpers.js";

/**
 * Three kinds of chaos the hardening work made survivable:
 * (a) oversized strings (20 MB) through every entry point: `townd request --reason`, `townd mail send -s/-m`,
 *     a lifecycle mail written straight into the store, the control API. Each is refused in one line or
 *     trimmed; daemon/agents.json stays small; the daemon keeps passing.
 * (b) a second Unix user (created here with useradd, removed with userdel): cannot read the town's mail or
 *     store through townd (one clear line each), cannot hand the town a tmux socket directory it owns, and
 *     the owner's daemon keeps working. Skipped when not root or without useradd.
 * (c) the wall clock stepped at random (back up to 3 h, forward up to 1 h) across many supervisor passes,
 *     driven with the injected clock: a heartbeating Deacon is never nudged or restarted; a dead agent is
 *     always restarted within its backoff.
 *
 * The random choices come from CHAOS_SEED (printed in every failure message).
 */

const { seed: SEED, random } = chaosRandom(0xc10c5);
const BIG = "x".repeat(20 * 1024 * 1024);
/** daemon/agents.json is rewritten every pass: whatever came in, it stays this small. */
const AGENTS_FILE_BOUND = 64 * 1024;

interface Captured {
  code: number;
  out: string[];
  err: string[];
}

/** One CLI invocation in-process: argv is not limited to ARG_MAX, so a 20 MB value goes in as it is. */
async function cliIn(town: TestTown, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Captured> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(["--town", town.root, ...args], {
    env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: town.root, ...env },
    cwd: town.root,
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  });
  return { code, out, err };
}

/** POSTs `body` to the daemon's control API; resolves with the status code, or the socket error. */
function apiPost(town: TestTown, path: string, body: string): Promise<{ status?: number; text: string }> {
  return new Promise((resolve) => {
    const req = request(
      { socketPath: town.file("daemon", "control.sock"), path, method: "POST", timeout: 20_000 },
      (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
        res.on("end", () => {
          resolve({ ...(res.statusCode === undefined ? {} : { status: res.statusCode }), text });
        });
      },
    );
    req.on("error", (error) => {
      resolve({ text: `socket error: ${error.message}` });
    });
    req.on("timeout", () => {
      req.destroy(new Error("timed out"));
    });
    req.end(body);
  });
}

async function passes(town: TestTown, pid: number, count: number): Promise<void> {
  const target = heartbeatCount(town.root) + count;
  await until(
    `${count} more passes`,
    () => {
      process.kill(pid, "SIGUSR1");
      return heartbeatCount(town.root) >= target;
    },
    20_000,
    250,
  );
}

describe(
  `chaos: oversized strings, a second user, clock steps (CHAOS_SEED=${SEED})`,
  { timeout: 150_000 },
  () => {
    let town: TestTown;
    let pid = 0;
    const tag = `CHAOS_SEED=${SEED}`;

    before(async () => {
      town = await makeTown({ agent: "sim", keepPatrols: true });
      pid = await startDaemon(town);
      await passes(town, pid, 1);
    });
    after(async () => {
      await town.cleanup();
    });

    it("(a) 20 MB strings through every entry point are refused in one line or trimmed; agents.json stays small", async (t) => {
      const refusals: [string, Captured][] = [];
      const huge = (text: string): string => (random() < 0.5 ? text : `${"é".repeat(10)}${text}`);
      refusals.push([
        "request --reason",
        await cliIn(town, ["request", "cycle", "--as", "deacon", "--reason", huge(BIG)]),
      ]);
      refusals.push([
        "mail send -s",
        await cliIn(town, ["mail", "send", "mayor", "-s", huge(BIG), "-m", "hi"]),
      ]);
      refusals.push([
        "mail send -m",
        await cliIn(town, ["mail", "send", "mayor", "-s", "hi", "-m", huge(BIG)]),
      ]);
      for (const [what, result] of refusals) {
        assert.equal(result.code, 1, `${tag}: ${what} was accepted: ${result.out.join(" ").slice(0, 200)}`);
        assert.equal(result.err.length, 1, `${tag}: ${what}: ${result.err.join("\n").slice(0, 400)}`);
        assert.ok((result.err[0] ?? "").length < 300, `${tag}: ${what}: a long error line`);
        assert.match(result.err[0] ?? "", /limit is \d+ bytes/, `${tag}: ${what}`);
        t.diagnostic(`${what}: ${result.err[0] ?? ""}`);
      }

      // The real binary, with the largest single argument Linux passes (128 KiB): one line, exit 1.
      const arg = "y".repeat(120 * 1024);
      const binary = await town.run(["mail", "send", "mayor", "-s", arg, "-m", "hi"]);
      assert.equal(binary.code, 1, `${tag}: ${binary.stdout}`);
      assert.equal(lines(binary.stderr).length, 1, `${tag}: ${binary.stderr.slice(0, 400)}`);

      // A lifecycle mail written straight into the store, past the CLI's checks.
      const id = `msg-chaos${randomBytes(4).toString("hex")}`;
      withTownDb(town, (db) => {
        db.prepare(
          "INSERT INTO mail (id, from_id, to_id, subject, body, created_at) VALUES (?, 'deacon', 'deacon', ?, ?, ?)",
        ).run(
          id,
          "LIFECYCLE: cycle",
          JSON.stringify({ action: "cycle", reason: BIG }),
          new Date().toISOString(),
        );
      });

      // The control API: a 20 MB body, and a reason just under the body limit.
      const bigBody = await apiPost(
        town,
        "/v1/agents/restart",
        JSON.stringify({ agent: "deacon", reason: BIG }),
      );
      assert.ok(
        bigBody.status === undefined || (bigBody.status >= 400 && bigBody.status < 500),
        `${tag}: ${bigBody.status} ${bigBody.text.slice(0, 200)}`,
      );
      const nearLimit = await apiPost(
        town,
        "/v1/agents/restart",
        JSON.stringify({ agent: "deacon", reason: "z".repeat(60 * 1024) }),
      );
      assert.ok(
        nearLimit.status !== undefined && nearLimit.status < 500,
        `${tag}: ${nearLimit.status} ${nearLimit.text.slice(0, 200)}`,
      );
      assert.ok(
        nearLimit.text.length < 8 * 1024,
        `${tag}: the API answer carries the reason back: ${nearLimit.text.length} chars`,
      );

      await passes(town, pid, 3);
      const size = statSync(town.file("daemon", "agents.json")).size;
      assert.ok(size < AGENTS_FILE_BOUND, `${tag}: daemon/agents.json is ${size} bytes`);
      const stored = withTownDb(town, (db) => {
        const mail = db.prepare("SELECT max(length(subject) + length(body)) AS n FROM mail").get() as {
          n: number | null;
        };
        const events = db.prepare("SELECT max(length(reason) + length(data)) AS n FROM events").get() as {
          n: number | null;
        };
        const pending = db.prepare("SELECT count(*) AS n FROM mail WHERE id = ? AND read = 0").get(id) as {
          n: number;
        };
        return { mail: mail.n ?? 0, events: events.n ?? 0, pending: pending.n };
      });
      t.diagnostic(
        `API: 20 MB body → ${bigBody.status ?? bigBody.text}; 60 KiB reason → ${nearLimit.status}; agents.json ${size} bytes; largest mail row ${stored.mail}, event ${stored.events}`,
      );
      assert.equal(stored.pending, 0, `${tag}: the oversized lifecycle mail was never handled`);
      assert.ok(stored.events < 64 * 1024, `${tag}: an event of ${stored.events} bytes`);
      const status = await town.run(["status", "--json"], { timeoutMs: 15_000 });
      assert.equal(status.code, 0, `${tag}: ${status.stderr}`);
      assert.ok(status.stdout.length < 256 * 1024, `${tag}: status --json is ${status.stdout.length} chars`);
    });

    describe("(b) a second Unix user", () => {
      const root = process.getuid?.() === 0;
      const hasUseradd = spawnSync("sh", ["-c", "command -v useradd && command -v userdel"]).status === 0;
      const skip = !root ? "not root: cannot create a user" : !hasUseradd ? "no useradd/userdel" : false;
      const name = `townd-fuzz-${randomBytes(3).toString("hex")}`;
      let other = { uid: -1, gid: -1 };
      let created = false;
      const socketTowns: TestTown[] = [];

      const removeUser = (): void => {
        if (!created) return;
        spawnSync("userdel", ["-r", name], { stdio: "ignore" });
        if (spawnSync("id", [name], { stdio: "ignore" }).status === 0)
          spawnSync("userdel", [name], { stdio: "ignore" });
        created = spawnSync("id", [name], { stdio: "ignore" }).status === 0;
      };
      process.on("exit", removeUser);

      before(() => {
        if (skip !== false) return;
        const add = spawnSync("useradd", ["-M", "-s", "/usr/sbin/nologin", name], { encoding: "utf8" });
        assert.equal(add.status, 0, `useradd: ${add.stderr}`);
        created = true;
        const id = (flag: string): number =>
          Number(spawnSync("id", [flag, name], { encoding: "utf8" }).stdout.trim());
        other = { uid: id("-u"), gid: id("-g") };
        assert.ok(other.uid > 0 && other.gid > 0, `ids of ${name}: ${JSON.stringify(other)}`);
      });
      after(async () => {
        for (const t of socketTowns) await t.cleanup();
        removeUser();
        process.off("exit", removeUser);
        assert.equal(created, false, `${tag}: user ${name} is still there`);
      });

      /** townd as the other user (the town's root opened to them, daemon/ owner-only as townd keeps it). */
      const asOther = (args: string[]): { code: number | null; stdout: string; stderr: string } => {
        const result = spawnSync(process.execPath, [CLI_MAIN, "--town", town.root, ...args], {
          cwd: "/",
          uid: other.uid,
          gid: other.gid,
          env: testEnv({ HOME: "/nonexistent", TMUX_TMPDIR: "/tmp" }),
          encoding: "utf8",
          timeout: 20_000,
        });
        return { code: result.status, stdout: result.stdout, stderr: result.stderr };
      };

      it(
        "cannot read the town's mail, events or store: one clear line each; the owner's daemon keeps working",
        { skip },
        async (t) => {
          const secret = `secret-${randomBytes(6).toString("hex")}`;
          const sent = await town.run(["mail", "send", "mayor", "-s", secret, "-m", secret]);
          assert.equal(sent.code, 0, sent.stderr);
          chmodSync(town.root, 0o755);
          assert.equal(statSync(town.file("daemon")).mode & 0o077, 0, "daemon/ is owner-only");
          for (const args of [
            ["status"],
            ["status", "--json"],
            ["mail", "inbox", "--identity", "mayor"],
            ["events"],
          ]) {
            const result = asOther(args);
            const what = `${tag}: townd ${args.join(" ")} as ${name}`;
            assert.notEqual(result.code, 0, `${what} succeeded: ${result.stdout.slice(0, 300)}`);
            assert.equal(result.code, 1, `${what}: exit ${result.code} ${result.stderr}`);
            assert.equal(lines(result.stderr).length, 1, `${what}: ${result.stderr}`);
            assert.doesNotMatch(result.stderr, /internal error/i, what);
            // Refused for the right reason: not a usage error, a clear word about access.
            assert.match(result.stderr, /permission|owner|access|not allowed/i, `${what}: ${result.stderr}`);
            t.diagnostic(`${args.join(" ")}: ${result.stderr.trim()}`);
            assert.ok(!(result.stdout + result.stderr).includes(secret), `${what} shows the mail`);
          }
          const cat = spawnSync("cat", [town.file("daemon", "town.db")], { uid: other.uid, gid: other.gid });
          assert.notEqual(cat.status, 0, `${tag}: ${name} can read the store`);
          await passes(town, pid, 2);
          const inbox = await town.run(["mail", "inbox", "--identity", "mayor"]);
          assert.equal(inbox.code, 0, inbox.stderr);
          assert.ok(inbox.stdout.includes(secret), "the owner still reads the mail");
        },
      );

      it(
        "cannot hand the town a tmux socket directory: a tmux-<uid> it owns, mode 0777, is refused in one line",
        { skip },
        async () => {
          const socketTown = await defaultSocketTown();
          socketTowns.push(socketTown);
          const dir = socketTown.file(`tmux-${uid}`);
          mkdirSync(dir);
          chownSync(dir, other.uid, other.gid);
          chmodSync(dir, 0o777);
          const result = await socketTown.run(["start"]);
          assert.equal(result.code, 1, `${tag}: stdout=${result.stdout} stderr=${result.stderr}`);
          assert.equal(lines(result.stderr).length, 1, `${tag}: ${result.stderr}`);
          assert.match(result.stderr, /Unsafe tmux socket directory/);
          assert.deepEqual(daemonPidsOf(socketTown.root), [], "no daemon");
          assert.deepEqual(readdirSync(dir), [], "no tmux server socket in their directory");
          chownSync(dir, uid, uid);
          // The owner's other daemon is unaffected.
          await passes(town, pid, 1);
        },
      );
    });
  },
);

// ---- (c) clock steps, with the injected clock ----

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const T0 = Date.UTC(2026, 0, 1);
const PASS_MS = 30 * SECOND;
/** No crash-loop hold or spawn budget: the only wait between restarts is the backoff. */
const LIMITS = {
  ...DEFAULT_LIMITS,
  crashLoop: { ...DEFAULT_LIMITS.crashLoop, count: 1_000_000 },
  spawnBudget: { ...DEFAULT_LIMITS.spawnBudget, count: 1_000_000 },
};

class Machine {
  elapsed = 0;
  step = 0;
  readonly clock = monotonicClock(
    () => T0 + this.elapsed + this.step,
    () => this.elapsed,
  );
  readonly heartbeats = new HeartbeatTimes(this.clock);
  records = new Map<string, AgentRecord>();
  town: TownPolicyState = EMPTY_TOWN_STATE;
  generation: string | null = null;
  spawned = 0;

  readonly desired: DesiredAgent;
  /** The heartbeat file when the agent is watched (the Deacon). */
  readonly file: string | undefined;

  constructor(desired: DesiredAgent, file: string | undefined) {
    this.desired = desired;
    this.file = file;
  }

  get record(): AgentRecord {
    return (
      this.records.get(this.desired.identity) ?? emptyRecord(this.desired.identity, this.desired.session)
    );
  }

  async beat(): Promise<void> {
    if (this.file !== undefined) await touchHeartbeat(this.file, "patrol", new Date(this.clock.wall()));
  }

  pass(verdict: Verdict): Plan {
    const now = this.clock.now();
    const obs: AgentObservation = {
      desired: this.desired,
      verdict,
      verdictReason: verdict === "alive" ? "" : "pane died (exit status 1)",
      generation: verdict === "missing" ? null : this.generation,
      ...(this.file === undefined
        ? {}
        : {
            watchdog: DEFAULT_WATCHDOG,
            heartbeatAt: this.heartbeats.observe(this.file, readHeartbeat(this.file)),
          }),
    };
    const result = plan({ now, agents: [obs], records: this.records, town: this.town, limits: LIMITS });
    this.records = new Map(result.records);
    this.town = result.town;
    for (const action of result.actions) {
      if (action.kind !== "spawn" && action.kind !== "respawn") continue;
      this.generation = `g${++this.spawned}`;
      const spawn = { generation: this.generation, at: now, reason: action.reason, manual: action.manual };
      this.records.set(action.identity, noteSpawned(this.record, spawn));
    }
    return result;
  }
}

describe(`(c) the wall clock stepped at random during many passes (CHAOS_SEED=${SEED})`, () => {
  const seedTag = `CHAOS_SEED=${SEED}`;
  // A stream of its own: (a) and (b) may be skipped or draw differently.
  const clockRandom = chaosRandom(0xc10c5).random;
  const temp = makeTempDir("chaos-clock-");
  after(() => {
    temp.cleanup();
  });

  it("a heartbeating Deacon is never nudged or restarted; a dead witness is always restarted within its backoff", async (t) => {
    const deacon = new Machine(
      {
        id: { role: "deacon" },
        identity: "deacon",
        session: "hq-deacon",
        wanted: true,
        held: null,
        heldReason: "",
      },
      join(temp.dir, "heartbeat.json"),
    );
    const witness = new Machine(
      {
        id: { role: "witness", rig: "r1" },
        identity: "r1/witness",
        session: "gt-r1-witness",
        wanted: true,
        held: null,
        heldReason: "",
      },
      undefined,
    );
    assert.deepEqual(
      deacon.pass("missing").actions.map((a) => a.kind),
      ["spawn"],
    );
    assert.deepEqual(
      witness.pass("missing").actions.map((a) => a.kind),
      ["spawn"],
    );
    const PASSES = 1500;
    const steps: string[] = [];
    let deadSince: number | undefined;
    let restarts = 0;
    let longestWait = 0;
    for (let n = 0; n < PASSES; n++) {
      // The Deacon beats every 5 s between passes; the wall clock steps now and then, at any of those moments.
      for (let beat = 0; beat < PASS_MS / (5 * SECOND); beat++) {
        for (const m of [deacon, witness]) m.elapsed += 5 * SECOND;
        if (clockRandom() < 0.01) {
          const step =
            clockRandom() < 0.6 ? -Math.floor(clockRandom() * 3 * HOUR) : Math.floor(clockRandom() * HOUR);
          for (const m of [deacon, witness]) m.step += step;
          steps.push(`${n}:${step}`);
        }
        await deacon.beat();
      }
      const where = `${seedTag} pass ${n}, steps so far [${steps.slice(-5).join(", ")}]`;
      const healthy = deacon.pass("alive");
      assert.deepEqual(
        healthy.actions.map((a) => a.kind),
        [],
        `${where}: the healthy Deacon: ${healthy.decisions[0]?.reason}`,
      );
      // The witness dies right after every start; the daemon notices at its next pass.
      deadSince ??= witness.elapsed;
      const result = witness.pass("dead");
      if (result.actions.some((a) => a.kind === "respawn")) {
        longestWait = Math.max(longestWait, witness.elapsed - deadSince);
        restarts++;
        deadSince = undefined;
      } else {
        const waited = witness.elapsed - deadSince;
        assert.ok(
          waited <= LIMITS.restart.maxBackoffMs + PASS_MS,
          `${where}: the dead witness has waited ${waited / SECOND} s (${result.decisions[0]?.holdBy}: ${result.decisions[0]?.reason})`,
        );
      }
    }
    assert.equal(deacon.spawned, 1, `${seedTag}: the Deacon's first generation runs throughout`);
    assert.ok(steps.length > 10, `${seedTag}: only ${steps.length} clock steps`);
    t.diagnostic(
      `${PASSES} passes, ${steps.length} clock steps, ${restarts} witness restarts, longest wait ${longestWait / SECOND} s`,
    );
  });
});
