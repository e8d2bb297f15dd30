import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { makeTempDir } from "../../test/helpers/tmp.js";
import type { Logger } from "../daemon/logger.js";
import { waitFor } from "../util/sleep.js";
import { FailedRestartEpisodes } from "./alert-episodes.js";
import { runNotifyCommand, stopNotifiers } from "./notify.js";

/**
 * Issue 14 item 10: a notify_command never outlives its alert. Real /bin/sh and real `sleep` processes:
 * what the command leaves in the background dies when it exits, a hung command's whole group dies at the
 * timeout, and whatever still runs when the daemon stops is ended then.
 */

const errors: string[] = [];
const log = {
  error: (message: string) => {
    errors.push(message);
  },
} as unknown as Logger;

const event = { type: "restart_failed", ts: new Date().toISOString(), message: "m", agents: [], town: "/t" };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("notify_command processes", () => {
  let tmp: { dir: string; cleanup: () => void };
  const started: number[] = [];
  before(() => {
    tmp = makeTempDir("notify-");
  });
  after(() => {
    for (const pid of started) if (alive(pid)) process.kill(pid, "SIGKILL");
    tmp.cleanup();
  });

  /** The PID a notifier wrote to `name` once it has. */
  async function pidIn(name: string): Promise<number> {
    const file = join(tmp.dir, name);
    const pid = await waitFor(
      () =>
        existsSync(file) && /^\d+\n$/.test(readFileSync(file, "utf8"))
          ? Number(readFileSync(file, "utf8"))
          : undefined,
      { timeoutMs: 5000, intervalMs: 20 },
    );
    assert.ok(pid !== undefined, `the notifier wrote ${name}`);
    started.push(pid);
    return pid;
  }

  async function dies(pid: number, what: string): Promise<void> {
    const gone = await waitFor(() => (alive(pid) ? undefined : true), { timeoutMs: 3000, intervalMs: 20 });
    assert.equal(gone, true, `${what} (PID ${pid}) still runs`);
  }

  it("a child left in the background dies when the command exits", async () => {
    runNotifyCommand(`sleep 60 & echo $! > ${tmp.dir}/bg`, event, log);
    await dies(await pidIn("bg"), "the backgrounded sleep");
  });

  it("a hung command's whole group is killed at the timeout", async () => {
    runNotifyCommand(`sleep 60 & echo $! > ${tmp.dir}/hung; sleep 60`, event, log, { timeoutMs: 300 });
    await dies(await pidIn("hung"), "the hung notifier's child");
  });

  it("notifiers still running when the daemon stops are ended", async () => {
    runNotifyCommand(`sleep 60 & echo $! > ${tmp.dir}/stop; wait`, event, log);
    const pid = await pidIn("stop");
    assert.ok(alive(pid), "running before the stop");
    assert.equal(stopNotifiers(), 1);
    await dies(pid, "the notifier's child after stopNotifiers");
  });
});

describe("restart_failed episodes", () => {
  it("one alert per episode: the first failure only, until the agent is seen running again", () => {
    const episodes = new FailedRestartEpisodes();
    assert.equal(episodes.first("deacon"), true);
    assert.equal(episodes.first("deacon"), false);
    assert.equal(episodes.first("deacon"), false);
    assert.equal(episodes.first("mayor"), true, "episodes are per agent");
    episodes.running(["deacon"]);
    assert.equal(episodes.first("deacon"), true, "a new episode after a run");
    assert.equal(episodes.first("mayor"), false);
  });
});
