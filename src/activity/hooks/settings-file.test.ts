import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { makeTempDir } from "../../../test/helpers/tmp.js";
import { parseHookLine } from "./intake.js";
import {
  claudeSettingsPaths,
  ensureClaudeSettings,
  HOOK_EVENTS,
  hookCommand,
  renderClaudeSettings,
  statuslineCommand,
  userStatuslineCommand,
  type ClaudeSettingsPaths,
} from "./settings-file.js";
import { claudeHookArgs } from "./spawn.js";

/** Runs `command` as Claude does (sh -c, JSON on stdin); resolves with its exit code and stdout. */
function sh(
  command: string,
  input: string,
  env: Record<string, string>,
  shell = "sh",
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(shell, ["-c", command], {
      env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", ...env },
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      resolve({ code, out });
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(input);
  });
}

interface Settings {
  hooks: Record<string, { matcher: string; hooks: { type: string; command: string; timeout: number }[] }[]>;
  statusLine: { type: string; command: string };
}

describe("Claude hook settings", () => {
  let tmp: { dir: string; cleanup: () => void };
  let paths: ClaudeSettingsPaths;
  before(() => {
    tmp = makeTempDir("hook-settings-");
    // A town path with a space, a single and a double quote, a dollar and a backquote.
    const daemon = join(tmp.dir, `my "town" it's $HOME \`x\``, "daemon");
    mkdirSync(daemon, { recursive: true });
    paths = claudeSettingsPaths(daemon);
  });
  after(() => {
    tmp.cleanup();
  });

  it("registers a short command hook for every event and a statusline", () => {
    const settings = JSON.parse(renderClaudeSettings(paths, null)) as Settings;
    assert.deepEqual(Object.keys(settings.hooks), [...HOOK_EVENTS]);
    for (const event of HOOK_EVENTS) {
      const group = settings.hooks[event]?.at(0);
      assert.ok(group !== undefined);
      assert.deepEqual(
        group.hooks.map((hook) => [hook.type, hook.timeout <= 10]),
        [["command", true]],
      );
    }
    assert.equal(settings.statusLine.type, "command");
    assert.equal(renderClaudeSettings(paths, null), renderClaudeSettings(paths, null), "pure");
  });

  it("appends one line per event to hook-events under a quoted path, whatever the payload", async () => {
    const payload = '{"session_id":"s1",\n"prompt":"a\\nb \' \\" $HOME"}\n';
    const result = await sh(hookCommand("UserPromptSubmit", paths.eventsFile), payload, {
      TOWND_GENERATION: "gen1",
    });
    assert.equal(result.code, 0);
    // A forged generation cannot add a line or pass as another agent's.
    await sh(hookCommand("Stop", paths.eventsFile), "{}", { TOWND_GENERATION: "x\tStop\t{}\ny" });
    // A huge payload is cut: the line still carries the generation and the event.
    await sh(hookCommand("PreToolUse", paths.eventsFile), `{"x":"${"a".repeat(300_000)}"}`, {
      TOWND_GENERATION: "gen1",
    });
    const lines = readFileSync(paths.eventsFile, "utf8").split("\n");
    assert.equal(lines.length, 4);
    assert.deepEqual(parseHookLine(lines[0] ?? "", 1), {
      generation: "gen1",
      event: "UserPromptSubmit",
      payload: { session_id: "s1", prompt: "a\nb ' \" $HOME" },
      receivedAt: 1,
    });
    assert.equal(parseHookLine(lines[1] ?? "", 1)?.generation, "invalid");
    const cut = parseHookLine(lines[2] ?? "", 1);
    assert.deepEqual([cut?.generation, cut?.event, cut?.payload], ["gen1", "PreToolUse", null]);
    assert.equal(statSync(paths.eventsFile).mode & 0o777, 0o600);
  });

  it("never fails the agent's turn, even when the file cannot be written", async () => {
    const result = await sh(hookCommand("Stop", join(tmp.dir, "no", "such", "dir", "f")), "{}", {});
    assert.deepEqual(result, { code: 0, out: "" });
  });

  for (const shell of ["sh", "bash"]) {
    it(`keeps lines of agents writing at once whole (${shell})`, async () => {
      const file = join(tmp.dir, `concurrent-${shell}`);
      const big = `{"x":"${"b".repeat(30_000)}"}`;
      const small = `{"x":"${"s".repeat(3_000)}"}`;
      await Promise.all(
        Array.from({ length: 32 }, (_, i) =>
          sh(hookCommand("Stop", file), i % 2 === 0 ? big : small, { TOWND_GENERATION: `g${i}` }, shell),
        ),
      );
      const lines = readFileSync(file, "utf8").trimEnd().split("\n");
      assert.equal(lines.length, 32);
      const events = lines.map((line) => parseHookLine(line, 0));
      assert.deepEqual(new Set(events.map((e) => e?.generation)).size, 32);
      for (const event of events) {
        const i = Number(event?.generation.slice(1));
        // bash writes through a stdio buffer: there, a payload over 4 KiB is cut to keep the line one write.
        const whole = i % 2 === 1 || shell === "sh";
        assert.deepEqual(event?.payload, whole ? JSON.parse(i % 2 === 0 ? big : small) : null);
      }
    });
  }

  it("keeps the statusline JSON per generation and chains to the user's statusline", async () => {
    mkdirSync(paths.statuslineDir, { recursive: true });
    const json = '{"session_id":"s1","cost":{"total_cost_usd":0.5}}';
    const plain = await sh(statuslineCommand(paths.statuslineDir, null), json, { TOWND_GENERATION: "gen1" });
    assert.deepEqual(plain, { code: 0, out: "" });
    assert.equal(readFileSync(join(paths.statuslineDir, "gen1.json"), "utf8"), `${json}\n`);
    const user = `read -r line; printf 'mine: %s' "$(printf '%s' "$line" | wc -c | tr -d ' ')"`;
    const chained = await sh(statuslineCommand(paths.statuslineDir, user), json, {
      TOWND_GENERATION: "gen2",
    });
    assert.deepEqual(chained, { code: 0, out: `mine: ${json.length}` });
    assert.equal(readFileSync(join(paths.statuslineDir, "gen2.json"), "utf8"), `${json}\n`);
  });

  it("finds the user's statusline in HOME and writes the file only when it differs", () => {
    const home = join(tmp.dir, "home");
    mkdirSync(join(home, ".claude"), { recursive: true });
    assert.equal(userStatuslineCommand(home), null);
    writeFileSync(
      join(home, ".claude", "settings.json"),
      '{"statusLine":{"type":"command","command":"echo hi"}}',
    );
    assert.equal(userStatuslineCommand(home), "echo hi");
    assert.equal(ensureClaudeSettings(paths, home).written, true);
    assert.equal(statSync(paths.settingsFile).mode & 0o777, 0o600);
    assert.equal(ensureClaudeSettings(paths, home).written, false);
    assert.ok(readFileSync(paths.settingsFile, "utf8").includes("echo hi"));
    assert.equal(ensureClaudeSettings(paths, undefined).written, true, "stale: rewritten");
    writeFileSync(join(home, ".claude", "settings.json"), "{broken");
    assert.equal(userStatuslineCommand(home), null);
  });

  it("gives --settings to Claude-profile runtimes only, unless hooks are off or a --settings is there", () => {
    const daemon = join(tmp.dir, "town2", "daemon");
    mkdirSync(daemon, { recursive: true });
    const file = join(daemon, "claude-settings.json");
    const claude = { profile: "claude" as const, hooks: true, argv: ["claude"] };
    assert.deepEqual(claudeHookArgs(claude, daemon, undefined), { args: ["--settings", file] });
    assert.ok(statSync(file).isFile());
    assert.deepEqual(claudeHookArgs({ ...claude, hooks: false }, daemon, undefined), { args: [] });
    assert.deepEqual(claudeHookArgs({ ...claude, profile: "codex" }, daemon, undefined), { args: [] });
    assert.deepEqual(claudeHookArgs({ ...claude, argv: ["claude", "--settings", "x"] }, daemon, undefined), {
      args: [],
    });
    const missing = claudeHookArgs(claude, join(tmp.dir, "nowhere", "daemon"), undefined);
    assert.deepEqual(missing.args, []);
    assert.match(missing.problem ?? "", /cannot write/);
  });
});
