import assert from "node:assert/strict";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { makeTempDir } from "../../test/helpers/tmp.js";
import { deaconHeartbeatSchema } from "../town/schemas.js";
import { HeartbeatWriter, nextCycle, touchHeartbeat } from "./heartbeat.js";
import { sleep, waitFor } from "../util/sleep.js";

describe("heartbeat", () => {
  const tmp = makeTempDir("td-hb-");
  after(() => {
    tmp.cleanup();
  });

  it("starts at cycle 1 and continues from the file's cycle (B122)", async () => {
    const file = join(tmp.dir, "deacon", "heartbeat.json");
    assert.equal(nextCycle(file), 1);
    const now = new Date("2026-01-02T03:04:05.678Z");
    const first = await touchHeartbeat(file, now);
    assert.equal(first.cycle, 1);
    const onDisk = deaconHeartbeatSchema.parse(JSON.parse(readFileSync(file, "utf8")));
    assert.deepEqual(onDisk, {
      timestamp: "2026-01-02T03:04:05.678Z",
      cycle: 1,
      last_action: "sim-heartbeat",
      healthy_agents: 0,
      unhealthy_agents: 0,
    });
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal((await touchHeartbeat(file, now)).cycle, 2);
    writeFileSync(file, JSON.stringify({ timestamp: now.toISOString(), cycle: 41 }));
    assert.equal((await touchHeartbeat(file, now)).cycle, 42);
  });

  it("starts again at 1 when the file is unreadable", async () => {
    const file = join(tmp.dir, "garbage.json");
    writeFileSync(file, "{not json");
    assert.equal(nextCycle(file), 1);
    writeFileSync(file, JSON.stringify({ cycle: "seven" }));
    assert.equal((await touchHeartbeat(file, new Date())).cycle, 1);
  });

  it("writes at once, then every interval, and nothing after stop", async () => {
    const file = join(tmp.dir, "writer.json");
    const cycles: number[] = [];
    const writer = new HeartbeatWriter({
      file,
      intervalMs: 30,
      now: () => new Date(),
      onBeat: (beat) => cycles.push(beat.cycle),
      onError: (error) => {
        throw error;
      },
    });
    writer.start();
    assert.ok(await waitFor(() => (cycles.length >= 3 ? true : undefined), { timeoutMs: 2000 }));
    // stop() resolves once a write under way has landed; after that nothing changes.
    await writer.stop();
    assert.equal(writer.running, false);
    const settled = readFileSync(file, "utf8");
    assert.deepEqual(
      cycles,
      cycles.map((_, index) => index + 1),
    );
    assert.equal(nextCycle(file), cycles.length + 1);
    await sleep(150);
    assert.equal(readFileSync(file, "utf8"), settled);
    assert.equal(cycles.length, nextCycle(file) - 1);
  });
});
