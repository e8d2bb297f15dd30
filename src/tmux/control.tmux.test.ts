import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startPrivateTmux, tmuxSkipReason, type PrivateTmux } from "../../test/helpers/tmux.js";
import { childrenOf } from "../proc/children.js";
import { waitFor } from "../util/sleep.js";
import { TmuxClient, type SessionSpec } from "./client.js";
import { TmuxError, TmuxNoServerError, TmuxSessionNotFoundError } from "./errors.js";

const skip = await tmuxSkipReason();

/** Writes its argv and the HOSTILE_* variables as JSON, then stays alive as an agent would. */
const ARGV_SCRIPT = `
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith("HOSTILE_")));
const fs = require("node:fs");
fs.writeFileSync(process.argv[2] + ".tmp", JSON.stringify({ argv: process.argv.slice(3), env }));
fs.renameSync(process.argv[2] + ".tmp", process.argv[2]);
setInterval(() => {}, 60_000);
`;

/** This test's tmux client processes (the persistent one is a child of the test process). */
function tmuxChildren(): number[] {
  return childrenOf(process.pid).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, "utf8").startsWith("tmux");
    } catch {
      return false;
    }
  });
}

/**
 * Reads until `client` is connected through its control client: it connects on a read, once no command that
 * makes tmux notify control clients (new-session, kill-session…) has run for a moment.
 */
async function connectedSession(client: TmuxClient): Promise<string> {
  const session = await waitFor(
    async () => {
      await client.snapshot();
      return client.transport.controlSession ?? undefined;
    },
    { timeoutMs: 5000, intervalMs: 20 },
  );
  assert.ok(session !== undefined, "the control client never connected");
  return session;
}

