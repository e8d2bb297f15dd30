import assert from "node:assert/strict";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import { after, describe, it } from "node:test";
import { kickServer } from "./reap-kick.js";

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

describe("kickServer", () => {
  const children: ChildProcessWithoutNullStreams[] = [];
  after(async () => {
    for (const child of children) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      child.kill("SIGKILL");
      await once(child, "exit");
    }
  });

  it("sends the process one SIGCHLD per call", async () => {
    const counter = await startCounter();
    children.push(counter.child);
    const pid = counter.child.pid ?? 0;
    for (let i = 0; i < 3; i += 1) {
      kickServer(pid);
      // Signals of one kind pending at once merge into one: let each land.
      await sleep(50);
    }
    assert.equal(await counter.count(), 3);
  });

  it("a server that has exited is no error", async () => {
    const counter = await startCounter();
    const pid = counter.child.pid ?? 0;
    counter.child.kill("SIGKILL");
    await once(counter.child, "exit");
    assert.doesNotThrow(() => {
      kickServer(pid);
    });
  });
});
