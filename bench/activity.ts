/**
 * Activity: how fast a hook event reaches `status --json`, and what reading every agent's screen costs.
 *
 *   node --import tsx bench/activity.ts [--events 200] [--rigs 5] [--sessions 500]
 *
 * 1. Hook → status. A town of simulated Claude agents (hooks on). Each event is appended to
 *    daemon/hook-events exactly as townd's hook command writes it (one line, one write), alternating a
 *    PermissionRequest with a unique command and a Stop; the clock runs from just before the write until
 *    GET /v1/status on the control socket (polled back to back) shows that agent's new activity. This is
 *    the daemon's part: Claude starting the hook's `sh` adds a few ms before it on a real agent.
 * 2. Screens per pass. A tmux server with --sessions panes (each showing a prompt), read the way a pass
 *    reads them: every screen in ONE `tmux` invocation (captureScreens), against one `capture-pane` per
 *    session.
 *
 * Prints markdown tables and writes .bench/activity.json.
 */
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { callApi } from "../src/api/client.js";
import { TmuxClient } from "../src/tmux/client.js";
import {
  MAIN,
  machine,
  nowMs,
  onCleanup,
  round,
  runBenchmark,
  sleep,
  startTown,
  summarize,
  table,
  waitForRunning,
  writeResult,
} from "./harness.js";

interface ActivityView {
  identity: string;
  generation: string | null;
  activity?: { state: string; detail: string } | null;
}

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "200" },
    rigs: { type: "string", default: "5" },
    sessions: { type: "string", default: "500" },
  },
});
const EVENTS = Number(values.events);
const RIGS = Number(values.rigs);
const SESSIONS = Number(values.sessions);

async function hookLatency(): Promise<number[]> {
  const town = await startTown("bench-activity-", {
    rigs: RIGS,
    runtime: {
      command: process.execPath,
      args: [MAIN, "sim-agent"],
      process_names: ["2.1.7"],
      profile: "claude",
    },
  });
  await waitForRunning(town, 2 * RIGS, 120_000);
  const events = join(town.town, "daemon", "hook-events");
  const agents = async (): Promise<ActivityView[]> =>
    ((await callApi(town.controlSocket, "GET", "/v1/status")) as { agents: ActivityView[] }).agents;
  const latencies: number[] = [];
  for (let k = 0; k < EVENTS; k += 1) {
    const list = (await agents()).filter((a) => a.generation !== null);
    const agent = list[k % list.length];
    if (agent?.generation == null) throw new Error("no running agent");
    const waiting = k % 2 === 0;
    const payload = waiting
      ? { hook_event_name: "PermissionRequest", tool_name: "Bash", tool_input: { command: `bench ${k}` } }
      : { hook_event_name: "Stop" };
    const line = `${agent.generation}\t${payload.hook_event_name}\t${JSON.stringify(payload)}\n`;
    const start = nowMs();
    appendFileSync(events, line);
    for (;;) {
      const seen = (await agents()).find((a) => a.identity === agent.identity)?.activity;
      const arrived = waiting
        ? seen?.state === "awaiting-permission" && seen.detail.includes(`bench ${k}`)
        : seen?.state === "idle";
      if (arrived) break;
      if (nowMs() - start > 5_000) throw new Error(`event ${k} never showed in status`);
    }
    latencies.push(nowMs() - start);
    await sleep(20);
  }
  town.dispose();
  return latencies;
}

async function screenCost(): Promise<{ batchMs: number[]; eachMs: number[] }> {
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(join(tmpdir(), "bench-screens-"));
  const socket = join(dir, "tmux.sock");
  const client = new TmuxClient({ socket });
  // Cleanups run last-registered first: the server is killed before its socket's directory goes.
  onCleanup(`remove ${dir}`, () => {
    rmSync(dir, { recursive: true, force: true });
  });
  onCleanup(`kill ${socket}`, () => client.killServer().catch(() => undefined));
  await client.ensureServer();
  const sessions = Array.from({ length: SESSIONS }, (_, i) => `s${i}`);
  for (const name of sessions) {
    await client.newSession({
      name,
      cwd: dir,
      argv: ["sh", "-c", "printf 'sim-agent 2.1.7\\n\\342\\235\\257 '; exec sleep 600"],
      env: {},
      generation: name,
      identity: name,
    });
  }
  await sleep(1000);
  const batchMs: number[] = [];
  const eachMs: number[] = [];
  for (let run = 0; run < 5; run += 1) {
    let start = nowMs();
    const screens = await client.captureScreens(sessions);
    batchMs.push(nowMs() - start);
    if (screens.size !== SESSIONS) throw new Error(`${screens.size} screens of ${SESSIONS}`);
    start = nowMs();
    for (const name of sessions) await client.captureScreen(name);
    eachMs.push(nowMs() - start);
  }
  await client.killServer();
  return { batchMs, eachMs };
}

await runBenchmark(async () => {
  const latencies = await hookLatency();
  const hook = summarize(latencies);
  const screens = await screenCost();
  const batch = summarize(screens.batchMs);
  const each = summarize(screens.eachMs);
  console.log(`\n## Hook event → status --json (${EVENTS} events, ${2 * RIGS} agents)\n`);
  console.log(
    table(
      ["p50 ms", "p95 ms", "max ms"],
      ["---:", "---:", "---:"],
      [[round(hook.p50), round(hook.p95), round(hook.max)]],
    ),
  );
  console.log(`\n## Reading ${SESSIONS} screens (5 runs)\n`);
  console.log(
    table(
      ["how", "tmux calls", "p50 ms", "p95 ms"],
      ["---", "---:", "---:", "---:"],
      [
        ["one invocation (a pass)", "1", round(batch.p50), round(batch.p95)],
        ["one capture-pane each", String(SESSIONS), round(each.p50), round(each.p95)],
      ],
    ),
  );
  const file = writeResult("activity", {
    machine: machine(),
    hook: { events: EVENTS, agents: 2 * RIGS, latencies_ms: latencies, summary: hook },
    screens: { sessions: SESSIONS, batch, each },
  });
  console.log(`\nwrote ${file}`);
});
