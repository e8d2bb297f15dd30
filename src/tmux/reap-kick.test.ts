import assert from "node:assert/strict";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import { after, describe, it } from "node:test";
import { ReapKicker } from "./reap-kick.js";

/**
 * A real process that counts the SIGCHLDs it receives and prints the count on request (SIGUSR2): the
 * kicker's only effect on the world is those signals.
 */
const COUNTER = `
let count = 0;
process.on("SIGCHLD", () => { count += 1; });
process.on("SIGUSR2", () => { process.stdout.write(count + "\\n"); });
process.stdout.write("ready\\n");
setInterval(() => undefined, 1000);
`;

async function startCounter(): Promise<{
  child: ChildProcessWithoutNullStreams;
  count: () => Promise<number>;
}> {
  const child = spawn(process.execPath, ["-e", COUNTER]);
  child.stdout.setEncoding("utf8");
  const lines: string[] = [];
  let waiting: ((line: string) => void) | undefined;
  let buffer = "";
  child.stdout.on("data", (chunk: string) => {
    buffer += chunk;
    for (let i = buffer.indexOf("\n"); i >= 0; i = buffer.indexOf("\n")) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      if (waiting === undefined) lines.push(line);
      else {
        waiting(line);
        waiting = undefined;
      }
    }
  });
  const next = (): Promise<string> =>
    lines.length > 0
      ? Promise.resolve(lines.shift() ?? "")
      : new Promise((resolve) => {
          waiting = resolve;
        });
  assert.equal(await next(), "ready");
  return {
    child,
    count: async () => {
      child.kill("SIGUSR2");
      return Number(await next());
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("ReapKicker", () => {
  const children: ChildProcessWithoutNullStreams[] = [];
  after(async () => {
    for (const child of children) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      child.kill("SIGKILL");
      await once(child, "exit");
    }
  });

  it("sends the server a SIGCHLD every interval, none once stopped", async () => {
    const counter = await startCounter();
    children.push(counter.child);
    const kicker = new ReapKicker(() => counter.child.pid ?? null);
    kicker.arm(50);
    await sleep(1000);
    kicker.stop();
    // Let a signal sent just before stop() land: a pending SIGUSR2 (12) is delivered before SIGCHLD (17).
    await sleep(100);
    const kicked = await counter.count();
    // 20 intervals in a second; a loaded machine delays timers, never adds them.
    assert.ok(kicked >= 8 && kicked <= 21, `${kicked} SIGCHLDs in 1 s at 50 ms`);
    await sleep(300);
    assert.equal(await counter.count(), kicked, "no kick after stop()");
  });

  it("sends nothing while no server pid is known, or with the interval at 0", async () => {
    const counter = await startCounter();
    children.push(counter.child);
    let pid: number | null = null;
    const kicker = new ReapKicker(() => pid);
    kicker.arm(50);
    await sleep(300);
    assert.equal(await counter.count(), 0, "no pid known: nothing sent");
    pid = counter.child.pid ?? null;
    await sleep(300);
    kicker.arm(0);
    await sleep(100);
    const kicked = await counter.count();
    assert.ok(kicked > 0, "kicks start once the pid is known");
    await sleep(300);
    assert.equal(await counter.count(), kicked, "interval 0 turns it off");
  });

  it("a server that has exited is no error", async () => {
    const counter = await startCounter();
    const pid = counter.child.pid ?? null;
    counter.child.kill("SIGKILL");
    await once(counter.child, "exit");
    const kicker = new ReapKicker(() => pid);
    kicker.arm(20);
    await sleep(100);
    kicker.stop();
    assert.equal(counter.child.signalCode, "SIGKILL");
  });
});
