import assert from "node:assert/strict";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { EventEmitter } from "node:events";
import { PassThrough } from "node:stream";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { makeTempDir } from "../../test/helpers/tmp.js";
import { deaconHeartbeatSchema } from "../town/schemas.js";
import { sleep, waitFor } from "../util/sleep.js";
import { BYPASS_DIALOG_MARKER } from "./dialog.js";
import { runSimAgent } from "./agent.js";
import { resolveSimAgentOptions } from "./options.js";

/**
 * The simulated agent as the daemon runs it: a real child process of `townd sim-agent`, driven through
 * pipes. `--import` gets tsx's absolute URL so the agent can run in a temporary working directory.
 */
const MAIN = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
const TSX = import.meta.resolve("tsx");

/** The test runner's environment without anything that configures the simulated agent. */
const CLEAN_ENV = Object.fromEntries(
  Object.entries(process.env).filter(
    ([key]) => !key.startsWith("TOWND_") && !key.startsWith("GT_") && key !== "BD_ACTOR",
  ),
);

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

interface LogEntry {
  readonly ts: string;
  readonly type: string;
  readonly pid: number;
  readonly generation: string | null;
  readonly [key: string]: unknown;
}

const started = new Set<Sim>();

class Sim {
  readonly child: ChildProcessWithoutNullStreams;
  readonly exited: Promise<Exit>;
  stdout = "";
  stderr = "";
  exit: Exit | undefined;

  constructor(args: readonly string[], options: { cwd: string; env?: Record<string, string> }) {
    this.child = spawn(process.execPath, ["--import", TSX, MAIN, "sim-agent", ...args], {
      cwd: options.cwd,
      env: { ...CLEAN_ENV, ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    started.add(this);
    this.child.stdout.setEncoding("utf8").on("data", (chunk: string) => (this.stdout += chunk));
    this.child.stderr.setEncoding("utf8").on("data", (chunk: string) => (this.stderr += chunk));
    // The agent may exit while a test still writes to it.
    this.child.stdin.on("error", () => undefined);
    this.exited = new Promise((resolve) => {
      this.child.on("exit", (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  get pid(): number {
    assert.ok(this.child.pid !== undefined, "the agent did not start");
    return this.child.pid;
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  send(text: string): void {
    this.child.stdin.write(text);
  }

  /** Resolves with the time (ms since the epoch) at which stdout first matched. */
  async waitOutput(pattern: string | RegExp, timeoutMs = 8000): Promise<number> {
    const matches = (): boolean =>
      typeof pattern === "string" ? this.stdout.includes(pattern) : pattern.test(this.stdout);
    if (matches()) return Date.now();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.child.stdout.off("data", onData);
        reject(
          new Error(`no ${String(pattern)} in stdout after ${timeoutMs} ms:\n${this.stdout}${this.stderr}`),
        );
      }, timeoutMs);
      const onData = (): void => {
        if (!matches()) return;
        clearTimeout(timer);
        this.child.stdout.off("data", onData);
        resolve(Date.now());
      };
      this.child.stdout.on("data", onData);
    });
  }

  async waitExit(timeoutMs = 8000): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => {
        resolve(undefined);
      }, timeoutMs);
    });
    const exit = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    assert.ok(
      exit !== undefined,
      `the agent did not exit within ${timeoutMs} ms:\n${this.stdout}${this.stderr}`,
    );
    return exit;
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    if (this.alive) this.child.kill(signal);
  }
}

function readLog(file: string): LogEntry[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as LogEntry);
}

async function waitLog(
  file: string,
  predicate: (entry: LogEntry) => boolean,
  timeoutMs = 8000,
): Promise<LogEntry> {
  const entry = await waitFor(() => readLog(file).find(predicate), { timeoutMs, intervalMs: 20 });
  assert.ok(
    entry !== undefined,
    `no matching log entry within ${timeoutMs} ms:\n${readLog(file)
      .map((e) => JSON.stringify(e))
      .join("\n")}`,
  );
  return entry;
}

