import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { makeTempDir } from "../../test/helpers/tmp.js";
import { run } from "../proc/run.js";
import { sleep, waitFor } from "../util/sleep.js";

/**
 * The simulated agent as the first process of a tmux pane, on a private tmux server (its own socket in a
 * temporary directory; the default server is never touched).
 */
const MAIN = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
const TSX = import.meta.resolve("tsx");
const HAS_TMUX = spawnSync("tmux", ["-V"]).status === 0;

const CLEAN_ENV = Object.fromEntries(
  Object.entries(process.env).filter(
    ([key]) => !key.startsWith("TOWND_") && !key.startsWith("GT_") && key !== "BD_ACTOR" && key !== "TMUX",
  ),
);

describe("townd sim-agent in a tmux pane", { skip: HAS_TMUX ? false : "tmux is not installed" }, () => {
  const tmp = makeTempDir("td-simx-");
  const socket = join(tmp.dir, "s");
  const panePids = new Set<number>();

  async function tmux(...args: string[]): Promise<string> {
    const result = await run("tmux", ["-S", socket, "-f", "/dev/null", ...args], {
      timeoutMs: 5000,
      env: CLEAN_ENV,
      cwd: tmp.dir,
    });
    assert.equal(result.exitCode, 0, `tmux ${args.join(" ")}: ${result.stderr}`);
    return result.stdout.trimEnd();
  }

  /** Starts `townd sim-agent ARGS` as the pane's first process (no shell), 120x40. */
  async function startAgent(session: string, args: string[]): Promise<number> {
    await tmux(
      "new-session",
      "-d",
      "-s",
      session,
      "-x",
      "120",
      "-y",
      "40",
      "-c",
      tmp.dir,
      "--",
      process.execPath,
      "--import",
      TSX,
      MAIN,
      "sim-agent",
      ...args,
    );
    const pid = Number(await tmux("display-message", "-p", "-t", `=${session}:`, "#{pane_pid}"));
    assert.ok(Number.isInteger(pid) && pid > 0);
    panePids.add(pid);
    return pid;
  }

  const capture = (session: string): Promise<string> => tmux("capture-pane", "-p", "-t", `=${session}:`);
  const currentCommand = (session: string): Promise<string> =>
    tmux("display-message", "-p", "-t", `=${session}:`, "#{pane_current_command}");

  async function waitScreen(session: string, check: (screen: string) => boolean): Promise<string> {
    const screen = await waitFor(
      async () => {
        const text = await capture(session);
        return check(text) ? text : undefined;
      },
      { timeoutMs: 8000, intervalMs: 50 },
    );
    assert.ok(screen !== undefined, `session ${session}:\n${await capture(session)}`);
    return screen;
  }

  /** True when the screen's last non-blank line is the bare prompt. */
  const showsPrompt = (screen: string): boolean =>
    screen
      .split("\n")
      .map((line) => line.trimEnd())
      .filter((line) => line !== "")
      .at(-1) === "❯";

  after(async () => {
    if (existsSync(socket)) {
      await run("tmux", ["-S", socket, "kill-server"], { timeoutMs: 5000, env: CLEAN_ENV }).catch(
        () => undefined,
      );
    }
    // kill-server hangs up every pane; make sure nothing we started outlives the test.
    await sleep(100);
    for (const pid of panePids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    tmp.cleanup();
  });

  it("reads as 2.1.7 by default and as claude with --title claude in #{pane_current_command}", async () => {
    await Promise.all([startAgent("a", []), startAgent("b", ["--title", "claude"])]);
    await Promise.all([waitScreen("a", showsPrompt), waitScreen("b", showsPrompt)]);
    assert.equal(await currentCommand("a"), "2.1.7");
    assert.equal(await currentCommand("b"), "claude");
    assert.match(await capture("a"), /^sim-agent 2\.1\.7 · no role · generation none$/m);
  });

  it("accepts the Bypass Permissions dialog with send-keys Down, then Enter, then answers input", async () => {
    const log = join(tmp.dir, "dialog.jsonl");
    await startAgent("c", ["--bypass-dialog", "--log", log]);
    const dialog = await waitScreen("c", (screen) => screen.includes("Bypass Permissions mode"));
    assert.ok(dialog.includes("❯ No, exit") && dialog.includes("  Yes, I accept"));
    assert.ok(!showsPrompt(dialog), "no prompt while the dialog is up");
    assert.equal(await currentCommand("c"), "2.1.7");

    // What the daemon does (reference §12.5): Down, 200 ms, Enter.
    await tmux("send-keys", "-t", "=c:", "Down");
    await waitScreen("c", (screen) => screen.includes("❯ Yes, I accept"));
    await sleep(200);
    assert.ok(!showsPrompt(await capture("c")), "Down alone does not accept");
    await tmux("send-keys", "-t", "=c:", "Enter");
    const accepted = await waitScreen("c", showsPrompt);
    assert.ok(!accepted.includes("Bypass Permissions mode"), "the dialog leaves the screen once accepted");
    assert.match(accepted, /^sim-agent 2\.1\.7 · no role · generation none$/m);

    await tmux("send-keys", "-t", "=c:", `echo "$(id)"; x`, "Enter");
    await waitScreen("c", (screen) => screen.includes(`received: echo "$(id)"; x`) && showsPrompt(screen));
    const entries = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { type: string; text?: string; choice?: string });
    assert.ok(entries.some((entry) => entry.type === "dialog" && entry.choice === "Yes, I accept"));
    assert.ok(entries.some((entry) => entry.type === "input" && entry.text === `echo "$(id)"; x`));
  });

  it("takes a permission prompt's keys in raw mode and clears it away; Escape interrupts a busy turn", async () => {
    const log = join(tmp.dir, "keys.jsonl");
    await startAgent("e", ["--busy", "--log", log]);
    await waitScreen("e", (screen) => screen.includes("esc to interrupt"));
    // Mid-turn the box echoes what is typed (raw mode echoes nothing by itself), and Enter queues it.
    await tmux("send-keys", "-t", "=e:", "-l", "later please");
    await waitScreen("e", (screen) => screen.includes("❯ later please"));
    await tmux("send-keys", "-t", "=e:", "Enter");
    await tmux("send-keys", "-t", "=e:", "-l", "/sim permission Bash npm test");
    await tmux("send-keys", "-t", "=e:", "Enter");
    await waitScreen("e", (screen) => screen.includes("❯ 1. Yes"));
    await tmux("send-keys", "-t", "=e:", "Down");
    await waitScreen("e", (screen) => /❯ 2\. Yes, and don't ask again for npm/.test(screen));
    await tmux("send-keys", "-t", "=e:", "Up");
    await waitScreen("e", (screen) => screen.includes("❯ 1. Yes"));
    await tmux("send-keys", "-t", "=e:", "Enter");
    const ran = await waitScreen("e", (screen) => screen.includes("ran: npm test"));
    assert.ok(!ran.includes("Do you want to proceed?"), `the prompt leaves the screen:\n${ran}`);
    // A lone Escape, as tmux sends it: the turn ends, and the queued prompt is answered.
    await tmux("send-keys", "-t", "=e:", "Escape");
    await waitScreen(
      "e",
      (screen) => screen.includes("Interrupted · What should Claude do instead?") && showsPrompt(screen),
    );
    await waitScreen("e", (screen) => screen.includes("received: later please"));
    const types = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((line) => (JSON.parse(line) as { type: string }).type);
    assert.ok(types.includes("interrupt") && types.includes("dialog"), types.join(", "));
  });

  it("exits when tmux kills its session", async () => {
    const log = join(tmp.dir, "kill.jsonl");
    const pid = await startAgent("d", ["--log", log]);
    await waitScreen("d", showsPrompt);
    await tmux("kill-session", "-t", "=d");
    const exited = await waitFor(
      () => {
        const text = readFileSync(log, "utf8");
        return text.includes('"type":"exit"') ? text : undefined;
      },
      { timeoutMs: 5000, intervalMs: 20 },
    );
    assert.ok(exited !== undefined, "the agent logged its exit");
    assert.match(exited, /"type":"exit","code":0/);
    const gone = await waitFor(
      () => {
        try {
          process.kill(pid, 0);
          return undefined;
        } catch {
          return true;
        }
      },
      { timeoutMs: 5000, intervalMs: 20 },
    );
    assert.ok(gone, `pid ${pid} is gone`);
  });
});
