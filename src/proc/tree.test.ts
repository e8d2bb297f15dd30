import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, symlinkSync } from "node:fs";
import { basename, join } from "node:path";
import { afterEach, describe, it } from "node:test";
import { makeTempDir } from "../../test/helpers/tmp.js";
import { waitFor } from "../util/sleep.js";
import { treeBelow } from "./children.js";
import {
  descendantEntries,
  descendants,
  isAlive,
  killProcessTree,
  parseStat,
  readProcessTable,
} from "./tree.js";

const started: number[] = [];
const temps: (() => void)[] = [];

/**
 * Starts `sh -c script` as a child of the test, remembered for cleanup; `leader` makes it lead its own
 * process group (and session), as a tmux pane's first process does.
 */
function sh(script: string, cwd?: string, leader = false): number {
  const child = spawn("sh", ["-c", script], {
    stdio: "ignore",
    detached: leader,
    ...(cwd === undefined ? {} : { cwd }),
  });
  child.unref();
  assert.ok(child.pid !== undefined, "sh did not start");
  started.push(child.pid);
  return child.pid;
}

/**
 * Waits until `pid` has at least `sleeps` descendants that have exec'd `sleep` (a forked shell that has not
 * exec'd yet would make the tree look complete too early), then returns all its descendants' pids.
 */
async function treeOf(pid: number, sleeps: number): Promise<number[]> {
  const found = await waitFor(
    () => {
      const entries = descendants(readProcessTable(), pid);
      const ready = entries.filter((entry) => entry.name === "sleep").length >= sleeps;
      return ready ? entries.map((entry) => entry.pid) : undefined;
    },
    { timeoutMs: 5000, intervalMs: 20 },
  );
  assert.ok(found, `process ${pid} never had ${sleeps} sleep descendants`);
  return found;
}

