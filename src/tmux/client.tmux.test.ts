import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  startPrivateTmux,
  tmuxSkipReason,
  waitForPaneText,
  type PrivateTmux,
} from "../../test/helpers/tmux.js";
import { makeTempDir } from "../../test/helpers/tmp.js";
import { AppError } from "../errors.js";
import { readProcessTable } from "../proc/tree.js";
import { waitFor } from "../util/sleep.js";
import { TmuxClient, type SessionSpec } from "./client.js";
import { TmuxDuplicateSessionError, TmuxNoServerError, TmuxSessionNotFoundError } from "./errors.js";
import { escapeFormat, shellQuote, tmuxQuote } from "./format.js";
import type { PaneInfo } from "./types.js";

const skip = await tmuxSkipReason();

/**
 * Writes its argv, the HOSTILE_* variables and its cwd as JSON (atomically, so the test never reads half a
 * file), then stays alive as an agent would.
 */
const ARGV_SCRIPT = `
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith("HOSTILE_")));
const fs = require("node:fs");
fs.writeFileSync(process.argv[2] + ".tmp", JSON.stringify({ argv: process.argv.slice(3), env, cwd: process.cwd() }));
fs.renameSync(process.argv[2] + ".tmp", process.argv[2]);
setInterval(() => {}, 60_000);
`;