describe("TmuxClient through a persistent control-mode client", { skip }, () => {
  let tmux: PrivateTmux;
  let client: TmuxClient;

  const spec = (name: string, argv: readonly string[], extra: Partial<SessionSpec> = {}): SessionSpec => ({
    name,
    cwd: tmux.dir,
    argv,
    env: {},
    generation: `gen-${name}`,
    identity: `rig/polecat/${name}`,
    ...extra,
  });
  const oneShot = (...args: string[]): string => {
    const { TMUX: _t, TMUX_PANE: _p, ...env } = process.env;
    return execFileSync("tmux", ["-S", tmux.socket, "-f", "/dev/null", "-N", ...args], {
      encoding: "utf8",
      env,
    });
  };

  before(async () => {
    tmux = await startPrivateTmux();
    client = new TmuxClient({ socket: tmux.socket, timeoutMs: 10_000, persistent: true });
  });

  after(async () => {
    await client.close();
    await tmux.cleanup();
  });

  it("uses processes while the server has no session, then one control client for everything", async () => {
    const before = { ...client.transport.counts };
    assert.deepEqual((await client.snapshot()).panes, []);
    assert.ok(client.transport.counts.process > before.process, "no session to attach to: a process");
    await client.newSession(spec("ctl-a", ["sleep", "100000"]));
    assert.equal(await connectedSession(client), "ctl-a");
    const afterConnect = { ...client.transport.counts };
    const clients = tmuxChildren();
    for (let i = 0; i < 20; i += 1) await client.snapshot();
    await client.capturePane("ctl-a", 5);
    assert.equal(client.transport.counts.process, afterConnect.process, "no process once connected");
    assert.equal(client.transport.counts.control, afterConnect.control + 21);
    assert.deepEqual(tmuxChildren(), clients, "the same one client throughout");
    assert.equal(clients.length, 1);
  });

  it("answers exactly as a tmux process does: panes, screens with colours and lines that look like its protocol", async () => {
    const screen = `printf '%%end 1 2 1\\n%%begin 1 2 1\\n\\033[31mred\\033[0m tab\\tx é\\n%%exit\\n'; exec sleep 100000`;
    await client.newSession(spec("ctl-b", ["sh", "-c", screen]));
    await waitFor(async () => ((await client.captureScreen("ctl-b")).includes("red") ? true : undefined), {
      timeoutMs: 5000,
    });
    const viaControl = await client.captureScreen("ctl-b");
    assert.equal(viaControl, oneShot("capture-pane", "-p", "-e", "-t", "=ctl-b:"));
    assert.match(viaControl, /^%end 1 2 1\n%begin 1 2 1\n\u001b\[31mred/);
    const listed = await client.capturePane("ctl-b", 10);
    assert.equal(listed, oneShot("capture-pane", "-p", "-J", "-t", "=ctl-b:", "-S", "-10"));
    const panes = (await client.snapshot()).panes;
    assert.deepEqual(
      panes.map((pane) => [pane.session, pane.panePid, pane.generation]),
      oneShot("list-panes", "-a", "-F", "#{session_name} #{pane_pid} #{@townd_generation}")
        .trim()
        .split("\n")
        .map((line) => {
          const [session, pid, generation] = line.split(" ");
          return [session, Number(pid), generation];
        }),
    );
    await assert.rejects(client.capturePane("nope", 5), TmuxSessionNotFoundError);
    assert.equal(await client.hasSession("ctl"), false, "exact names through control too");
    await client.killSession("ctl-b");
  });

  it("passes hostile arguments and environment values verbatim, executing none", async () => {
    const canary = join(tmux.dir, "pwned");
    const hostile = [
      `$(touch ${canary})`,
      `; touch ${canary}`,
      ";",
      "a;",
      "b\\;",
      "\\",
      `it's "quoted" '`,
      "#{session_name}",
      "#",
      "~",
      "{",
      "}",
      "%if",
      "$HOME *",
      "",
      " spaced ",
      `' ; run-shell 'touch ${canary}' ; '`,
    ];
    const env = Object.fromEntries(hostile.map((value, index) => [`HOSTILE_${index}`, value]));
    const script = join(tmux.dir, "argv.cjs");
    writeFileSync(script, ARGV_SCRIPT);
    const out = join(tmux.dir, "argv.json");
    await client.newSession(spec("ctl-h", ["sleep", "100000"]));
    const before = client.transport.counts.control;
    const lastLines = await client.respawnPane(
      "ctl-h",
      { cwd: tmux.dir, argv: [process.execPath, script, out, ...hostile], env, generation: "gen-h2" },
      { captureLines: 5 },
    );
    assert.equal(typeof lastLines, "string", "the capture came back with the respawn");
    assert.equal(client.transport.counts.control, before + 1, "capture and respawn in one control line");
    const report = await waitFor(() => (existsSync(out) ? readFileSync(out, "utf8") : undefined), {
      timeoutMs: 5000,
    });
    assert.ok(report !== undefined, "the argv script never ran");
    const parsed = JSON.parse(report) as { argv: string[]; env: Record<string, string> };
    assert.deepEqual(parsed.argv, hostile);
    assert.deepEqual(parsed.env, env);
    assert.equal(existsSync(canary), false, "a hostile argument was executed");
    assert.equal((await client.snapshot()).panes.find((p) => p.session === "ctl-h")?.generation, "gen-h2");
    await client.killSession("ctl-h");
  });

  it("captures 150 screens in one control request, as a process through a command file does", async () => {
    const names = Array.from({ length: 150 }, (_, i) => `ctl-s${i}`);
    for (const name of names)
      await client.newSession(spec(name, ["sh", "-c", `echo screen ${name}; exec sleep 100000`]));
    await waitFor(
      async () => ((await client.captureScreen("ctl-s149")).includes("screen ctl-s149") ? true : undefined),
      {
        timeoutMs: 5000,
      },
    );
    const before = { ...client.transport.counts };
    const screens = await client.captureScreens(names);
    assert.deepEqual(client.transport.counts, { ...before, control: before.control + 1 });
    const oneShotClient = new TmuxClient({ socket: tmux.socket, timeoutMs: 10_000 });
    const viaFile = await oneShotClient.captureScreens(names);
    assert.equal(screens.size, 150);
    assert.deepEqual(screens, viaFile);
    assert.match(screens.get("ctl-s7") ?? "", /^screen ctl-s7\n/);
    // And the answers after it are still in step.
    assert.equal(await client.transport.exec([["display-message", "-p", "after"]], {}), "after\n");
    for (const name of names) await client.killSession(name);
  });

  it("hands every character back verbatim: each code point below 128, control runs, Unicode, random text", async () => {
    await client.newSession(spec("ctl-w", ["sleep", "100000"]));
    let all = "";
    for (let code = 1; code < 128; code += 1) all += String.fromCharCode(code);
    const random = (length: number): string =>
      Array.from({ length }, () => String.fromCodePoint(1 + Math.floor(Math.random() * 0x2ff))).join("");
    const words = [all, "~x", "~", "\n~", "$HOME\t${HOME}", "#{pane_id}", "é ☃ 𝄞", "\\033", "%if x", "'\"'"];
    for (let i = 0; i < 20; i += 1) words.push(random(1 + Math.floor(Math.random() * 40)));
    for (const word of words) {
      const before = client.transport.counts.control;
      await client.setOption("ctl-w", "@word", word);
      assert.equal(client.transport.counts.control, before + 1, "sent through the control client");
      const back = oneShot("show-options", "-t", "=ctl-w:", "-v", "@word").replace(/\n$/, "");
      assert.equal(back, word, `${JSON.stringify(word)} came back as ${JSON.stringify(back)}`);
    }
    await client.killSession("ctl-w");
  });

  it("leaves the session it is attached to before killing it, and carries on attached to another", async () => {
    await client.newSession(spec("ctl-c", ["sleep", "100000"]));
    const attached = await connectedSession(client);
    await client.killSession(attached);
    assert.equal(await client.hasSession(attached), false);
    const now = await connectedSession(client);
    assert.notEqual(now, attached);
  });

  it("survives its session being killed by someone else: reads are answered, by a process if need be", async () => {
    await client.newSession(spec("ctl-e1", ["sleep", "100000"]));
    await client.newSession(spec("ctl-e2", ["sleep", "100000"]));
    const attached = await connectedSession(client);
    oneShot("kill-session", "-t", `=${attached}`);
    const sessions = (await client.snapshot()).panes.map((pane) => pane.session);
    assert.ok(!sessions.includes(attached));
    assert.notEqual(await connectedSession(client), attached, "reconnected to another session");
  });

  it("times out a command that does not answer, then reconnects for the next", async () => {
    const short = new TmuxClient({ socket: tmux.socket, timeoutMs: 300, persistent: true });
    await client.newSession(spec("ctl-f", ["sleep", "100000"]));
    try {
      await connectedSession(short);
      // run-shell (without -b) answers once its shell command is done.
      await assert.rejects(short.transport.exec([["run-shell", "sleep 2"]], {}), (error: unknown) => {
        assert.ok(error instanceof TmuxError);
        assert.match(error.message, /timed out after 300 ms/);
        return true;
      });
      assert.equal(short.transport.controlSession, null, "a timed-out connection is dropped");
      assert.equal(await short.transport.exec([["display-message", "-p", "next"]], {}), "next\n");
    } finally {
      await short.close();
    }
  });

  it("gives up on an aborted command at once and keeps the next answers in order", async () => {
    const controller = new AbortController();
    const slow = client.transport.exec([["run-shell", "sleep 0.5"]], { signal: controller.signal });
    const next = client.transport.exec([["display-message", "-p", "second"]], {});
    controller.abort(new Error("stop waiting"));
    await assert.rejects(slow, /stop waiting/);
    assert.equal(await next, "second\n");
    assert.equal(await client.transport.exec([["display-message", "-p", "third"]], {}), "third\n");
  });

  it("reports a server that went away, and reconnects once one runs again", async () => {
    oneShot("kill-server");
    await waitFor(() => (client.transport.controlSession === null ? true : undefined), { timeoutMs: 5000 });
    assert.equal((await client.snapshot()).serverRunning, false);
    await assert.rejects(client.capturePane("ctl-a", 5), TmuxNoServerError);
    // A server still on its way out refuses a new one for a moment ("server exited unexpectedly").
    const started = await waitFor(
      () =>
        client.ensureServer().then(
          () => true,
          () => undefined,
        ),
      {
        timeoutMs: 5000,
        intervalMs: 100,
      },
    );
    assert.equal(started, true);
    await client.newSession(spec("ctl-d", ["sleep", "100000"]));
    assert.equal(await connectedSession(client), "ctl-d");
  });
});
