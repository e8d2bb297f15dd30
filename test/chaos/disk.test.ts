import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  closeSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { mailRows, requestRows } from "../helpers/store.js";
import {
  createSupervisedTown,
  isAlive,
  type LogRecord,
  type SupervisedTown,
} from "../helpers/supervised-town.js";
import {
  bindReadOnly,
  checkDaemonFiles,
  isMountPoint,
  mountSkipReason,
  mountTmpfs,
  sleep,
  unmount,
} from "./_helpers.js";

/**
 * The daemon's directory stops taking writes: read-only (a read-only bind mount of daemon/ onto itself), or
 * full (a 2 MB tmpfs as daemon/, filled to the last byte). The daemon must keep supervising (a killed agent
 * comes back), log one clear error per distinct failure rather than one per pass, leave no half-written file
 * behind, and write again once the disk does.
 *
 * Needs root (mount); skipped with the reason otherwise. Every mount is undone in `after`, and by an exit
 * handler if the test process dies first.
 */

const PASS_INTERVAL = "300ms";
/** How long a fault is held: ~10 passes. */
const FAULT_MS = 3000;

const scratch = mkdtempSync("/tmp/chaos-mnt-");
const skip = mountSkipReason(scratch);
rmSync(scratch, { recursive: true, force: true });