describe("TmuxClient on a private tmux server", { skip }, () => {
  let tmux: PrivateTmux;
  let client: TmuxClient;
  let diedFile: string;

  const spec = (name: string, argv: readonly string[], extra: Partial<SessionSpec> = {}): SessionSpec => ({
    name,
    cwd: tmux.dir,
    argv,
    env: {},
    generation: `gen-${name}`,
    identity: `rig/polecat/${name}`,
    ...extra,
  });

  const pane = async (session: string): Promise<PaneInfo | undefined> =>
    (await client.snapshot()).panes.find((entry) => entry.session === session);

  const deadPane = async (session: string): Promise<PaneInfo> => {
    const found = await waitFor(
      async () => {
        const entry = await pane(session);
        return entry?.dead === true ? entry : undefined;
      },
      { timeoutMs: 5000, intervalMs: 20 },
    );
    assert.ok(found, `pane of ${session} never became dead`);
    return found;
  };

  before(async () => {
    tmux = await startPrivateTmux();
    client = tmux.client;
    diedFile = join(tmux.dir, "died.log");
    // Three languages nest here: the shell command, tmux's format expansion (run-shell expands #{}),
    // and the tmux command language the hook body is parsed with.
    const shell = `printf '%s\\n' #{q:session_name} >> ${escapeFormat(shellQuote(diedFile))}`;
    // A second ensureServer on a running server must be harmless and still install the hook.
    await client.ensureServer({ paneDiedHook: `run-shell -b ${tmuxQuote(shell)}` });
  });

  after(async () => {
    await tmux.cleanup();
  });

  it("reports the tmux version", async () => {
    assert.match(await client.version(), /^tmux \d/);
  });

  it("matches session names exactly, never by prefix (B114)", async () => {
    await client.newSession(spec("pfx10", ["sleep", "100000"]));
    assert.equal(await client.hasSession("pfx10"), true);
    assert.equal(await client.hasSession("pfx1"), false);
    await assert.rejects(client.killSession("pfx1"), TmuxSessionNotFoundError);
    await assert.rejects(client.capturePane("pfx1", 10), TmuxSessionNotFoundError);
    await assert.rejects(client.sendKey("pfx1", "Enter"), TmuxSessionNotFoundError);
    assert.equal(await client.hasSession("pfx10"), true);
    await client.killSession("pfx10");
    assert.equal(await client.hasSession("pfx10"), false);
  });

  it("raises typed errors for missing and duplicate sessions", async () => {
    await assert.rejects(client.sendLiteral("nosuch", "x"), TmuxSessionNotFoundError);
    await assert.rejects(client.setOption("nosuch", "@x", "y"), TmuxSessionNotFoundError);
    await assert.rejects(
      client.respawnPane("nosuch", { cwd: tmux.dir, argv: ["true", "x"], env: {}, generation: "g" }),
      TmuxSessionNotFoundError,
    );
    await client.newSession(spec("dup", ["sleep", "100000"]));
    await assert.rejects(client.newSession(spec("dup", ["sleep", "100000"])), TmuxDuplicateSessionError);
    await client.killSession("dup");
  });

  it("refuses names tmux would rewrite, option-like commands and missing directories before calling tmux", async () => {
    for (const name of ["a.b", "a:b", "#{x}", "", "a b"]) {
      await assert.rejects(client.newSession(spec(name, ["sleep", "1"])), AppError);
    }
    for (const name of ["a:b", "a.b", "=a"]) {
      await assert.rejects(client.hasSession(name), AppError, `target ${name} must be refused, not resolved`);
    }
    await assert.rejects(client.newSession(spec("opt", ["-x", "y"])), /must start with a program name/);
    await assert.rejects(client.newSession(spec("opt", [])), /must start with a program name/);
    await assert.rejects(
      client.newSession(spec("nodir", ["sleep", "1"], { cwd: join(tmux.dir, "missing") })),
      /is not a directory/,
    );
    assert.equal(await client.hasSession("nodir"), false);
  });

  it("observes several sessions and townd's labels in one snapshot", async () => {
    const names = ["snap-a", "snap-b", "snap-c"];
    for (const name of names) await client.newSession(spec(name, ["sleep", "100000"]));
    // Right after new-session the pane's process may still be tmux's fork, not yet exec'd into `sleep`
    // (pane_current_command already says "sleep" then: it is not proof of exec).
    const execd = (entry: PaneInfo): boolean => readProcessTable().get(entry.panePid)?.name === "sleep";
    const ours = await waitFor(
      async () => {
        const snapshot = await client.snapshot();
        assert.equal(snapshot.serverRunning, true);
        const found = snapshot.panes.filter((entry) => names.includes(entry.session));
        return found.length === names.length && found.every(execd) ? found : undefined;
      },
      { timeoutMs: 3000, intervalMs: 20 },
    );
    assert.ok(ours, "the panes' first processes never became `sleep`: the command is not run directly");
    assert.deepEqual(
      ours.map((entry) => [entry.session, entry.generation, entry.identity, entry.command, entry.dead]),
      names.map((name) => [name, `gen-${name}`, `rig/polecat/${name}`, "sleep", false]),
    );
    for (const entry of ours) assert.match(entry.paneId, /^%\d+$/);
    for (const name of names) await client.killSession(name);
  });

  it("keeps an exited pane with its exit code and last output, and runs the pane-died hook", async () => {
    // The pause matters: tmux 3.3a closes a pane's pty without draining it, so output written in the
    // same instant as the exit is lost now and then (about 1 in 60 here).
    await client.newSession(spec("exit7", ["sh", "-c", "echo last-words; sleep 0.1; exit 7"]));
    const dead = await deadPane("exit7");
    assert.equal(dead.deadStatus, 7);
    assert.match(await client.capturePane("exit7", 20), /last-words/);
    const logged = await waitFor(() => (readDied().includes("exit7") ? true : undefined), {
      timeoutMs: 2000,
    });
    assert.equal(logged, true, "pane-died hook did not log exit7");
    await client.killSession("exit7");
  });

  it("reports a pane killed by a signal as dead without a status, and fires the hook within 1 s", async () => {
    await client.newSession(spec("sig9", ["sleep", "100000"]));
    const live = await pane("sig9");
    assert.ok(live && !live.dead);
    const killedAt = Date.now();
    process.kill(live.panePid, "SIGKILL");
    const latency = await hookLatency("sig9", killedAt, 1000);
    assert.ok(latency !== undefined && latency <= 1000, "pane-died hook did not run within 1 s");
    const dead = await deadPane("sig9");
    assert.equal(dead.deadStatus, null);
    assert.equal(dead.panePid, live.panePid);
    await client.killSession("sig9");
  });

  it("collects exit statuses and fires pane-died even when tmux loses the SIGCHLD", async () => {
    // Debian's tmux 3.3a loses about one in five of these SIGCHLDs (libutempter swaps the handler): the
    // pane then stays dead with no status and no hook until something else makes the server reap it.
    // One at a time, so no other pane's death can rescue it: only snapshot's kick does.
    for (let index = 0; index < 10; index += 1) {
      const name = `quick${index}`;
      await client.newSession(spec(name, ["sh", "-c", "sleep 0.05; exit 7"]));
      const started = Date.now();
      const status = await waitFor(
        async () => {
          const entry = await pane(name);
          return entry?.dead === true && entry.deadStatus !== null ? entry.deadStatus : undefined;
        },
        { timeoutMs: 1000, intervalMs: 10 },
      );
      assert.equal(status, 7, `${name} has no exit status 1 s after it was started`);
      assert.ok((await hookLatency(name, started, 1000)) !== undefined, `pane-died did not fire for ${name}`);
      await client.killSession(name);
    }
  });

  it("respawns a pane in place with a new pid and generation", async () => {
    await client.newSession(spec("resp", ["sh", "-c", "exit 3"]));
    const dead = await deadPane("resp");
    await client.respawnPane("resp", {
      cwd: tmux.dir,
      argv: ["sleep", "100000"],
      env: {},
      generation: "gen-2",
    });
    const first = await pane("resp");
    assert.ok(first);
    assert.equal(first.dead, false);
    assert.notEqual(first.panePid, dead.panePid);
    assert.equal(first.generation, "gen-2");
    assert.equal(first.identity, "rig/polecat/resp");
    // -k: a live pane is replaced too.
    await client.respawnPane("resp", {
      cwd: tmux.dir,
      argv: ["sleep", "100001"],
      env: {},
      generation: "gen-3",
    });
    const second = await pane("resp");
    assert.ok(second && !second.dead);
    assert.notEqual(second.panePid, first.panePid);
    assert.equal(second.generation, "gen-3");
    assert.equal((await client.snapshot()).panes.filter((entry) => entry.session === "resp").length, 1);
    await client.killSession("resp");
  });

  it("looks up one live pane's pid, and none for a dead pane or a missing session", async () => {
    await client.newSession(spec("pid1", ["sleep", "100000"]));
    await client.newSession(spec("pid10", ["sh", "-c", "exit 0"]));
    const live = await pane("pid1");
    assert.ok(live);
    assert.equal(await client.livePanePid("pid1"), live.panePid);
    await deadPane("pid10");
    assert.equal(await client.livePanePid("pid10"), null);
    assert.equal(await client.livePanePid("pid"), null, "no prefix match on pid1/pid10");
    await client.killSession("pid1");
    await client.killSession("pid10");
  });

  it("passes hostile arguments, environment values and directory names verbatim, executing none", async () => {
    const canary = join(tmux.dir, "pwned");
    const hostile = [
      `$(touch ${canary})`,
      `\`touch ${canary}\``,
      `; touch ${canary}`,
      ";",
      "a;",
      "b\\;",
      "\\;",
      "\\",
      `it's "quoted"`,
      "line\nbreak",
      "../../etc/passwd",
      "#{session_name}",
      "##",
      "-x",
      "--",
      "",
      " spaced ",
      "$HOME *",
      `' ; touch ${canary} ; '`,
    ];
    const env = Object.fromEntries(hostile.map((value, index) => [`HOSTILE_${index}`, value]));
    const script = join(tmux.dir, "argv.cjs");
    writeFileSync(script, ARGV_SCRIPT);
    const cwd = join(tmux.dir, "dir #{session_name} #x 'q' $(y);");
    mkdirSync(cwd);
    const out = join(tmux.dir, "argv.json");
    await client.newSession(spec("hostile", [process.execPath, script, out, ...hostile], { env, cwd }));
    const report = await waitFor(() => (existsSync(out) ? readFileSync(out, "utf8") : undefined), {
      timeoutMs: 5000,
    });
    assert.ok(report !== undefined, "the argv script never ran");
    const parsed = JSON.parse(report) as { argv: string[]; env: Record<string, string>; cwd: string };
    assert.deepEqual(parsed.argv, hostile);
    assert.deepEqual(parsed.env, env);
    assert.equal(parsed.cwd, cwd);
    assert.equal(existsSync(canary), false, "a hostile argument was executed");
    const live = await pane("hostile");
    assert.equal(live?.command, "node", "argv runs without a shell in front");
    await client.killSession("hostile");
  });

  it("runs a one-element argv directly too, without letting a shell parse it", async () => {
    const canary = join(tmux.dir, "pwned1");
    // The pane's cwd is tmux.dir, so the relative "touch pwned1" would create the canary.
    const program = join(tmux.dir, "agent it's $(touch pwned1); x");
    const out = join(tmux.dir, "single.txt");
    writeFileSync(
      program,
      `#!/bin/sh\nprintf '%s' "$0" > ${shellQuote(`${out}.tmp`)} && mv ${shellQuote(`${out}.tmp`)} ${shellQuote(out)}\nexec sleep 100000\n`,
    );
    chmodSync(program, 0o755);
    await client.newSession(spec("single", [program]));
    const ran = await waitFor(() => (existsSync(out) ? readFileSync(out, "utf8") : undefined), {
      timeoutMs: 5000,
    });
    assert.equal(ran, program);
    assert.equal(existsSync(canary), false);
    const live = await pane("single");
    assert.equal(live?.command, "sleep", "the shell wrapper exec'd away");
    await client.killSession("single");
  });

  it("types literal text, including a trailing semicolon, and named keys", async () => {
    await client.newSession(spec("typing", ["cat", "-"]));
    await client.sendLiteral("typing", "echo $(nope); Enter;");
    await client.sendKey("typing", "Enter");
    await waitForPaneText(client, "typing", "echo $(nope); Enter;", 5000);
    // The tty echoes the typed line, and cat prints it again once Enter submits it: twice means Enter worked.
    const twice = await waitFor(
      async () => {
        const screen = await client.capturePane("typing", 20);
        return screen.split("echo $(nope); Enter;").length - 1 === 2 ? screen : undefined;
      },
      { timeoutMs: 3000, intervalMs: 20 },
    );
    assert.ok(twice, "cat never printed the submitted line");
    await client.killSession("typing");
  });

  it("captures several screens in one invocation, each with its own text and colours", async () => {
    const script = (text: string): string[] => [
      "sh",
      "-c",
      `printf '\\033[2m%s\\033[0m\\n@@townd-screen-fake-0@@\\n' '${text}'; sleep 60`,
    ];
    await client.newSession(spec("screen-a", script("alpha")));
    await client.newSession(spec("screen-b", script("beta")));
    await waitForPaneText(client, "screen-b", "beta", 5000);
    await waitForPaneText(client, "screen-a", "alpha", 5000);
    const screens = await client.captureScreens(["screen-a", "screen-b"]);
    assert.deepEqual([...screens.keys()], ["screen-a", "screen-b"]);
    assert.match(screens.get("screen-a") ?? "", /alpha/);
    assert.doesNotMatch(screens.get("screen-a") ?? "", /beta/);
    assert.match(screens.get("screen-b") ?? "", /beta/);
    // Escape sequences are kept (-e): the dim text is still marked dim.
    assert.match(screens.get("screen-b") ?? "", /\x1b\[[0-9;]*2m/);
    // A marker-like line an agent prints does not split its screen.
    assert.match(screens.get("screen-a") ?? "", /@@townd-screen-fake-0@@/);
    await assert.rejects(client.captureScreens(["screen-a", "no-such-session"]), TmuxSessionNotFoundError);
  });

  it("captures 250 screens in one invocation, past tmux's 16 KiB command-line limit", async () => {
    const names = Array.from({ length: 250 }, (_, i) => `many-${i}`);
    for (const name of names) {
      await client.newSession(spec(name, ["sh", "-c", `printf 'screen of ${name}'; sleep 60`]));
    }
    await waitForPaneText(client, "many-249", "screen of many-249", 5000);
    const screens = await client.captureScreens(names);
    assert.equal(screens.size, 250);
    for (const name of ["many-0", "many-123", "many-249"]) {
      assert.match(screens.get(name) ?? "", new RegExp(`screen of ${name}\\b`));
    }
    for (const name of names) await client.killSession(name);
  });

  it("builds the argv to attach a user to a session", () => {
    assert.deepEqual(client.attachArgs("mayor"), [
      "tmux",
      "-S",
      tmux.socket,
      "attach-session",
      "-t",
      "=mayor",
    ]);
  });

  /**
   * Milliseconds from `since` until the hook logged `session`, polling through snapshot() as the daemon's
   * observation pass does (snapshot is what recovers a pane-died that tmux failed to fire).
   */
  async function hookLatency(session: string, since: number, timeoutMs: number): Promise<number | undefined> {
    return waitFor(
      async () => {
        if (readDied().includes(`${session}\n`)) return Date.now() - since;
        await client.snapshot();
        return undefined;
      },
      { timeoutMs, intervalMs: 10 },
    );
  }

  function readDied(): string {
    return existsSync(diedFile) ? readFileSync(diedFile, "utf8") : "";
  }
});

describe("TmuxClient without a server", { skip }, () => {
  const temp = makeTempDir("tdn-");
  const client = new TmuxClient({ socket: join(temp.dir, "tmux.sock") });

  after(async () => {
    await client.killServer();
    temp.cleanup();
  });

  it("reports no server as absence where that is the question, and as an error otherwise", async () => {
    assert.deepEqual(await client.snapshot(), { serverRunning: false, panes: [] });
    assert.equal(await client.hasSession("a"), false);
    await client.killServer();
    await assert.rejects(client.killSession("a"), TmuxNoServerError);
    await assert.rejects(client.capturePane("a", 5), TmuxNoServerError);
  });

  it("never starts a server implicitly: only ensureServer does", async () => {
    await assert.rejects(
      client.newSession({
        name: "a",
        cwd: temp.dir,
        argv: ["sleep", "1"],
        env: {},
        generation: "g",
        identity: "i",
      }),
      TmuxNoServerError,
    );
    assert.deepEqual(await client.snapshot(), { serverRunning: false, panes: [] });
  });

  it("keeps an empty server alive after ensureServer and snapshots it as running with no panes", async () => {
    const first = await client.ensureServer();
    assert.equal(first.replacedExitingServer, false);
    assert.ok(first.startedAt !== null && first.startedAt <= Date.now(), "tmux says when it started");
    // A second call meets the same server: the same start.
    assert.equal((await client.ensureServer()).startedAt, first.startedAt);
    assert.deepEqual(await client.snapshot(), { serverRunning: true, panes: [] });
    await client.killServer();
    assert.deepEqual(await client.snapshot(), { serverRunning: false, panes: [] });
  });

  it("starts a new server when the one it meets exits under it (a server just told to kill-server)", async () => {
    // Deterministic: a tmux whose first start-server reports what a dying server makes tmux say.
    const wrapper = join(temp.dir, "tmux-dying-once");
    const marker = join(temp.dir, "start-server-failed");
    writeFileSync(
      wrapper,
      [
        "#!/bin/sh",
        `case " $* " in *" start-server "*) if [ ! -e ${shellQuote(marker)} ]; then`,
        `  : > ${shellQuote(marker)}; echo "server exited unexpectedly" >&2; exit 1; fi;; esac`,
        'exec tmux "$@"',
      ].join("\n"),
    );
    chmodSync(wrapper, 0o755);
    const dying = new TmuxClient({ socket: join(temp.dir, "dying.sock"), tmuxBin: wrapper });
    try {
      const started = await dying.ensureServer();
      assert.equal(started.replacedExitingServer, true);
      assert.ok(
        started.startedAt !== null && Math.abs(started.startedAt - Date.now()) < 5000,
        "a new server",
      );
      assert.ok(existsSync(marker), "the first start-server met the exiting server");
      assert.deepEqual(await dying.snapshot(), { serverRunning: true, panes: [] });
    } finally {
      await dying.killServer();
    }
    // The real race: kill-server returns before the server is gone, and a start right after it must work.
    for (let round = 0; round < 10; round += 1) {
      await client.ensureServer();
      await client.newSession({
        name: "r",
        cwd: temp.dir,
        argv: ["sleep", "30"],
        env: {},
        generation: "g",
        identity: "i",
      });
      await client.killServer();
      await client.ensureServer();
      assert.equal((await client.snapshot()).serverRunning, true, `round ${round}`);
      await client.killServer();
    }
  });

  it("names the missing binary when tmux is not installed", async () => {
    const missing = new TmuxClient({ socket: join(temp.dir, "x"), tmuxBin: "/nonexistent/tmux" });
    await assert.rejects(missing.version(), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.code, "E_TMUX_NOT_INSTALLED");
      assert.match(error.message, /\/nonexistent\/tmux/);
      return true;
    });
  });
});