function cmdlineTitle(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0")[0] ?? "";
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function heartbeatCycle(file: string): number {
  return deaconHeartbeatSchema.parse(JSON.parse(readFileSync(file, "utf8"))).cycle;
}

const PROMPT = /(^|\n)❯ $/;

describe("townd sim-agent (real processes)", { concurrency: 4 }, () => {
  const tmp = makeTempDir("td-sim-");
  let n = 0;
  /** A fresh working directory per test. */
  const workdir = (): string => {
    n += 1;
    const dir = join(tmp.dir, `t${n}`);
    mkdirSync(dir);
    return dir;
  };

  after(async () => {
    for (const sim of started) sim.kill();
    await Promise.all([...started].map((sim) => sim.exited));
    tmp.cleanup();
  });

  it("sets the process title tmux reads from /proc/<pid>/cmdline, and shows a banner", async () => {
    const cwd = workdir();
    const sim = new Sim([], {
      cwd,
      env: { BD_ACTOR: "gastown/witness", GT_ROLE: "witness", TOWND_GENERATION: "g42" },
    });
    await sim.waitOutput(PROMPT);
    assert.equal(cmdlineTitle(sim.pid), "2.1.7");
    assert.match(sim.stdout, /^sim-agent 2\.1\.7 · gastown\/witness · generation g42\n❯ $/);
    sim.send("/sim title claude\n");
    await sim.waitOutput("title: claude\n");
    assert.equal(cmdlineTitle(sim.pid), "claude");

    const other = new Sim(["--title", "custom-agent"], { cwd, env: { TOWND_SIM_TITLE: "node" } });
    await other.waitOutput(PROMPT);
    assert.equal(cmdlineTitle(other.pid), "custom-agent", "the flag wins over TOWND_SIM_TITLE");
    sim.kill("SIGTERM");
    other.kill("SIGTERM");
    assert.equal((await sim.waitExit()).code, 0);
    assert.equal((await other.waitExit()).code, 0);
  });

  it("echoes and logs every input line verbatim; /sim crash 3 exits 3", async () => {
    const cwd = workdir();
    const log = join(cwd, "agent.jsonl");
    const sim = new Sim(["--log", log], { cwd, env: { TOWND_GENERATION: "g1" } });
    await sim.waitOutput(PROMPT);
    const lines = [
      `say "hi" 'there'`,
      "$(touch X); rm -rf nothing && echo `id` | cat > Y",
      "   spaced  out ",
      "",
      "ünïcödé ✓ \\back\\slash",
    ];
    sim.send(lines.map((line) => `${line}\n`).join(""));
    await sim.waitOutput(`received: ${lines.at(-1) ?? ""}\n❯ `);
    for (const line of lines) assert.ok(sim.stdout.includes(`received: ${line}\n❯ `), line);
    const inputs = readLog(log).filter((entry) => entry.type === "input");
    assert.deepEqual(
      inputs.map((entry) => entry.text),
      lines,
    );
    for (const entry of inputs) {
      assert.equal(entry.pid, sim.pid);
      assert.equal(entry.generation, "g1");
      assert.ok(!Number.isNaN(Date.parse(entry.ts)));
    }
    assert.equal(readLog(log)[0]?.type, "start");
    assert.ok(!existsSync(join(cwd, "X")) && !existsSync(join(cwd, "Y")), "input is never run by a shell");
    sim.send("/sim crash 3\n");
    assert.deepEqual(await sim.waitExit(), { code: 3, signal: null });
    assert.deepEqual(readLog(log).at(-1)?.code, 3);
  });

  it("crashes after --crash-after with --exit-code, on time", async () => {
    const cwd = workdir();
    const log = join(cwd, "agent.jsonl");
    const sim = new Sim(["--crash-after", "1s", "--exit-code", "5", "--log", log], { cwd });
    await sim.waitOutput(PROMPT);
    const exit = await sim.waitExit();
    assert.deepEqual(exit, { code: 5, signal: null });
    const entries = readLog(log);
    const start = entries.find((entry) => entry.type === "start");
    const crash = entries.find((entry) => entry.type === "crash");
    assert.ok(start !== undefined && crash !== undefined);
    assert.equal(crash.code, 5);
    const elapsed = Date.parse(crash.ts) - Date.parse(start.ts);
    // Timers fire late on a loaded machine, never early.
    assert.ok(elapsed >= 1000 && elapsed < 3000, `crashed after ${elapsed} ms`);
    assert.match(sim.stdout, /crashing with exit code 5/);
  });

  it("crashes at once, before the prompt, with --crash-after 0s (from the environment too)", async () => {
    const cwd = workdir();
    const log = join(cwd, "agent.jsonl");
    const sim = new Sim([], { cwd, env: { TOWND_SIM_CRASH_AFTER: "0s", TOWND_SIM_LOG: log } });
    assert.deepEqual(await sim.waitExit(), { code: 1, signal: null });
    assert.ok(!sim.stdout.includes("❯ "), sim.stdout);
    assert.deepEqual(
      readLog(log).map((entry) => entry.type),
      ["start", "crash"],
    );
  });

  it("hangs after --hang-after: alive, deaf, no heartbeats, ignores SIGTERM, dies on SIGKILL", async () => {
    const cwd = workdir();
    const log = join(cwd, "agent.jsonl");
    const hb = join(cwd, "hb.json");
    const sim = new Sim(
      [
        "--hang-after",
        "1.5s",
        "--hang-ignores-sigterm",
        "--log",
        log,
        "--heartbeat-file",
        hb,
        "--heartbeat-interval",
        "50ms",
      ],
      { cwd },
    );
    await sim.waitOutput(PROMPT);
    sim.send("before\n");
    await sim.waitOutput("received: before\n");
    await waitLog(log, (entry) => entry.type === "hang");
    // Logged once a heartbeat write under way at the hang has landed.
    await waitLog(log, (entry) => entry.type === "heartbeat-stopped" && entry.reason === "--hang-after");
    const heartbeat = readFileSync(hb, "utf8");
    sim.send("after\n");
    await sleep(400);
    assert.ok(!sim.stdout.includes("received: after"), "a hung agent does not answer");
    assert.ok(!readLog(log).some((entry) => entry.type === "input" && entry.text === "after"));
    assert.equal(readFileSync(hb, "utf8"), heartbeat, "a hung agent does not heartbeat");
    sim.kill("SIGTERM");
    await waitLog(log, (entry) => entry.type === "signal" && entry.ignored === true);
    await sleep(200);
    assert.ok(sim.alive && processExists(sim.pid), "SIGTERM is ignored while hung");
    sim.kill("SIGKILL");
    assert.deepEqual(await sim.waitExit(), { code: null, signal: "SIGKILL" });
  });

  it("hangs on /sim hang and still exits 0 on SIGTERM without --hang-ignores-sigterm", async () => {
    const cwd = workdir();
    const log = join(cwd, "agent.jsonl");
    const sim = new Sim(["--log", log], { cwd });
    await sim.waitOutput(PROMPT);
    sim.send("/sim hang\nignored\n");
    await waitLog(log, (entry) => entry.type === "hang");
    await sleep(200);
    assert.ok(!sim.stdout.includes("received: ignored"));
    assert.ok(sim.alive);
    sim.kill("SIGTERM");
    assert.deepEqual(await sim.waitExit(), { code: 0, signal: null });
  });

  it("writes schema-valid heartbeats with a cycle continuing from the file (B122)", async () => {
    const cwd = workdir();
    const log = join(cwd, "agent.jsonl");
    const hb = join(cwd, "hb.json");
    writeFileSync(hb, JSON.stringify({ timestamp: new Date(0).toISOString(), cycle: 41 }));
    const sim = new Sim(["--log", log, "--heartbeat-file", hb], {
      cwd,
      env: { TOWND_SIM_HEARTBEAT_INTERVAL: "100ms" },
    });
    await waitLog(log, (entry) => entry.type === "heartbeat" && entry.cycle === 44);
    const beats = readLog(log).filter((entry) => entry.type === "heartbeat");
    assert.deepEqual(
      beats.slice(0, 4).map((entry) => entry.cycle),
      [42, 43, 44, 45].slice(0, Math.min(4, beats.length)),
    );
    const beat = deaconHeartbeatSchema.parse(JSON.parse(readFileSync(hb, "utf8")));
    assert.ok(beat.cycle >= 44);
    assert.equal(beat.last_action, "sim-heartbeat");
    assert.equal(beat.healthy_agents, 0);
    assert.equal(beat.unhealthy_agents, 0);
    assert.match(beat.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(Math.abs(Date.now() - Date.parse(beat.timestamp)) < 5000);
    assert.equal(statSync(hb).mode & 0o777, 0o600);
    sim.kill("SIGTERM");
    await sim.waitExit();
  });

  it("heartbeats to <town>/deacon/heartbeat.json as the Deacon, and stops after --stop-heartbeat-after", async () => {
    const cwd = workdir();
    const log = join(cwd, "agent.jsonl");
    const town = join(cwd, "town");
    const hb = join(town, "deacon", "heartbeat.json");
    const sim = new Sim(["--log", log, "--heartbeat-interval", "100ms", "--stop-heartbeat-after", "600ms"], {
      cwd,
      env: { GT_ROLE: "deacon", BD_ACTOR: "deacon", GT_TOWN_ROOT: town },
    });
    // Logged once a write under way at the stop has landed: from then on the file must not change.
    await waitLog(log, (entry) => entry.type === "heartbeat-stopped");
    const cycles = readLog(log)
      .filter((entry) => entry.type === "heartbeat")
      .map((entry) => entry.cycle);
    assert.ok(cycles.length >= 1);
    assert.deepEqual(
      cycles,
      cycles.map((_, index) => index + 1),
    );
    const content = readFileSync(hb, "utf8");
    assert.equal(heartbeatCycle(hb), cycles.at(-1));
    await sleep(500);
    assert.equal(readFileSync(hb, "utf8"), content, "no heartbeat after the stop");
    assert.equal(readLog(log).filter((entry) => entry.type === "heartbeat").length, cycles.length);
    sim.send("still here\n");
    await sim.waitOutput("received: still here\n❯ ");
    assert.ok(sim.alive);
    sim.kill("SIGTERM");
    await sim.waitExit();
  });

  it("runs /sim run without a shell, with the agent's environment", async () => {
    const cwd = workdir();
    const log = join(cwd, "agent.jsonl");
    const sim = new Sim(["--log", log], { cwd, env: { SIM_CHILD_ENV: "inherited" } });
    await sim.waitOutput(PROMPT);
    sim.send(
      `/sim run node -e "process.stdout.write(process.argv[1] + '|' + process.env.SIM_CHILD_ENV)" "$(touch X)" ;\n`,
    );
    await sim.waitOutput("[exit 0]\n❯ ");
    assert.ok(sim.stdout.includes("$(touch X)|inherited\n"), sim.stdout);
    assert.ok(!existsSync(join(cwd, "X")), "$(touch X) must not run");
    sim.send(`/sim run node -e "process.exit(4)"\n/sim run no-such-program-xyz\n`);
    await sim.waitOutput("[exit 4]\n❯ ");
    await sim.waitOutput(/sim run: .*no-such-program-xyz.*\n❯ $/);
    const runs = readLog(log).filter((entry) => entry.type === "run");
    assert.deepEqual(runs[0]?.argv, [
      "node",
      "-e",
      "process.stdout.write(process.argv[1] + '|' + process.env.SIM_CHILD_ENV)",
      "$(touch X)",
      ";",
    ]);
    assert.equal(runs[1]?.code, 4);
    assert.ok(sim.alive);
    sim.kill("SIGTERM");
    await sim.waitExit();
  });

  it("keeps running at EOF of a pipe, and exits 0 promptly on SIGTERM", async () => {
    const cwd = workdir();
    const log = join(cwd, "agent.jsonl");
    const sim = new Sim(["--log", log], { cwd });
    await sim.waitOutput(PROMPT);
    sim.child.stdin.end("last line without newline");
    await waitLog(log, (entry) => entry.type === "eof");
    await sleep(300);
    assert.ok(sim.alive, "EOF on a pipe does not end the agent");
    assert.ok(
      readLog(log).some((entry) => entry.type === "input" && entry.text === "last line without newline"),
    );
    const signalledAt = Date.now();
    sim.kill("SIGTERM");
    assert.deepEqual(await sim.waitExit(), { code: 0, signal: null });
    assert.ok(Date.now() - signalledAt < 2500, `exited ${Date.now() - signalledAt} ms after SIGTERM`);
    assert.deepEqual(
      readLog(log)
        .slice(-2)
        .map(({ type, signal, code }) => ({ type, signal, code })),
      [
        { type: "signal", signal: "SIGTERM", code: undefined },
        { type: "exit", signal: undefined, code: 0 },
      ],
    );
  });

  it("delays the banner and prompt by --startup-delay, and exits 0 after --exit-after", async () => {
    const cwd = workdir();
    const log = join(cwd, "agent.jsonl");
    const sim = new Sim(["--startup-delay", "800ms", "--exit-after", "1.5s", "--log", log], { cwd });
    const start = await waitLog(log, (entry) => entry.type === "start");
    assert.equal(sim.stdout, "");
    const promptAt = await sim.waitOutput(PROMPT);
    assert.ok(promptAt - Date.parse(start.ts) >= 790, `prompt after ${promptAt - Date.parse(start.ts)} ms`);
    assert.deepEqual(await sim.waitExit(), { code: 0, signal: null });
    const exit = readLog(log).find((entry) => entry.type === "exit");
    assert.equal(exit?.code, 0);
    assert.equal(exit.reason, "--exit-after");
    const elapsed = Date.parse(exit.ts) - Date.parse(start.ts);
    assert.ok(elapsed >= 1500 && elapsed < 3500, `exited after ${elapsed} ms`);
  });

  it("shows the Bypass Permissions dialog and the prompt only after Down then Enter", async () => {
    const cwd = workdir();
    const log = join(cwd, "agent.jsonl");
    const sim = new Sim(["--bypass-dialog", "--log", log], { cwd });
    await sim.waitOutput("Bypass Permissions mode");
    assert.ok(sim.stdout.includes("❯ No, exit") && sim.stdout.includes("  Yes, I accept"));
    sim.send("\x1b[B");
    await sleep(250);
    assert.ok(!PROMPT.test(sim.stdout), "no prompt before Enter");
    sim.send("\nhello\n");
    await sim.waitOutput("received: hello\n❯ ");
    assert.ok(
      readLog(log).some(
        (entry) => entry.type === "dialog" && entry.dialog === "bypass" && entry.choice === "Yes, I accept",
      ),
    );

    // Enter on the pre-selected "No, exit" leaves, as the real CLI does when a beacon lands in the dialog.
    const declined = new Sim([], { cwd, env: { TOWND_SIM_BYPASS_DIALOG: "1" } });
    await declined.waitOutput("Bypass Permissions mode");
    declined.send("[GAS TOWN] 2\n");
    assert.deepEqual(await declined.waitExit(), { code: 1, signal: null });
    sim.kill("SIGTERM");
    await sim.waitExit();
  });

  it("rejects a bad flag or variable value with exit 2 and one line naming it", async () => {
    const cwd = workdir();
    const bad = new Sim(["--crash-after", "soon"], { cwd });
    assert.deepEqual(await bad.waitExit(), { code: 2, signal: null });
    const lines = bad.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, bad.stderr);
    assert.match(lines[0] ?? "", /--crash-after "soon"/);

    const badEnv = new Sim([], { cwd, env: { TOWND_SIM_HEARTBEAT_INTERVAL: "fast" } });
    assert.deepEqual(await badEnv.waitExit(), { code: 2, signal: null });
    assert.match(badEnv.stderr, /^townd: TOWND_SIM_HEARTBEAT_INTERVAL="fast": .*\n$/);
  });
});

describe("runSimAgent with injected IO (in-process)", () => {
  function harness(env: NodeJS.ProcessEnv = {}) {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    let output = "";
    stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    const signals = new EventEmitter();
    const titles: string[] = [];
    const exits: number[] = [];
    const done = runSimAgent(resolveSimAgentOptions({}, env, "/"), {
      stdin,
      stdout,
      now: () => new Date("2026-01-01T00:00:00.000Z"),
      exit: (code) => exits.push(code),
      signals,
      setTitle: (title) => titles.push(title),
    });
    return { stdin, signals, titles, exits, done, output: () => output };
  }

  it("answers lines, retitles, and exits through io.exit", async () => {
    const agent = harness({ GT_ROLE: "mayor" });
    agent.stdin.write("hello\n/sim title claude\n/sim bogus\n/sim exit\nnever\n");
    assert.equal(await agent.done, 0);
    assert.deepEqual(agent.exits, [0]);
    assert.deepEqual(agent.titles, ["2.1.7", "claude"]);
    const output = agent.output();
    assert.ok(output.startsWith("sim-agent 2.1.7 · mayor · generation none\n❯ received: hello\n❯ "), output);
    assert.ok(output.includes("title: claude\n"));
    assert.ok(output.includes('unknown command "bogus"'));
    assert.ok(!output.includes("received: never"));
    assert.equal(agent.signals.listenerCount("SIGTERM"), 0, "signal handlers are removed at exit");
  });

  it("accepts the dialog through a pipe and exits 0 on SIGTERM", async () => {
    const agent = harness({ TOWND_SIM_BYPASS_DIALOG: "1" });
    agent.stdin.write("\x1b[B\nfirst\n");
    await waitFor(() => (agent.output().includes("received: first\n❯ ") ? true : undefined), {
      timeoutMs: 2000,
    });
    const output = agent.output();
    assert.ok(output.indexOf(BYPASS_DIALOG_MARKER) < output.indexOf("received: first"), output);
    agent.signals.emit("SIGTERM");
    assert.equal(await agent.done, 0);
    assert.deepEqual(agent.exits, [0]);
  });
});