/** Error records logged since `from`, grouped by message with numbers (temp-file suffixes, PIDs) blanked. */
function errorsSince(records: readonly LogRecord[], from: number): Map<string, number> {
  const groups = new Map<string, number>();
  for (const record of records.slice(from)) {
    if (record.level !== "error" && record.level !== "fatal") continue;
    const key = record.msg.replace(/\d+/g, "N");
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  return groups;
}

function describeErrors(groups: Map<string, number>): string {
  return [...groups.entries()].map(([msg, count]) => `  ${count}× ${msg}`).join("\n");
}

/** Writes junk into `dir` until the file system is full to the last byte; returns the bytes written. */
function fillDisk(dir: string): number {
  const fd = openSync(join(dir, "junk"), "w");
  let total = 0;
  try {
    for (const size of [1 << 16, 4096, 512, 64, 8, 1]) {
      const chunk = Buffer.alloc(size, 0x78);
      for (;;) {
        try {
          total += writeSync(fd, chunk);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === "ENOSPC") break;
          throw error;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return total;
}

function heartbeatCount(town: SupervisedTown): number {
  return town.snapshot().daemon.heartbeat_count;
}

function agentsUpdatedAt(town: SupervisedTown): string {
  try {
    return String(town.readJson("daemon/agents.json")["updated_at"]);
  } catch {
    return "";
  }
}

async function startTown(): Promise<SupervisedTown> {
  return createSupervisedTown({
    rigs: ["r1"],
    settings: (s) => {
      s["operational"] = { daemon: { recovery_heartbeat_interval: PASS_INTERVAL } };
    },
  });
}

async function waitRunning(town: SupervisedTown): Promise<void> {
  await town.waitFor(
    (s) => s.daemon.running && s.agents.filter((a) => a.state === "running").length === 3,
    30_000,
    "deacon, witness and refinery running",
  );
}

/** SIGKILLs the witness's agent; resolves with how long until a new agent ran in its pane. */
async function killWitness(town: SupervisedTown, timeoutMs: number): Promise<number> {
  const witness = await town.pane("gt-r1-witness");
  assert.ok(witness !== undefined && !witness.dead, "the witness runs");
  process.kill(witness.pid, "SIGKILL");
  const killedAt = Date.now();
  await town.waitForPanes(
    (ps) => ps.some((p) => p.session === "gt-r1-witness" && !p.dead && p.pid !== witness.pid),
    timeoutMs,
    "the killed witness to be respawned",
  );
  return Date.now() - killedAt;
}

/** Moves the town's daemon/ aside, mounts a tmpfs there, and copies the files back in. */
function tmpfsDaemonDir(town: SupervisedTown, size: string): string {
  const dir = join(town.root, "daemon");
  const aside = join(town.root, "daemon.before");
  renameSync(dir, aside);
  mkdirSync(dir);
  const why = mountTmpfs(dir, size);
  if (why !== undefined) throw new Error(why);
  for (const name of readdirSync(aside)) cpSync(join(aside, name), join(dir, name), { recursive: true });
  rmSync(aside, { recursive: true, force: true });
  return dir;
}

describe("chaos: daemon/ becomes read-only", { timeout: 60_000, skip }, () => {
  let town: SupervisedTown;
  let dir = "";
  let logFrom = 0;
  let frozenCount = 0;
  let daemon = 0;

  before(async () => {
    town = await startTown();
    dir = join(town.root, "daemon");
    daemon = await town.start();
    await waitRunning(town);
  });
  after(async () => {
    unmount(dir);
    await town.cleanup();
  });

  it("keeps supervising: a killed agent comes back, the daemon stays up", async (t) => {
    logFrom = town.log().length;
    const why = bindReadOnly(dir);
    assert.equal(why, undefined, why);
    const probe = spawnSync("touch", [join(dir, "probe")]);
    assert.notEqual(probe.status, 0, "daemon/ really is read-only");
    await sleep(FAULT_MS);
    frozenCount = heartbeatCount(town);
    const ms = await killWitness(town, 6000);
    t.diagnostic(
      `witness respawned ${ms} ms after kill -9 (pane-died hook cannot write daemon/pane-events: the death poll found it)`,
    );
    assert.ok(isAlive(daemon), "the daemon is still running");
  });

  it("leaves no half-written file: no temp leftovers, every file parses", (t) => {
    const files = checkDaemonFiles(town.root);
    assert.deepEqual(files.broken, []);
    assert.deepEqual(files.leftovers, []);
    // An agent's statusline command caught between its write and its rename cannot remove its temp file
    // either; the daemon prunes it once daemon/ is writable again (statusline.test.ts).
    if (files.agentLeftovers.length > 0)
      t.diagnostic(`statusline temp files left by the agents: ${files.agentLeftovers.join(", ")}`);
  });

  it("logs ONE clear error per distinct failure (naming the file), not one per pass", {}, () => {
    const groups = errorsSince(town.log(), logFrom);
    const repeated = [...groups.entries()].filter(([, count]) => count > 1);
    assert.deepEqual(repeated, [], `errors while read-only:\n${describeErrors(groups)}`);
    for (const msg of groups.keys())
      assert.match(msg, /agents\.json|state\.json/, "the error names the file");
  });

  it("writes again once daemon/ is writable: state.json and agents.json move on", async () => {
    const agentsBefore = agentsUpdatedAt(town);
    unmount(dir);
    assert.equal(isMountPoint(dir), false);
    await town.waitFor(
      (s) => s.daemon.heartbeat_count > frozenCount + 2,
      10_000,
      "state.json to be written again",
    );
    const deadline = Date.now() + 5000;
    while (agentsUpdatedAt(town) === agentsBefore && Date.now() < deadline) await sleep(50);
    assert.notEqual(agentsUpdatedAt(town), agentsBefore, "agents.json is written again");
    assert.ok(isAlive(daemon));
    assert.deepEqual(checkDaemonFiles(town.root).broken, []);
  });
});

describe(
  "chaos: the disk under daemon/ is full (the daemon's own log included)",
  { timeout: 60_000, skip },
  () => {
    let town: SupervisedTown;
    let dir = "";
    let daemon = 0;

    before(async () => {
      town = await startTown();
      dir = tmpfsDaemonDir(town, "2m");
      daemon = await town.start();
      await waitRunning(town);
    });
    after(async () => {
      unmount(dir);
      await town.cleanup();
    });

    it("survives a full disk and keeps supervising", {}, async (t) => {
      const bytes = fillDisk(dir);
      t.diagnostic(`filled daemon/ with ${bytes} bytes of junk`);
      await sleep(FAULT_MS);
      assert.ok(isAlive(daemon), "the daemon is still running after ~10 passes on a full disk");
      const ms = await killWitness(town, 6000);
      t.diagnostic(`witness respawned ${ms} ms after kill -9`);
      assert.ok(isAlive(daemon));
    });

    it("leaves no half-written state: no temp leftovers, state.json, agents.json and the PID file parse", () => {
      const files = checkDaemonFiles(town.root);
      assert.deepEqual(
        files.broken.filter((b) => !b.includes("daemon.log")),
        [],
      );
      assert.deepEqual(files.leftovers, []);
    });

    it("leaves no half-written log line", {}, () => {
      assert.deepEqual(
        checkDaemonFiles(town.root).broken.filter((b) => b.includes("daemon.log")),
        [],
      );
    });
  },
);

describe("chaos: the disk under daemon/ is full (the log on another disk)", { timeout: 60_000, skip }, () => {
  let town: SupervisedTown;
  let dir = "";
  let daemon = 0;
  let logFrom = 0;
  let frozenCount = 0;

  before(async () => {
    town = await startTown();
    dir = tmpfsDaemonDir(town, "2m");
    // The log and the start-up output go to the town's own disk, so what the daemon says can be read.
    const logs = join(town.root, "logs");
    mkdirSync(logs);
    for (const name of ["daemon.log", "startup.log"]) {
      rmSync(join(dir, name), { force: true });
      symlinkSync(join(logs, name), join(dir, name));
    }
    daemon = await town.start();
    await waitRunning(town);
  });
  after(async () => {
    unmount(dir);
    await town.cleanup();
  });

  it("keeps supervising: a killed agent comes back, the daemon stays up", async (t) => {
    logFrom = town.log().length;
    const bytes = fillDisk(dir);
    t.diagnostic(`filled daemon/ with ${bytes} bytes of junk`);
    await sleep(FAULT_MS);
    frozenCount = heartbeatCount(town);
    const ms = await killWitness(town, 6000);
    t.diagnostic(`witness respawned ${ms} ms after kill -9`);
    assert.ok(isAlive(daemon), "the daemon is still running");
  });

  it("leaves no half-written file: no temp leftovers, every file parses, the store is readable", () => {
    const files = checkDaemonFiles(town.root);
    assert.deepEqual(files.broken, []);
    assert.deepEqual(files.leftovers, []);
  });

  it("logs ONE clear error per distinct failure (naming the file), not one per pass", {}, () => {
    const groups = errorsSince(town.log(), logFrom);
    const repeated = [...groups.entries()].filter(([, count]) => count > 1);
    assert.deepEqual(repeated, [], `errors while full:\n${describeErrors(groups)}`);
    for (const msg of groups.keys())
      assert.match(msg, /agents\.json|state\.json|town\.db/, "the error names the file");
  });

  it(
    "a CLI command that must write fails with one clear line (exit 1), or stores what it says it stored",
    {},
    async () => {
      // A request is mail until the daemon claims it, then a request row.
      const stored = (): number => mailRows(town).length + requestRows(town).length;
      const storedBefore = stored();
      const result = await town.townd(["request", "cycle", "--as", "r1/refinery"]);
      assert.doesNotMatch(result.stderr, /internal error/);
      if (result.code === 0) {
        // The store pruned and checkpointed earlier: SQLite can reuse its free pages on a full disk.
        assert.equal(stored(), storedBefore + 1, "the request it reported is in the store");
        return;
      }
      assert.equal(result.code, 1, `exit ${result.code}: ${result.stderr}`);
      assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
      assert.match(result.stderr, /full|space/i);
    },
  );

  it("writes again once space is freed: state.json and agents.json move on", async () => {
    const agentsBefore = agentsUpdatedAt(town);
    rmSync(join(dir, "junk"));
    await town.waitFor(
      (s) => s.daemon.heartbeat_count > frozenCount + 2,
      10_000,
      "state.json to be written again",
    );
    const deadline = Date.now() + 5000;
    while (agentsUpdatedAt(town) === agentsBefore && Date.now() < deadline) await sleep(50);
    assert.notEqual(agentsUpdatedAt(town), agentsBefore, "agents.json is written again");
    assert.ok(isAlive(daemon));
    const files = checkDaemonFiles(town.root);
    assert.deepEqual(files.broken, []);
    // A lifecycle request goes through again.
    const result = await town.townd(["request", "cycle", "--as", "r1/refinery"]);
    assert.equal(result.code, 0, result.stderr);
  });
});