afterEach(() => {
  const table = readProcessTable();
  for (const pid of started.splice(0)) {
    for (const entry of [...descendants(table, pid), { pid }]) {
      try {
        process.kill(entry.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  }
  for (const cleanup of temps.splice(0)) cleanup();
});

describe("parseStat", () => {
  it("reads comm up to the last parenthesis, so spaces and parentheses in it cannot shift fields", () => {
    const stat = parseStat("4242 (a) b (c)) S 17 4242 4242 0 -1 4194560 100 0 0 0\n");
    assert.deepEqual(stat, { pid: 4242, ppid: 17, pgid: 4242, state: "S", name: "a) b (c)" });
  });

  it("rejects text without a comm field", () => {
    assert.equal(parseStat("garbage"), undefined);
  });
});

describe("readProcessTable", () => {
  it("includes this process with its parent and names", () => {
    const self = readProcessTable().get(process.pid);
    assert.ok(self);
    assert.equal(self.ppid, process.ppid);
    assert.equal(self.argv0, basename(process.argv0));
    assert.equal(self.state === "R" || self.state === "S", true);
  });

  it("parses a real process whose name contains spaces and parentheses", async () => {
    const temp = makeTempDir("tdp-");
    temps.push(temp.cleanup);
    // comm comes from the name the program was executed under, so a symlink renames it.
    const odd = join(temp.dir, "x) y (z");
    symlinkSync("/bin/sleep", odd);
    const child = spawn(odd, ["1000"], { stdio: "ignore" });
    assert.ok(child.pid !== undefined);
    started.push(child.pid);
    const entry = await waitFor(() => readProcessTable().get(child.pid ?? 0), { timeoutMs: 3000 });
    assert.equal(entry?.name, "x) y (z");
    assert.equal(entry.ppid, process.pid);
    assert.equal(entry.argv0, "x) y (z");
  });
});

describe("descendants", () => {
  it("finds children and grandchildren, deepest first", async () => {
    // `; :` stops sh from exec-ing its last command, so the inner sh stays as the sleep's parent.
    const root = sh(`sh -c 'sleep 1000; :' & sleep 1000 & wait`);
    await treeOf(root, 2);
    const table = readProcessTable();
    const found = descendants(table, root);
    assert.equal(found.length, 3);
    const depth = (pid: number): number => {
      let level = 0;
      for (let current = table.get(pid); current !== undefined && current.pid !== root; level += 1) {
        current = table.get(current.ppid);
      }
      return level;
    };
    const depths = found.map((entry) => depth(entry.pid));
    assert.deepEqual(
      depths,
      [...depths].sort((a, b) => b - a),
    );
    assert.equal(depths[0], 2);
    assert.deepEqual(found.map((entry) => entry.name).sort(), ["sh", "sleep", "sleep"]);
  });

  it("returns nothing for a process without children", () => {
    assert.deepEqual(descendants(readProcessTable(), 999_999_999), []);
  });
});

describe("descendantEntries", () => {
  it("finds the same tree from the root down as a scan of every process does", async () => {
    const root = sh(`sh -c 'sleep 1000; :' & sleep 1000 & wait`);
    await treeOf(root, 2);
    const scanned = descendants(readProcessTable(), root).map((entry) => entry.pid);
    assert.deepEqual(new Set(treeBelow(root)), new Set(scanned));
    assert.deepEqual(
      descendantEntries(root)
        .map((entry) => entry.name)
        .sort(),
      ["sh", "sleep", "sleep"],
    );
    assert.deepEqual(descendantEntries(999_999_999), []);
  });
});

/** Pids in `pgid` (from a scan: the test checks what the daemon no longer scans for). */
function groupMembers(pgid: number): number[] {
  return [...readProcessTable().values()]
    .filter((entry) => entry.pgid === pgid && entry.state !== "Z")
    .map((entry) => entry.pid);
}

describe("isAlive", () => {
  it("is true for a running process and false for a zombie or a missing pid", async () => {
    assert.equal(isAlive(process.pid), true);
    assert.equal(isAlive(999_999_999), false);
    // The exec'd sleep never reaps the short sleep it inherited as a child, which stays a zombie.
    const parent = sh("sleep 0.01 & exec sleep 1000");
    const [zombie] = await treeOf(parent, 1);
    assert.ok(zombie !== undefined);
    const state = await waitFor(() => (readProcessTable().get(zombie)?.state === "Z" ? "Z" : undefined), {
      timeoutMs: 3000,
    });
    assert.equal(state, "Z");
    assert.equal(isAlive(zombie), false);
    assert.equal(isAlive(parent), true);
  });
});

describe("killProcessTree", () => {
  it("kills a shell with its child and grandchild using SIGTERM alone", async () => {
    const root = sh(`sh -c 'sleep 1000; :' & sleep 1000 & wait`);
    const tree = await treeOf(root, 2);
    assert.equal(tree.length, 3);
    const result = await killProcessTree(root, { graceMs: 2000 });
    assert.equal(result.forced, 0);
    // Usually 4; a shell whose children were just killed may exit by itself before its own SIGTERM lands.
    assert.ok(result.signalled >= 2 && result.signalled <= 4, `signalled ${result.signalled}`);
    for (const pid of [root, ...tree]) assert.equal(isAlive(pid), false, `pid ${pid} survived`);
  });

  it("escalates to SIGKILL for processes that ignore SIGTERM and SIGHUP", async () => {
    // An ignored signal stays ignored across fork and exec, so the sleep ignores both too.
    const root = sh(`trap '' TERM HUP; sleep 1000 & wait; wait`);
    const tree = await treeOf(root, 1);
    const begun = Date.now();
    const result = await killProcessTree(root, { graceMs: 200 });
    assert.equal(result.signalled, 2);
    assert.equal(result.forced, 2);
    assert.ok(Date.now() - begun >= 200, "SIGKILL came before the grace period ended");
    for (const pid of [root, ...tree]) assert.equal(isAlive(pid), false, `pid ${pid} survived`);
  });

  it("also kills children forked during the grace period", async () => {
    const temp = makeTempDir("tdp-");
    temps.push(temp.cleanup);
    // On SIGTERM this shell starts a fresh sleep (never signalled) and keeps running.
    const root = sh(
      `trap '' HUP; trap 'sleep 1000 & echo $! > late.pid' TERM; while :; do sleep 0.05; done`,
      temp.dir,
    );
    await treeOf(root, 1);
    const result = await killProcessTree(root, { graceMs: 400 });
    const late = Number(readFileSync(join(temp.dir, "late.pid"), "utf8"));
    assert.ok(late > 1, "the trap never forked its late child");
    started.push(late); // Re-parented to init if it survives: afterEach must still find it.
    assert.equal(isAlive(late), false, "the child forked during the grace period survived");
    assert.equal(isAlive(root), false);
    assert.ok(result.forced >= 2);
  });

  it("cuts the grace period short when aborted", async () => {
    const root = sh(`trap '' TERM HUP; sleep 1000 & wait; wait`);
    await treeOf(root, 1);
    const begun = Date.now();
    const result = await killProcessTree(root, { graceMs: 10_000, signal: AbortSignal.timeout(100) });
    assert.ok(Date.now() - begun < 3000);
    assert.equal(result.forced, 2);
    assert.equal(isAlive(root), false);
  });

  it("reaches a background job of the root's process group that left the tree (re-parented)", async () => {
    // The subshell exits at once, so its sleep is re-parented away from the root but stays in its group.
    const root = sh(`(sleep 1000 &) ; sleep 1000`, undefined, true);
    await treeOf(root, 1);
    const orphans = await waitFor(
      () => {
        const members = groupMembers(root).filter((pid) => pid !== root && !treeBelow(root).includes(pid));
        return members.length > 0 ? members : undefined;
      },
      { timeoutMs: 5000, intervalMs: 20 },
    );
    assert.ok(orphans, "the background job never left the tree");
    started.push(...orphans);
    const result = await killProcessTree(root, { graceMs: 2000 });
    assert.equal(result.forced, 0);
    const gone = await waitFor(() => (orphans.some(isAlive) ? undefined : true), { timeoutMs: 3000 });
    assert.equal(gone, true, `re-parented ${orphans.join(", ")} survived SIGTERM to the group`);
  });

  it("SIGKILLs such a job once the grace period is over if it ignores SIGTERM and SIGHUP", async () => {
    const root = sh(`(trap '' TERM HUP; sleep 1000 &) ; sleep 1000`, undefined, true);
    await treeOf(root, 1);
    const orphans = await waitFor(
      () => {
        const members = groupMembers(root).filter((pid) => pid !== root && !treeBelow(root).includes(pid));
        return members.length > 0 ? members : undefined;
      },
      { timeoutMs: 5000, intervalMs: 20 },
    );
    assert.ok(orphans, "the background job never left the tree");
    started.push(...orphans);
    const result = await killProcessTree(root, { graceMs: 300 });
    // The tree itself (root and its sleep) exited on SIGTERM: nothing was forced then.
    assert.equal(result.forced, 0);
    assert.equal(isAlive(root), false);
    assert.ok(orphans.every(isAlive), "the job ignores SIGTERM and SIGHUP, so it outlives them");
    const gone = await waitFor(() => (orphans.some(isAlive) ? undefined : true), { timeoutMs: 5000 });
    assert.equal(gone, true, `re-parented ${orphans.join(", ")} survived the grace period`);
  });

  it("refuses to kill init, pid 0 or the current process", async () => {
    for (const pid of [0, 1, -1, process.pid, 1.5]) {
      await assert.rejects(killProcessTree(pid, { graceMs: 10 }), RangeError);
    }
  });
});
