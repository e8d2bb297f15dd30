import assert from "node:assert/strict";
import { readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  createSupervisedTown,
  inputsOf,
  processEnv,
  type Json,
  type SupervisedTown,
} from "../../helpers/supervised-town.js";
import { sleep, until } from "../../helpers/wait.js";

/**
 * Boot, the Deacon's triage dog, on a real tmux server (reference §5.2, B38–B41, [HEAD] B132–B133). The
 * Deacon never writes a heartbeat here (and has no hooks, whose events count as heartbeats too), so Boot is
 * needed whenever its cooldown allows; the cooldown is 3 s instead of 2 m (`boot_spawn_cooldown`), so the
 * spacing is seen without waiting minutes.
 */

const COOLDOWN_MS = 3000;

/** When the daemon logged each start of Boot (epoch ms). */
function bootStarts(town: SupervisedTown): number[] {
  return town
    .log()
    .filter((r) => r.agent === "boot" && r.msg.startsWith("Started boot "))
    .map((r) => Date.parse(r.time));
}

async function bootPane(
  town: SupervisedTown,
  what: string,
  generationNot = "",
): Promise<{ pid: number; generation: string }> {
  const panes = await town.waitForPanes(
    (p) =>
      p.some(
        (x) => x.session === "gt-boot" && !x.dead && x.generation !== "" && x.generation !== generationNot,
      ),
    15_000,
    what,
  );
  const pane = panes.find((x) => x.session === "gt-boot");
  assert.ok(pane !== undefined);
  return { pid: pane.pid, generation: pane.generation };
}

/**
 * Boot ends itself, as it does when its triage is done. Its own log says it exited: past its cooldown the
 * daemon replaces it within milliseconds, often before anyone could see the dead pane.
 */
async function endBoot(town: SupervisedTown): Promise<void> {
  const { generation } = await bootPane(town, "Boot to end");
  await town.tmux(["send-keys", "-t", "=gt-boot:", "-l", "/sim exit"]);
  await town.tmux(["send-keys", "-t", "=gt-boot:", "Enter"]);
  await until(
    "Boot to end",
    () => town.simEntries().some((e) => e.type === "exit" && e.generation === generation),
    10_000,
  );
}

describe("Boot enabled in mayor/daemon.json", { timeout: 90_000 }, () => {
  let town: SupervisedTown;

  before(async () => {
    town = await createSupervisedTown({
      patrols: { boot: { enabled: true } },
      settings: (s, h) => {
        // The Deacon runs but never heartbeats; Boot is the default simulated agent.
        s["agents"] = {
          ...(s["agents"] as Json),
          quiet: h.simRuntime(["--stop-heartbeat-after", "0s"], { hooks: false }),
        };
        s["role_agents"] = { deacon: "quiet" };
        s["operational"] = { daemon: { boot_spawn_cooldown: "3s" } };
      },
    });
    await town.start();
  });
  after(async () => {
    await town.cleanup();
  });

  it("B40: spawns Boot as gt-boot in deacon/dogs/boot with BD_ACTOR=deacon-boot, started with its prompt only", async () => {
    const { pid, generation } = await bootPane(town, "Boot to run");
    const env = processEnv(pid);
    assert.equal(env["BD_ACTOR"], "deacon-boot");
    assert.equal(env["GT_ROLE"], "boot");
    assert.equal(env["GIT_AUTHOR_NAME"], "boot");
    assert.equal(readlinkSync(`/proc/${pid}/cwd`), join(town.root, "deacon", "dogs", "boot"));
    await town.waitForLog(
      (r) => r.agent === "boot" && r.msg === "boot: start-up complete",
      15_000,
      "Boot's start-up",
    );
    await until("Boot's prompt in its input", () => inputsOf(town.simEntries(), generation).length > 0, 5000);
    await sleep(300);
    // The prompt is its work: no beacon, no propulsion nudge.
    assert.deepEqual(
      inputsOf(town.simEntries(), generation).map((e) => e.text),
      ["gt boot triage"],
    );
  });

  it("B38: is skipped while its session runs, past its cooldown", async () => {
    const first = await until("Boot's start logged", () => bootStarts(town)[0], 5000);
    await sleep(Math.max(0, first + COOLDOWN_MS + 500 - Date.now()));
    const { pid } = await bootPane(town, "Boot still running");
    const passes = town.snapshot().daemon.heartbeat_count;
    await town.forcePasses(passes + 4, 10_000);
    assert.equal(bootStarts(town).length, 1, "started once");
    assert.equal((await bootPane(town, "the same Boot")).pid, pid);
    assert.equal(town.agent(town.snapshot(), "boot").state, "running");
  });

  it("B132: never runs twice within the cooldown; ending is no death (no backoff, no failures)", async () => {
    // Past its cooldown, a Boot that ends is replaced at once; the replacement ends at once too.
    const { generation } = await bootPane(town, "Boot running");
    await endBoot(town);
    await bootPane(town, "the second Boot", generation);
    const second = await until("the second start logged", () => bootStarts(town)[1], 5000);
    // Typed at once: the new Boot reads it as soon as it is ready.
    await endBoot(town);
    const endedAt = Date.now();
    assert.ok(endedAt - second < COOLDOWN_MS - 500, `ended ${endedAt - second} ms after its start`);
    const status = town.agent(town.snapshot(), "boot");
    await until("a third Boot", () => bootStarts(town).length >= 3, 10_000);
    const third = bootStarts(town)[2] ?? 0;
    assert.ok(third - second >= COOLDOWN_MS - 100, `third start ${third - second} ms after the second`);
    const after = town.agent(town.snapshot(), "boot");
    for (const agent of [status, after]) {
      assert.equal(agent.failures, 0, "Boot's exit is no death");
      assert.equal(agent.next_attempt_at, null, "no backoff");
      assert.equal(agent.held_by ?? null, null);
    }
    assert.ok(["standby", "starting", "running"].includes(status.state), `state ${status.state}`);
  });

  it("B133: is not spawned while the Deacon's heartbeat is fresh", async () => {
    const heartbeat = join(town.root, "deacon", "heartbeat.json");
    writeFileSync(heartbeat, JSON.stringify({ timestamp: new Date().toISOString(), cycle: 1 }));
    await until(
      "the daemon to read the heartbeat",
      () => (town.agent(town.snapshot(), "deacon") as { heartbeat_seen?: boolean }).heartbeat_seen === true,
      10_000,
    );
    await bootPane(town, "the third Boot");
    await endBoot(town);
    const starts = bootStarts(town).length;
    await sleep(COOLDOWN_MS + 500);
    await town.forcePasses(town.snapshot().daemon.heartbeat_count + 3, 10_000);
    assert.equal(bootStarts(town).length, starts, "no Boot while the heartbeat is fresh");
    assert.equal(town.agent(town.snapshot(), "boot").state, "standby");
    // Without the heartbeat Boot is needed again: the skip was the heartbeat's doing.
    rmSync(heartbeat);
    await town.forcePasses(town.snapshot().daemon.heartbeat_count + 2, 10_000);
    await until("Boot once the heartbeat is gone", () => bootStarts(town).length > starts, 10_000);
  });
});
